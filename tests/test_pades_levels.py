"""PAdES B-T, B-LT and B-LTA against real servers on loopback (certomancer over HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleTrustManager

from keys.devpki import init_keydir
from keys.local import load_pkcs12, to_asn1
from signer.document import SignOptions
from signer.errors import RevocationUnavailable, SigningError
from signer.metadata import ResultMetadata
from signer.pades import PadesLevel
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime
from tests.online_pki import PASSPHRASE, OnlinePki, free_port, running_online_pki
from tests.validators import make_nssdb, mutool_verify, pdfsig, pyhanko_statuses, read_qr

pytestmark = pytest.mark.slow  # a timestamp server and OCSP/CRL responders over HTTP


@pytest.fixture(scope="module")
def online(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OnlinePki]:
    with running_online_pki(tmp_path_factory.mktemp("online-pki")) as pki:
        yield pki


@pytest.fixture(scope="module")
def online_nssdb(online: OnlinePki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_nssdb(tmp_path_factory.mktemp("nss-online"), [online.root])


def _runtime(
    online: OnlinePki,
    level: PadesLevel | None,
    *,
    signer: str = "signer",
    tsa_url: str | None = None,
    keydir: Path | None = None,
) -> SigningRuntime:
    return SigningRuntime(
        RuntimeConfig(
            KeySource(keydir or online.keydir(signer).root),
            SignOptions(level=level),
            tsa_url=tsa_url or online.tsa_url,
            network_timeout=5.0,
        )
    )


def _sign(online: OnlinePki, level: PadesLevel, pdf: bytes, metadata: ResultMetadata) -> bytes:
    with _runtime(online, level) as runtime:
        result = runtime.sign(pdf, metadata)
    assert result.level is level
    return result.pdf


def _offline_status(online: OnlinePki, data: bytes, index: int = 0) -> PdfSignatureStatus:
    """Validate with fetching off and hard-fail revocation, from what the PDF carries (DSS)."""
    reader = PdfFileReader(BytesIO(data), strict=False)
    settings: dict[str, object] = {
        "trust_manager": SimpleTrustManager.build(trust_roots=[to_asn1(online.root)]),
        "allow_fetching": False,
        "revocation_mode": "hard-fail",
    }
    try:
        context = DocumentSecurityStore.read_dss(reader).as_validation_context(settings)
    except NoDSSFoundError:
        context = ValidationContext(**settings, ocsps=[], crls=[])  # type: ignore[arg-type]
    sig = reader.embedded_regular_signatures[index]
    return asyncio.run(async_validate_pdf_signature(sig, signer_validation_context=context))


def _check_independent_validators(
    data: bytes,
    tmp_path: Path,
    nssdb: Path,
    *,
    dss_after_signature: bool = False,
    last_is_timestamp: bool = False,
) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    signatures = pdfsig(path, nssdb)
    regular = [s for s in signatures if s.field.startswith("KetQua")]
    # Trust is judged by pyHanko above, offline from the embedded evidence. poppler 22.12
    # says "Unknown issue with Certificate" for any signer certificate that carries an OCSP
    # URL (even with -no-ocsp), while NSS's own vfychain, on the same db with OCSP, says
    # the chain is good; so here pdfsig is asked about integrity only.
    assert regular
    assert all(s.valid for s in regular), signatures
    if last_is_timestamp:
        # B-LTA: a document timestamp over the DSS (poppler does not verify those)
        assert signatures[-1].common_name == "ketqua Test TSA"
        assert not regular[-1].total_document
    elif dss_after_signature:
        # B-LT: the DSS is an incremental update after the signature, by design
        assert not signatures[-1].total_document
        assert "The signature is valid but there have been edits since signing." in (
            mutool_verify(path)
        )
    else:
        assert signatures[-1].total_document
        assert "The document is unchanged since signing." in mutool_verify(path)
    assert read_qr(path, tmp_path).startswith("HTTP://127.0.0.1:8080/V/")


def test_b_t_carries_a_timestamp_from_the_tsa(
    online: OnlinePki,
    example_pdf: bytes,
    metadata: ResultMetadata,
    tmp_path: Path,
    online_nssdb: Path,
) -> None:
    data = _sign(online, PadesLevel.B_T, example_pdf, metadata)
    (status,) = pyhanko_statuses(data, [online.root])
    assert status.bottom_line, status.pretty_print_details()
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact
    assert status.timestamp_validity.trusted
    _check_independent_validators(data, tmp_path, online_nssdb)


def test_b_lt_embeds_revocation_evidence_that_validates_offline(
    online: OnlinePki,
    example_pdf: bytes,
    metadata: ResultMetadata,
    tmp_path: Path,
    online_nssdb: Path,
) -> None:
    data = _sign(online, PadesLevel.B_LT, example_pdf, metadata)
    reader = PdfFileReader(BytesIO(data), strict=False)
    dss = reader.root["/DSS"]
    assert len(dss["/OCSPs"]) + len(dss.get("/CRLs", [])) >= 1
    status = _offline_status(online, data)
    assert status.bottom_line, status.pretty_print_details()
    assert status.modification_level == ModificationLevel.LTA_UPDATES  # only the DSS was added
    _check_independent_validators(data, tmp_path, online_nssdb, dss_after_signature=True)


def test_b_lta_adds_a_document_timestamp(
    online: OnlinePki,
    example_pdf: bytes,
    metadata: ResultMetadata,
    tmp_path: Path,
    online_nssdb: Path,
) -> None:
    data = _sign(online, PadesLevel.B_LTA, example_pdf, metadata)
    reader = PdfFileReader(BytesIO(data), strict=False)
    kinds = [sig.sig_object.get("/Type") for sig in reader.embedded_signatures]
    assert kinds[-1] == "/DocTimeStamp"
    assert _offline_status(online, data).bottom_line
    doc_ts = reader.embedded_signatures[-1]
    context = ValidationContext(
        trust_manager=SimpleTrustManager.build(trust_roots=[to_asn1(online.root)]),
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    ts_status = asyncio.run(async_validate_pdf_timestamp(doc_ts, validation_context=context))
    assert ts_status.intact
    assert ts_status.valid
    assert ts_status.trusted
    _check_independent_validators(data, tmp_path, online_nssdb, last_is_timestamp=True)


def test_revoked_signing_certificate_is_refused_at_b_lt(
    online: OnlinePki, example_pdf: bytes, metadata: ResultMetadata
) -> None:
    with (
        _runtime(online, PadesLevel.B_LT, signer="revoked-signer") as runtime,
        pytest.raises(SigningError, match="revoked"),
    ):
        runtime.sign(example_pdf, metadata)


def test_unreachable_timestamp_server_is_a_clear_error(
    online: OnlinePki, example_pdf: bytes, metadata: ResultMetadata
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/tsa"
    with (
        _runtime(online, PadesLevel.B_T, tsa_url=dead) as runtime,
        pytest.raises(SigningError, match="timestamp"),
    ):
        runtime.sign(example_pdf, metadata)


def test_b_b_signature_fails_offline_hard_fail_validation(
    online: OnlinePki, example_pdf: bytes, metadata: ResultMetadata
) -> None:
    # the control for the B-LT test: without embedded evidence the same check fails
    data = _sign(online, PadesLevel.B_B, example_pdf, metadata)
    assert not _offline_status(online, data).bottom_line


# --- the level chosen when none is asked --------------------------------------------------


def test_without_a_level_a_certificate_with_revocation_services_gets_b_lt(
    online: OnlinePki, example_pdf: bytes, metadata: ResultMetadata
) -> None:
    with _runtime(online, None) as runtime:
        result = runtime.sign(example_pdf, metadata)
    assert result.level is PadesLevel.B_LT
    assert _offline_status(online, result.pdf).bottom_line


@pytest.fixture(scope="module")
def unreachable_revocation_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signing certificate whose OCSP and CRL URLs point at a port nobody listens on."""
    dead = f"http://127.0.0.1:{free_port()}"
    root = tmp_path_factory.mktemp("dead-revocation") / "keys"
    init_keydir(root, ocsp_url=f"{dead}/ocsp", crl_url=f"{dead}/ca.crl")
    return root


