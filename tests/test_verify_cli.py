"""``ketqua verify`` offline: a PDF, a QR text, a photo of a printout; exit 0, 1 or 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from keys.devpki import init_keydir
from keys.keydir import KeyDir
from signer.document import SignedResult, SignOptions
from signer.metadata import ResultMetadata, parse_metadata
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime
from tests.hostile import (
    hostile_signature,
    listening,
    overlay_field,
    signed_by_the_agency_without_a_stamp,
)
from tests.officials import Hierarchy, official_signed
from tests.pdfs import example_metadata
from tests.service import PUBLIC_URL, ketqua_command
from tests.validators import render_page

pytestmark = pytest.mark.slow  # ketqua verify as a process


def verify(keydir: KeyDir, *args: str, lang: str = "C.UTF-8") -> subprocess.CompletedProcess[str]:
    # C.UTF-8, the locale of a server: Vietnamese, the default
    env = {**os.environ, "LANG": lang, "LC_ALL": ""}
    return subprocess.run(
        ketqua_command("verify", *args, "--trust-list", str(keydir.trust_list)),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_a_signed_pdf_verifies_offline(
    keydir: KeyDir, signed: SignedResult, tmp_path: Path
) -> None:
    pdf = tmp_path / "ket-qua.pdf"
    pdf.write_bytes(signed.pdf)
    done = verify(keydir, str(pdf), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "valid"
    assert report["signatures"][0]["indication"] == "TOTAL_PASSED"
    assert report["seal"]["binds_this_file"] is True
    for locale in ("vi_VN.UTF-8", "C.UTF-8"):  # Vietnamese unless the locale is English
        human = verify(keydir, str(pdf), lang=locale)
        assert human.returncode == 0
        lines = human.stdout.splitlines()
        assert lines[0].startswith("HỢP LỆ")
        assert "Chữ ký số KetQuaAgencySignature: hợp lệ" in lines
        assert "  Mã kết quả: 000.00.14.H49-220301-0012-KQ1" in lines
        signed_at = next(line for line in lines if line.startswith("  Thời gian ký: "))
        assert re.fullmatch(
            r"  Thời gian ký: \d\d/\d\d/\d{4} \d\d:\d\d:\d\d \(UTC\+07:00\) \(chuẩn B-\w+\)",
            signed_at,
        ), signed_at
        assert "TOTAL_PASSED" not in human.stdout  # ETSI's codes stay in --json
    for english in (
        verify(keydir, str(pdf), lang="en_US.UTF-8"),
        verify(keydir, str(pdf), "--lang", "en"),
    ):
        assert english.stdout.startswith("VALID")
        assert "Signature KetQuaAgencySignature: valid" in english.stdout


def test_a_changed_pdf_is_not_valid(keydir: KeyDir, signed: SignedResult, tmp_path: Path) -> None:
    flipped = bytearray(signed.pdf)
    flipped[len(flipped) // 3] ^= 1
    pdf = tmp_path / "sua.pdf"
    pdf.write_bytes(bytes(flipped))
    done = verify(keydir, str(pdf))
    assert done.returncode == 1
    assert "không hợp lệ: văn bản đã bị sửa sau khi ký" in done.stdout
    assert (
        json.loads(verify(keydir, str(pdf), "--json").stdout)["signatures"][0]["sub_indication"]
        == "HASH_FAILURE"
    )


def test_a_qr_text_verifies_and_a_forged_one_does_not(
    keydir: KeyDir, signed: SignedResult
) -> None:
    good = verify(keydir, "--qr", signed.seal_url, "--json")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["seal"]["verification_code"] == signed.verification_code
    token = signed.seal_url.rsplit("/", 1)[1]
    forged = signed.seal_url.replace(
        token, "A" + token[1:] if token[0] != "A" else "B" + token[1:]
    )
    bad = verify(keydir, "--qr", forged)
    assert bad.returncode == 1
    assert bad.stdout.startswith("KHÔNG HỢP LỆ: Con dấu QR không đúng")
    assert verify(keydir, "--qr", forged, "--lang", "en").stdout.startswith("NOT VALID")


def test_a_photo_of_the_printout_is_read_and_verified(
    keydir: KeyDir, signed: SignedResult, tmp_path: Path
) -> None:
    pdf = tmp_path / "in.pdf"
    pdf.write_bytes(signed.pdf)
    page = render_page(pdf, tmp_path, dpi=150)
    with Image.open(page) as image:
        photo = (
            image.convert("RGB")
            .rotate(4, expand=True, fillcolor="white")  # held a little askew
            .filter(ImageFilter.GaussianBlur(0.8))  # slightly out of focus
        )
    shot = tmp_path / "photo.jpg"
    photo.save(shot, quality=55)  # a phone's compression
    done = verify(keydir, "--image", str(shot), "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    assert json.loads(done.stdout)["seal"]["dossier_code"] == "000.00.14.H49-220301-0012"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--image", "/nonexistent.jpg"], "cannot read the image"),
        (["--qr", "x", "--image", "y.jpg"], "not allowed with"),
        ([], "one of the arguments"),
    ],
)
def test_usage_and_input_errors_exit_2_with_one_line(
    keydir: KeyDir, args: list[str], message: str, tmp_path: Path
) -> None:
    done = verify(keydir, *args)
    assert done.returncode == 2, done
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_file_that_is_no_pdf_or_an_image_without_a_qr_exits_2(
    keydir: KeyDir, tmp_path: Path
) -> None:
    text = tmp_path / "note.pdf"
    text.write_text("hello", encoding="utf-8")
    done = verify(keydir, str(text))
    assert done.returncode == 2
    assert "not a PDF" in done.stderr
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    done = verify(keydir, "--image", str(blank))
    assert done.returncode == 2
    assert "no ketqua QR code" in done.stderr


# As strict as intake: valid only for what an agency issued and nobody changed since


async def test_a_signature_from_another_holder_of_the_same_ca_is_not_valid(
    keydir: KeyDir, example_pdf: bytes, tmp_path: Path
) -> None:
    with listening() as listener:
        pdf = tmp_path / "la.pdf"
        pdf.write_bytes(await hostile_signature(example_pdf, listener, keydir))
        done = verify(keydir, str(pdf), "--json")
    assert done.returncode == 1, done.stdout
    report = json.loads(done.stdout)
    assert report["signatures"][0]["indication"] == "TOTAL_PASSED"  # intact, trusted CA...
    assert report["signatures"][0]["agency_code"] is None  # ...but not the agency's
    assert "agency certificate in the trust list" in report["reason"]


async def test_an_update_painting_over_the_page_after_the_agency_signed_is_not_valid(
    keydir: KeyDir, signed: SignedResult, tmp_path: Path
) -> None:
    pdf = tmp_path / "phu.pdf"
    pdf.write_bytes(overlay_field(signed.pdf))
    done = verify(keydir, str(pdf), "--json")
    assert done.returncode == 1, done.stdout
    report = json.loads(done.stdout)
    assert report["signatures"][0]["modifications_after"] == "form_filling"
    assert report["reason"] == "the document was changed after the agency signed it (form_filling)"


async def test_the_agencys_own_signature_without_a_qr_is_valid_and_says_there_is_no_qr(
    keydir: KeyDir, example_pdf: bytes, tmp_path: Path
) -> None:
    pdf = tmp_path / "khong-qr.pdf"
    pdf.write_bytes(await signed_by_the_agency_without_a_stamp(example_pdf, keydir))
    done = verify(keydir, str(pdf), lang="vi_VN.UTF-8")
    assert done.returncode == 0, done.stdout
    assert "Con dấu QR: không có mã QR" in done.stdout


def test_a_trust_list_without_the_agencys_certificates_calls_nothing_valid(
    keydir: KeyDir, signed: SignedResult, tmp_path: Path
) -> None:
    """A list from before agency certificates were listed: fail closed, and say why."""
    old = json.loads(keydir.trust_list.read_text())
    del old["signing_certificates"]
    listed = tmp_path / "cu.json"
    listed.write_text(json.dumps(old))
    pdf = tmp_path / "ket-qua.pdf"
    pdf.write_bytes(signed.pdf)
    done = subprocess.run(
        ketqua_command("verify", str(pdf), "--trust-list", str(listed), "--json"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout
    assert "agency certificate in the trust list" in json.loads(done.stdout)["reason"]


def test_a_signing_certificate_listed_with_trust_signer_makes_its_documents_valid(
    tmp_path: Path, example_pdf: bytes
) -> None:
    """A certificate from a licensed CA or a token is not in the list keys init wrote."""
    keydir = init_keydir(tmp_path / "keys")
    listed = json.loads(keydir.trust_list.read_text())
    listed["signing_certificates"] = []  # as for a certificate keys init did not make
    keydir.trust_list.write_text(json.dumps(listed))
    config = RuntimeConfig(KeySource(keydir.root), SignOptions(public_url=PUBLIC_URL))
    with SigningRuntime(config) as runtime:
        assert not runtime.keys.listed
        signed = runtime.sign(example_pdf, parse_metadata(json.dumps(example_metadata())))
    pdf = tmp_path / "ket-qua.pdf"
    pdf.write_bytes(signed.pdf)
    assert verify(keydir, str(pdf)).returncode == 1
    added = subprocess.run(
        ketqua_command("keys", "trust-signer", "--dir", str(keydir.root)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    assert "for 000.00.14.H49" in added.stdout
    assert verify(keydir, str(pdf)).returncode == 0


def test_an_officials_signature_needs_the_national_root_to_be_valid(
    keydir: KeyDir,
    runtime: SigningRuntime,
    example_pdf: bytes,
    metadata: ResultMetadata,
    national: Hierarchy,
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "hai-chu-ky.pdf"
    pdf.write_bytes(runtime.sign(official_signed(example_pdf, national), metadata).pdf)
    alone = verify(keydir, str(pdf))
    assert alone.returncode == 1, alone.stdout
    assert "Chữ ký số ChuKyLanhDao: chưa xác định được" in alone.stdout
    assert "chứng thư không do tổ chức được tin cậy cấp" in alone.stdout
    root = tmp_path / "national-root.pem"
    root.write_bytes(national.root_pem)
    anchored = verify(keydir, str(pdf), "--trust-anchor", str(root))
    assert anchored.returncode == 0, anchored.stdout
    assert "Chữ ký số ChuKyLanhDao: hợp lệ" in anchored.stdout
    assert "Trần Thị Bình" in anchored.stdout
    # only a CA may be an anchor: the official's own certificate is refused, in one line
    leaf = tmp_path / "official.pem"
    from cryptography.hazmat.primitives.serialization import Encoding

    leaf.write_bytes(national.official.certificate.public_bytes(Encoding.PEM))
    refused = verify(keydir, str(pdf), "--trust-anchor", str(leaf))
    assert refused.returncode == 2
    assert "is not a CA certificate" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
