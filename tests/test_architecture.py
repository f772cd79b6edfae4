"""Boundaries the layout promises: which package may import which.

One table of layers, top to bottom, as the README draws it. A package
imports its own modules and packages of lower layers only: never one beside
it, never one above. Imports inside functions count as much as those at the
top of a module (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LAYERS: tuple[tuple[str, ...], ...] = (
    ("ketqua",),  # the shell: the command, serve (wires the services), settings, logs
    ("console",),  # the back office's pages, served beside the signer's API
    ("signer", "verifier"),  # the internal service with the keys; the public one without
    ("registry", "keys"),  # the one record both services share; key material
    ("seal",),  # the QR seal codec: signed by the signer, checked by anyone
    ("plumbing",),  # errors, atomic files, Vietnam time, masking, worker pools, HTTP plumbing
)
LAYER_OF = {package: depth for depth, layer in enumerate(LAYERS) for package in layer}

# the verifier runs where no private key may be loaded: of keys/, the trust list only
PRIVATE_KEY_CODE = ("keys.local", "keys.token", "keys.agency", "keys.devpki", "keys.keydir")


def imports(package: str, root: Path = ROOT) -> Iterator[tuple[Path, int, str]]:
    """Every absolute import in ``package``: the file, the line and the module named."""
    for source in sorted((root / package).rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield source, node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield source, node.lineno, node.module
                # "from keys import trust" names the module keys.trust
                for alias in node.names:
                    yield source, node.lineno, f"{node.module}.{alias.name}"


def test_every_package_is_in_the_table_of_layers() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert shipped == set(LAYER_OF)


def test_every_package_imports_only_lower_layers() -> None:
    wrong = []
    for package, depth in LAYER_OF.items():
        for source, line, name in imports(package):
            top = name.split(".")[0]
            if top != package and top in LAYER_OF and LAYER_OF[top] <= depth:
                wrong.append(f"{source.relative_to(ROOT)}:{line}: {package} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_the_table_finds_an_upward_import(tmp_path: Path) -> None:
    # the rule above must be able to fail: the same walk over a module that breaks it
    module = tmp_path / "mod.py"
    module.write_text("def later():\n    from ketqua.settings import Settings\n")
    found = [
        alias.name if isinstance(node, ast.Import) else node.module
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.ImportFrom | ast.Import)
        for alias in node.names
    ]
    assert found == ["ketqua.settings"]
    assert LAYER_OF["ketqua"] < LAYER_OF["plumbing"]


def test_the_verifier_imports_no_private_key_code() -> None:
    for package in ("verifier", "seal"):
        for source, line, name in imports(package):
            assert not name.startswith(PRIVATE_KEY_CODE), f"{source}:{line}: imports {name}"
            assert name.split(".")[0] != "signer", f"{source}:{line}: imports {name}"


def test_every_package_says_what_it_is_for() -> None:
    for package in LAYER_OF:
        for init in (ROOT / package).rglob("__init__.py"):
            docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
            assert docstring, f"{init.relative_to(ROOT)} has no docstring"


def test_every_file_the_packages_read_is_in_the_distribution() -> None:
    """A template or stylesheet missing from package-data works from the checkout and
    breaks in an installed wheel (the container image): every non-Python file of a
    package must match one of its package-data patterns."""
    import fnmatch

    root = ROOT
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns: dict[str, list[str]] = setuptools["package-data"]
    missing = []
    for top in setuptools["packages"]["find"]["include"]:
        for path in (root / top.rstrip("*")).rglob("*"):
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            package = path.parent
            while not (package / "__init__.py").exists():
                package = package.parent
            name = ".".join(package.relative_to(root).parts)
            relative = str(path.relative_to(package))
            if not any(fnmatch.fnmatch(relative, p) for p in patterns.get(name, [])):
                missing.append(f"{name}: {relative}")
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"


def reads_of_the_environment(root: Path) -> list[str]:
    """``os.environ``, ``os.getenv`` or ``environ`` imported from ``os``, outside the settings."""
    found = []
    for package in LAYER_OF:
        for source in sorted((root / package).rglob("*.py")):
            if source == root / "ketqua" / "settings.py":
                continue
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                read = (
                    isinstance(node, ast.Attribute)
                    and node.attr in ("environ", "getenv", "environb", "getenvb")
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "os"
                ) or (
                    isinstance(node, ast.ImportFrom)
                    and node.module == "os"
                    and any(a.name in ("environ", "getenv") for a in node.names)
                )
                if read:
                    found.append(f"{source.relative_to(root)}:{getattr(node, 'lineno', 0)}")
    return found


def test_only_the_settings_read_the_environment() -> None:
    # one configuration path: a variable read elsewhere escapes --help, the TOML file and
    # the one-line error naming the setting
    assert reads_of_the_environment(ROOT) == []


def test_a_read_of_the_environment_is_found(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "pin.py").write_text(
        "import os\nfrom os import getenv\n\ndef pin():\n    return os.environ.get('PIN')\n"
    )
    assert reads_of_the_environment(tmp_path) == ["keys/pin.py:2", "keys/pin.py:5"]