def test_without_a_level_unreachable_revocation_falls_back_to_b_t_and_says_so(
    online: OnlinePki,
    unreachable_revocation_keys: Path,
    example_pdf: bytes,
    metadata: ResultMetadata,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with _runtime(online, None, keydir=unreachable_revocation_keys) as runtime:
        result = runtime.sign(example_pdf, metadata)
        # the next documents go straight to B-T for a while: one warning, not one per file
        again = runtime.sign(example_pdf, metadata)
    assert result.level is PadesLevel.B_T
    assert again.level is PadesLevel.B_T
    assert caplog.text.count("signed at B-T instead of B-LT") == 1
    reader = PdfFileReader(BytesIO(result.pdf), strict=False)
    assert "/DSS" not in reader.root
    (status,) = pyhanko_statuses(result.pdf, [])
    assert status.intact
    assert status.valid
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact


def test_explicit_b_lt_with_unreachable_revocation_is_an_error_not_a_downgrade(
    online: OnlinePki,
    unreachable_revocation_keys: Path,
    example_pdf: bytes,
    metadata: ResultMetadata,
) -> None:
    with (
        _runtime(online, PadesLevel.B_LT, keydir=unreachable_revocation_keys) as runtime,
        pytest.raises(RevocationUnavailable, match="no OCSP response or CRL"),
    ):
        runtime.sign(example_pdf, metadata)


def test_without_a_level_a_revoked_certificate_is_refused_not_downgraded(
    online: OnlinePki, example_pdf: bytes, metadata: ResultMetadata
) -> None:
    with (
        _runtime(online, None, signer="revoked-signer") as runtime,
        pytest.raises(SigningError, match="revoked") as raised,
    ):
        runtime.sign(example_pdf, metadata)
    assert not isinstance(raised.value, RevocationUnavailable)


def test_b_lt_with_a_signing_certificate_from_another_ca_than_the_seal(
    online: OnlinePki, example_pdf: bytes, metadata: ResultMetadata, tmp_path: Path
) -> None:
    # the README's real-agency setup: the licensed CA's certificate in signing.p12,
    # the seal key from keys init
    keys = _mixed_keys(online, tmp_path / "mixed-keys", with_root=True)
    with _runtime(online, PadesLevel.B_LT, keydir=keys) as runtime:
        result = runtime.sign(example_pdf, metadata)
    assert result.level is PadesLevel.B_LT
    assert _offline_status(online, result.pdf).bottom_line


def _mixed_keys(online: OnlinePki, folder: Path, *, with_root: bool) -> Path:
    """keys init's seal key beside a licensed CA's .p12, which often carries no root."""
    init_keydir(folder)
    passphrase = (folder / "passphrase").read_bytes().strip()
    online_pair = load_pkcs12(online.keydir().signing_p12, PASSPHRASE)
    chain = [c for c in online_pair.chain if with_root or c.subject != c.issuer]
    (folder / "signing.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            None,
            online_pair.key,
            online_pair.certificate,
            chain,
            serialization.BestAvailableEncryption(passphrase),
        )
    )
    return folder


def test_without_a_level_an_unknown_signing_root_falls_back_to_b_t(
    online: OnlinePki, example_pdf: bytes, metadata: ResultMetadata, tmp_path: Path
) -> None:
    keys = _mixed_keys(online, tmp_path / "keys", with_root=False)
    with _runtime(online, None, keydir=keys) as runtime:
        result = runtime.sign(example_pdf, metadata)
    assert result.level is PadesLevel.B_T


def test_explicit_b_lt_with_an_unknown_signing_root_says_where_the_root_goes(
    online: OnlinePki, example_pdf: bytes, metadata: ResultMetadata, tmp_path: Path
) -> None:
    keys = _mixed_keys(online, tmp_path / "keys", with_root=False)
    with (
        _runtime(online, PadesLevel.B_LT, keydir=keys) as runtime,
        pytest.raises(RevocationUnavailable, match=r"public/root-ca\.pem"),
    ):
        runtime.sign(example_pdf, metadata)
