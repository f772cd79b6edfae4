"""Boundaries the layout promises: what each package may import."""

from __future__ import annotations

import ast
from pathlib import Path


def test_verifier_package_imports_no_private_key_code() -> None:
    # the verifier holds public material only: it must run where no key can be loaded
    root = Path(__file__).resolve().parent.parent / "verifier"
    forbidden = ("signer", "keys.local", "keys.token", "keys.agency", "keys.devpki")
    for source in root.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f"{source}: imports {name}"


def _imports(package: str) -> list[tuple[Path, str]]:
    root = Path(__file__).resolve().parent.parent / package
    found = []
    for source in root.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(source, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.append((source, node.module))
    return found


def test_the_registry_serves_both_services_and_depends_on_neither() -> None:
    # the one record both services share: it must not drag the signer (keys) along
    for source, name in _imports("registry"):
        assert not name.startswith(("signer", "verifier", "keys")), f"{source}: imports {name}"


def test_the_shared_http_plumbing_belongs_to_no_service() -> None:
    for source, name in _imports("plumbing/web"):
        assert not name.startswith(("signer", "verifier", "keys")), f"{source}: imports {name}"


def test_every_file_the_packages_read_is_in_the_distribution() -> None:
    """A template or stylesheet missing from package-data works from the checkout and
    breaks in an installed wheel (the container image): every non-Python file of a
    package must match one of its package-data patterns."""
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parent.parent
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
