"""The project names no package registry's or mirror's host (issue 18).

Machines that build this project may reach only the package mirror they are configured
with; a registry host written into a file (a default, a fallback, an example) silently sends
a build or an install elsewhere. Mirrors and indexes come from the machine's configuration
or from the operator (docker/smoke.sh says which variable to set when it finds none).

This test reads every tracked file (``git ls-files``) and fails naming ``file:line`` for any
host-like token whose name, or one of whose parent domains, is a registry or mirror host.
Those hosts are kept here as SHA-256 digests of their lower-case names, never as text: the
rule holds for this file too, and a grep of the project for a registry's host must find
nothing, not even the test that forbids it. A comment above each digest says which host it
is. To add one: ``printf %s HOST | sha256sum`` (lower case, no trailing dot).

Debian's numbered and per-country FTP mirrors (``ftp2.CC.`` under Debian's domain) are
matched through the primary FTP mirror's digest: see ``host_candidates``. Only exact hosts
are listed, not whole organisations' domains: Debian's web site or a person's address at
Debian (a font licence names both) is not a package mirror.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

REGISTRY_HOST_DIGESTS: frozenset[str] = frozenset(
    {
        # Debian: the main mirror (its CDN names are subdomains)
        "e680c440a2e92079ab1bf7a927e8d3920f1bcd173c0487e28e020110b2e59efc",
        # Debian: the security archive
        "1ba4e37997a2e986efa6cd844e43fd25b9e816359d31612baa9c18b71e3b5294",
        # Debian: the security archive's old CDN name
        "ba913a9fac69d511ef3a797efd8a12c25c1ded0ac1b2c42fb424861e026d53b5",
        # Debian: the primary FTP mirror (ftpN.CC. variants: see host_candidates)
        "c2b35955576ffa710bfb7c4e5de8141335829cb1333377cbaf7daaeff9647b35",
        # Debian: the old HTTP redirector
        "26b795f2a123f2a2ae16327ac90c1404ee62c7879b706cdf5cc4caf1fca42d3a",
        # Debian: the old redirector on the .net domain
        "d0620427e5b5bccc9cf86a6464cbd9e6a68457837b3770f5aa2fd23e18e15848",
        # Debian: the old CDN on the .net domain
        "37944b41ad6ca4c4153dfadfa3dc3030f9561ba91bf3bda4c68a6442ade672bf",
        # Debian: the snapshot archive
        "2e97613f5a81eaa4f8a58f552a005713c0c8f333e026efb7771ad28429532374",
        # Debian: the archive of old releases
        "4b602daf23ba29744134c9ed719fd67273a10391723afb78376c9aa5663e8396",
        # Python: the package index (test and upload are subdomains)
        "a4aa2ac280bb8d1a0ce7a1be5a7bfb10292b49fe9435ad5cff19f421f3c70e41",
        # Python: the package index's files host
        "c899567ee906851741bf7f3bde17a33777859ff9f53ff54d6f0ea54cf31ad636",
        # Python: the old package index host
        "d6d7019ca9fcbf07c769e445342515ef0c92e4f18a96adbb3bf6460f5b0ba17f",
        # Python: the package index's old short domain
        "6af40d8f60238faa48c0dd22f3a61c2f52aa6a2fe2e83469e4cddc59adddb6e8",
        # npm: the registry
        "0dc11026ac75c015aaa1deafff4a7a54ef6d0cf6b3c7f9b1d2c8f3502929aa9e",
        # npm: the registry's other domain
        "fd0c6a9279196963adad509f0c8df13a4d0f048f328ba06ce7e8836e7f4182d6",
        # npm: yarn's registry
        "70bb4000cd2fab03af01fed086c6bf3c2c970f8b8b8001c311028ec3b80e775a",
        # Docker Hub: the registry's domain (registry-1, index, auth are subdomains)
        "3530c4415dd857fb74a542a51c41453902e3a51739cd5f266999c93cc0022aab",
        # Docker Hub: the hub (its registry is a subdomain)
        "e83cc4bcd94e4ed54ac0180a4accddaca7dfd0e8668b2e758274eecf9f83743a",
        # Docker Hub: the layer CDN
        "519e0f33ca3e6bf61a0a2fd14831f22877536114ce4c86f3b3cb1fcd18fe4b68",
        # Docker: the engine's package repository
        "0206ab7f1f15f8fbafa80e65481da73e5788f90bee7300e183b1ee96b61cc2fa",
        # GitHub: the container registry
        "0fd460f0568e29c129d5164443c22dc23e1fa5ade91d6cc915a0c74ce08fba57",
        # Quay: the container registry
        "271dacc9f4d0caf8ff708d7751532df465f1b6bf192cc169e6afc639faed6894",
        # Google: the container registry
        "70cca582c4895337b234bb640fa2c13c72816d8ea4f6d8f679607a2e9c414ccb",
        # Kubernetes: the image registry
        "bd048f6f965d0e9ccdcdb603d0c8c2ae3d2f3e25e5e7a2349a1532bcc73aaf6f",
        # Microsoft: the container registry
        "24f81de5fc499525ff2e90a10274202c9ec16c9bd5bfc68662d9de0f48205971",
        # AWS: the public container registry
        "be2f919014d7cedb3ec15ed4921a9e90a9d6f5c0e1b182a270bd22fcec970ae8",
        # Ubuntu: the archive (country mirrors are subdomains)
        "a0f007d863a0ed19c5bd996ef6eaab194af2f1ac685c0f71a75270a0366f8983",
        # Ubuntu: the security archive
        "e514b0d3b0562f54b6622ba95659592c26a4f6473677346ffba9e876eee160ef",
        # Ubuntu: the ports archive
        "62f256676f138898cceaf949b873418772bcd271961225c6de34f6443d2c6ccb",
        # Ubuntu: the archive of old releases
        "f78ab10b20080b1d0c1738220539701cefe0003ac9d40f28e8c8b7bb01cc6986",
        # Ubuntu: PPAs
        "326d91baabcc3b98723d4abf08b73527d7ab952351d3a038f8cce7bebde6aa74",
        # Ubuntu: PPAs' content host
        "38556c86197384ee3faecf18a6e13cf128c7f818f0e0c623fd8de975b3a5e0bf",
        # conda: Anaconda's repository
        "15bdb44dafa6843b1e260ba626cb18b8d49581827a759b8102812b61cc522c83",
        # conda: the channels host (conda. is a subdomain)
        "51c6b9f69c48a75b146d2785c3d70d336d5fdce24868f2e22db377d736f2ef24",
        # conda: the old repository
        "ffd4980bcfd17c569c2a6d8cbcf345d6357de9fab104fccd44bebee285aa6e6e",
        # conda: prefix's channel mirror
        "116a15d35408bebf30e64e7a67937dec983fbffd150e6486916628cf1ae36c9a",
        # Rust: the crates registry (index and static are subdomains)
        "789e46d79514e28093cabe2bb4a0798266f584b0e508ef269ebabb6e57859290",
        # Rust: the toolchain distribution
        "6742ce45033ee24bf4abe569ba1d5aa84ea1811ad0515b4776fb202c3203a709",
        # Ruby: the gems registry
        "71741fe2460a615058687c4585f665af5e825968e51a512ffb14c6f2684a397d",
        # Maven Central: the repository
        "43c04ed1dabe979b9c552549bf0ab023abd3e1cc6d5ff7f42cfa2296b0973a67",
        # Maven Central: the repository's other name
        "317d2d52829b78129d2c9e43d001899f0c8d30968bae00b848a47154df56b0ca",
        # Maven Central: Sonatype's portal
        "095fbbaf0076d564cb46efd353d5380e6ae0f19f90e7c69543ecf3888d060ba0",
        # Maven Central: Sonatype's OSS repository (s01 is a subdomain)
        "96bf57e26bd82cf0b62c404a59f6a187645a964c8333c98f58eab20d7a019d62",
        # Gradle: the plugin portal
        "f483c1237e51a1fae39e9aab3bda3727ac5af2744594ddc28875711f30d43f9d",
        # JCenter (closed)
        "a2af24d8929473aa8edd697e024163fb1efa10e12b3a792411f290aee6dd3105",
        # Go: the module proxy
        "00a7dc5a0cc388586b8665846e7d8ae94a6dd096f2aa1aa3b4aab4ac484f998a",
        # Go: the checksum database
        "9da5f32d964125123cc368f231b473bea59307f811c7b9b2e731601e586b82b5",
        # .NET: the NuGet registry
        "7117c828d2afa4e2b4703ed11564f81cb02a6ab6b7e6a758e881e68007ad5d35",
        # PHP: the Packagist repository
        "4189e62695dc2b69c1bab6cdfc8f49ad7dfc63b6793ac93e52d41b408bde7767",
        # Erlang/Elixir: the Hex repository
        "384fe328e9cc3d5c9406406e651a2117c1412eed65cc92ff189d3ad41d37f93f",
        # Perl: the CPAN mirror
        "8a3df246ea66600e986aac918d1c64a727550e4f0294255a9e94fcd29a13c7a2",
        # Alpine: the package CDN
        "8454fabc8b6309019c8b0d10a414a7c0f0bcdf3222f5285e7d8da9eb6c9e0c93",
        # Node.js: NodeSource's apt repository
        "4a8b734fb5be77bc1ea26f7e3d94c83cea4cbd290d3f70f6a4a38b6af2bae501",
        # Google Cloud: the apt/yum repository
        "89389784c68edf233a8f96462261d7f2edef2da9d66cd40138ed446219c77e4a",
    }
)

# a dotted name: two or more labels of letters, digits and hyphens (any case)
_HOST_TOKEN = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+", re.IGNORECASE)
# Debian's FTP mirrors: ftp, ftp2, ... optionally followed by a two-letter country label
_FTP_MIRROR = re.compile(r"ftp[0-9]*\.(?:[a-z]{2}\.)?(?P<rest>.+\..+)")


def host_candidates(token: str) -> Iterator[str]:
    """The names to look up for one dotted token: itself and each parent domain (two labels
    at least), lower case; for an FTP mirror name also the primary FTP mirror's name."""
    name = token.lower().strip("-")
    labels = name.split(".")
    for i in range(len(labels) - 1):
        yield ".".join(labels[i:])
    ftp = _FTP_MIRROR.fullmatch(name)
    if ftp is not None:
        yield "ftp." + ftp.group("rest")


