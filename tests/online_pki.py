"""A test PKI with live services on loopback: certomancer serves TSA, OCSP and CRLs over HTTP.

The PKI is declared in ``tests/pki/online-pki.yml``; keys are generated per
test session (none are committed) and the config gets the chosen port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from keys.devpki import DEFAULT_AGENCY_CODE as AGENCY_CODE
from keys.keydir import KeyDir, write_private, write_public
from keys.trust import SealKey, SigningCertificate, TrustList

TEMPLATE = Path(__file__).parent / "pki" / "online-pki.yml"
ARCH = "ketqua-test"
PASSWORD = b"secret"
PASSPHRASE = b"test passphrase for the online PKI"
_RSA = {"signer", "revoked-signer", "tsa"}
KEY_NAMES = ("root", "interm", "interm-ocsp", "tsa", "signer", "revoked-signer", "seal")


@dataclass(frozen=True)
class OnlinePki:
    base_url: str
    tsa_url: str
    root: x509.Certificate
    folder: Path

    def keydir(self, signer: str = "signer") -> KeyDir:
        """A ketqua key folder whose document key is ``signer`` (CRL + OCSP pointers inside)."""
        return KeyDir(self.folder / f"keydir-{signer}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"certomancer exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("certomancer did not start listening")


def _write_keys(folder: Path) -> dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]:
    keys: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = {}
    folder.mkdir(parents=True)
    for name in KEY_NAMES:
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
            rsa.generate_private_key(65537, 2048)
            if name in _RSA
            else ec.generate_private_key(ec.SECP256R1())
        )
        keys[name] = key
        (folder / f"{name}.key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(PASSWORD),
            )
        )
    return keys


def _certificates(config_path: Path) -> dict[str, x509.Certificate]:
    from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig

    arch = CertomancerConfig.from_file(str(config_path)).get_pki_arch(ArchLabel(ARCH))
    return {
        name: x509.load_der_x509_certificate(arch.get_cert(CertLabel(name)).dump())
        for name in ("root", "interm", "signer", "revoked-signer", "seal")
    }


def _write_keydir(
    keydir: KeyDir,
    signer_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    seal_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    certs: dict[str, x509.Certificate],
    signer: str,
) -> None:
    keydir.public.mkdir(parents=True)
    write_private(keydir.passphrase_file, PASSPHRASE)
    chain = [certs["interm"], certs["root"]]
    enc = serialization.BestAvailableEncryption(PASSPHRASE)
    for key, cert, path in (
        (signer_key, certs[signer], keydir.signing_p12),
        (seal_key, certs["seal"], keydir.seal_p12),
    ):
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        write_private(path, pkcs12.serialize_key_and_certificates(None, key, cert, chain, enc))
    for cert, path in (
        (certs["root"], keydir.root_ca_cert),
        (certs["interm"], keydir.issuing_ca_cert),
    ):
        write_public(path, cert.public_bytes(serialization.Encoding.PEM))
    trust = TrustList(
        seal_keys=(SealKey(certs["seal"], AGENCY_CODE),),
        document_roots=(certs["root"],),
        signing_certificates=(SigningCertificate(certs[signer], AGENCY_CODE),),
    )
    write_public(keydir.trust_list, trust.to_json())


@contextmanager
def running_online_pki(folder: Path) -> Iterator[OnlinePki]:
    """Generate the PKI into ``folder``, serve it, and stop the server on exit."""
    port = free_port()
    keys = _write_keys(folder / "keys")
    config = folder / "certomancer.yml"
    config.write_text(TEMPLATE.read_text(encoding="utf-8").replace("@PORT@", str(port)))
    certs = _certificates(config)
    for signer in ("signer", "revoked-signer"):
        pki_keydir = KeyDir(folder / f"keydir-{signer}")
        _write_keydir(pki_keydir, keys[signer], keys["seal"], certs, signer)
    exe = shutil.which("certomancer", path=str(Path(sys.executable).parent))
    assert exe, "certomancer is installed with the test extras"
    log = (folder / "certomancer.log").open("wb")
    process = subprocess.Popen(
        [exe, "--config", str(config), "animate", "--aiohttp", "--no-web-ui", "--port", str(port)],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        _wait_for(port, process)
        base = f"http://127.0.0.1:{port}"
        yield OnlinePki(
            base_url=base,
            tsa_url=f"{base}/{ARCH}/tsa/tsa",
            root=certs["root"],
            folder=folder,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
