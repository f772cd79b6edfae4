"""Independent validators, run as a user would run them, with their output parsed.

pdfsig (poppler/NSS) exits 0 even for a broken signature and mutool always
exits 0: never trust their exit codes, read what they print.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleTrustManager

from keys.local import to_asn1


def make_nssdb(folder: Path, roots: list[x509.Certificate]) -> Path:
    """A throwaway NSS database that trusts ``roots`` (for pdfsig)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True)
    for n, root in enumerate(roots):
        pem = folder / f"root{n}.pem"
        pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
        subprocess.run(
            ["certutil", "-A", "-d", f"sql:{folder}", "-n", f"root{n}", "-t", "C,C,C", "-i", pem],
            check=True,
        )
    return folder


@dataclass(frozen=True)
class PdfsigSignature:
    field: str
    common_name: str
    valid: bool
    trusted: bool
    total_document: bool
    raw: str


def pdfsig(pdf: Path, nssdb: Path) -> list[PdfsigSignature]:
    out = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nssdb}", str(pdf)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    blocks = re.split(r"^Signature #\d+:\s*$", out, flags=re.M)[1:]
    sigs = []
    for block in blocks:
        field = re.search(r"Signature Field Name: (.*)", block)
        cn = re.search(r"Signer Certificate Common Name: (.*)", block)
        sigs.append(
            PdfsigSignature(
                field=field.group(1).strip() if field else "",
                common_name=cn.group(1).strip() if cn else "",
                valid="Signature Validation: Signature is Valid." in block,
                trusted="Certificate Validation: Certificate is Trusted." in block,
                total_document="- Total document signed" in block,
                raw=block,
            )
        )
    return sigs


def mutool_verify(pdf: Path) -> str:
    """``mutool sign -v``'s report (it trusts only Adobe's root: use it for integrity)."""
    result = subprocess.run(
        ["mutool", "sign", "-v", str(pdf)], capture_output=True, text=True, check=False
    )
    return result.stdout + result.stderr


def render_page(pdf: Path, workdir: Path, *, page: int = -1, dpi: int = 100) -> Path:
    """``page`` (1-based; -1 = last) as a PNG, as a viewer shows it (the crop box)."""
    if page == -1:
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
        match = re.search(r"^Pages:\s+(\d+)", info.stdout, flags=re.M)
        assert match
        page = int(match.group(1))
    stem = workdir / f"{pdf.stem}-p{page}"
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-png",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            "-cropbox",  # what viewers show and printers print, not the whole media box
            str(pdf),
            str(stem),
        ],
        check=True,
    )
    return stem.parent / f"{stem.name}.png"  # pdftoppm appends .png (a dotted stem stays)


# QR codes only: with every symbology on, zbarimg now and then reads an Interleaved
# 2 of 5 barcode in a run of the QR's own modules (seen: "I2/5:589206")
QR_ONLY = ("-Sdisable", "-Sqrcode.enable")


def scan_codes(png: Path) -> list[str]:
    """Every QR code zbarimg reads in ``png`` (none: an empty list)."""
    result = subprocess.run(
        ["zbarimg", "-q", "--raw", "--nodbus", *QR_ONLY, str(png)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.split()


def read_qr(pdf: Path, workdir: Path, *, page: int = -1, dpi: int = 100) -> str:
    """Render ``page`` with pdftoppm and read the QR with zbarimg."""
    codes = scan_codes(render_page(pdf, workdir, page=page, dpi=dpi))
    assert codes, "zbarimg found no code"
    return "\n".join(codes)


def pdftotext(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def pyhanko_statuses(data: bytes, roots: list[x509.Certificate]) -> list[PdfSignatureStatus]:
    """pyHanko's own validator with ``roots`` trusted, for every signature in order."""
    return asyncio.run(_pyhanko_statuses(data, roots))


async def _pyhanko_statuses(
    data: bytes, roots: list[x509.Certificate]
) -> list[PdfSignatureStatus]:
    reader = PdfFileReader(BytesIO(data), strict=False)
    statuses = []
    for sig in reader.embedded_signatures:
        context = ValidationContext(
            trust_manager=SimpleTrustManager.build(trust_roots=[to_asn1(r) for r in roots]),
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        statuses.append(await async_validate_pdf_signature(sig, signer_validation_context=context))
    return statuses