def is_registry_host(name: str) -> bool:
    return hashlib.sha256(name.encode("ascii")).hexdigest() in REGISTRY_HOST_DIGESTS


def registry_hosts_in(text: str) -> Iterator[tuple[int, str]]:
    """(line number, host as written) for every registry or mirror host in text."""
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _HOST_TOKEN.finditer(line):
            if any(is_registry_host(name) for name in host_candidates(match.group())):
                yield number, match.group()


def tracked_files() -> list[Path]:
    if shutil.which("git") is None:
        pytest.fail("git is not installed: this test lists the project's files with git ls-files")
    if not (ROOT / ".git").exists():
        pytest.fail(f"{ROOT} is not a git checkout (no .git): cannot list the tracked files")
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=False
    )
    if listed.returncode != 0:
        pytest.fail(f"git ls-files failed in {ROOT}: {listed.stderr.decode(errors='replace')}")
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name]


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary file (a NUL byte) or one not in the work tree."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None  # deleted in the work tree, or a submodule
    if b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace")


def test_no_registry_or_mirror_host_in_tracked_files() -> None:
    this_file = Path(__file__).resolve()
    files = tracked_files()
    # this file too, even before it is committed
    if this_file not in files:
        files.append(this_file)
    found: list[str] = []
    for path in files:
        text = read_text(path)
        if text is None:
            continue
        for number, host in registry_hosts_in(text):
            found.append(f"{path.relative_to(ROOT)}:{number}: {host}")
    if found:
        pytest.fail(
            "package registry or mirror hosts named in the project (take them from the "
            "machine's configuration or from the operator instead):\n" + "\n".join(found),
            pytrace=False,
        )


# The hosts below are written in ROT13 so that this file does not name them either.
@pytest.mark.parametrize(
    ("template", "rot13_host"),
    [
        ("    mirror=${{mirror:-http://{}/debian}}", "qro.qrovna.bet"),
        ("URIs: http://{}/debian-security", "frphevgl.qrovna.bet"),
        ("ARG PIP_INDEX_URL=https://{}/simple", "CLCV.BET"),
        ("pip download https://{}/packages/x", "svyrf.clgubaubfgrq.bet"),
        ("the old one: {}/simple", "clcv.clguba.bet"),
        ("a CDN name: {}.", "pqa-snfgyl.qro.qrovna.bet"),
        ("a country mirror: {}", "sgc2.qr.qrovna.bet"),
        ("the redirector: {}", "uggcerqve.qrovna.bet"),
        ("npm: https://{}/", "ertvfgel.aczwf.bet"),
        ("FROM {}/library/debian", "ertvfgel-1.qbpxre.vb"),
        ("image: {}/owner/app", "tupe.vb"),
        ("image: {}/owner/app", "dhnl.vb"),
        ("deb http://{}/ubuntu jammy main", "TO.nepuvir.hohagh.pbz"),
        ("channel: {}/conda-forge", "pbaqn.nanpbaqn.bet"),
        ("https://{}/crates/x", "fgngvp.pengrf.vb"),
        ("source 'https://{}'", "eholtrzf.bet"),
        ("<url>https://{}/maven2</url>", "ercb1.znira.bet"),
    ],
)
def test_matcher_finds_a_host(template: str, rot13_host: str) -> None:
    host = codecs.decode(rot13_host, "rot13")
    text = "first line\n" + template.format(host)
    assert list(registry_hosts_in(text)) == [(2, host)]


@pytest.mark.parametrize(
    "rot13_name",
    [
        # Debian's web site and a person's address there (a font licence names both)
        "jjj.qrovna.bet",
        "fbzrbar@qrovna.bet",
        "qrovna.bet",
        # like a registry host, but not one
        "kqro.qrovna.bet",
        "qro.qrovna.bet.rknzcyr",
        "zl-clcv.bet",
        "clcv.bet.rknzcyr.pbz",
        "qbpf.clguba.bet",
    ],
)
def test_matcher_leaves_other_names(rot13_name: str) -> None:
    name = codecs.decode(rot13_name, "rot13")
    assert list(registry_hosts_in(f"see http://{name}/ here")) == []


def test_matcher_leaves_code() -> None:
    text = "import signer.api.app\nketqua.serve 10.89.0.10 3.11.2-6+deb12u9 x.y.z"
    assert list(registry_hosts_in(text)) == []
