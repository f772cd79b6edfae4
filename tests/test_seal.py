"""The QR seal codec: claims, COSE_Sign1/ES256, the URL and the QR size."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from pycose.algorithms import Es256
from pycose.headers import KID, Algorithm
from pycose.keys.ec2 import EC2Key
from pycose.messages.sign1message import Sign1Message

from plumbing.errors import KetquaError
from seal import (
    QR_ALPHANUMERIC,
    BadSignature,
    MalformedSeal,
    SealClaims,
    SealError,
    UnknownKeyId,
    WrongAlgorithm,
    decode_seal,
    encode_seal,
    kid_for_certificate,
    qr_version,
    seal_from_text,
    seal_to_url,
    verification_code,
    verify_seal,
)

VN = timezone(timedelta(hours=7))
SETTINGS = settings(max_examples=200, deadline=None)


@dataclass(frozen=True)
class SealKey:
    private: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    kid: bytes

    @property
    def public(self) -> ec.EllipticCurvePublicKey:
        return self.private.public_key()

    @property
    def keys(self) -> dict[bytes, ec.EllipticCurvePublicKey]:
        return {self.kid: self.public}


def _self_signed(key: ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def seal_key() -> SealKey:
    private = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed(private, "ketqua QR seal (test)")
    return SealKey(private, cert, kid_for_certificate(cert))


@pytest.fixture(scope="module")
def claims() -> SealClaims:
    return SealClaims(
        agency_code="000.00.14.H49",
        dossier_code="000.00.14.H49-220301-0012",
        result_no=1,
        procedure_code="1.004227",
        signed_at=datetime(2022, 3, 14, 10, 0, 0, tzinfo=VN),
        doc_digest=hashlib.sha256(b"the document content").digest()[:16],
        doc_length=123_456,
    )


@pytest.fixture(scope="module")
def seal(claims: SealClaims, seal_key: SealKey) -> bytes:
    return encode_seal(claims, seal_key.private, seal_key.kid)


def _sign1(
    protected: object,
    unprotected: object,
    payload: object,
    signature: object,
    *,
    tag: int = 18,
) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(tag, [protected, unprotected, payload, signature]))


def _raw_signature(
    key: ec.EllipticCurvePrivateKey, hash_alg: hashes.HashAlgorithm, tbs: bytes
) -> bytes:
    r, s = decode_dss_signature(key.sign(tbs, ec.ECDSA(hash_alg)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _signed(
    key: ec.EllipticCurvePrivateKey,
    hash_alg: hashes.HashAlgorithm,
    protected: bytes,
    kid: bytes,
    payload: bytes,
) -> bytes:
    """A COSE_Sign1 built independently of the codec, properly signed."""
    tbs = cbor2.dumps(["Signature1", protected, b"", payload])
    return _sign1(protected, {4: kid}, payload, _raw_signature(key, hash_alg, tbs))


# --- claims ----------------------------------------------------------------


def test_claims_cbor_map_round_trip(claims: SealClaims) -> None:
    m = claims.to_cbor_map()
    assert sorted(m) == [1, 2, 3, 4, 5, 6, 7]
    assert m[5] == int(datetime(2022, 3, 14, 3, 0, 0, tzinfo=UTC).timestamp())
    assert SealClaims.from_cbor_map(m) == claims


def test_claims_normalise_signed_at_to_utc_whole_seconds(claims: SealClaims) -> None:
    c = replace(claims, signed_at=datetime(2022, 3, 14, 10, 0, 0, 999_999, tzinfo=VN))
    assert c.signed_at == datetime(2022, 3, 14, 3, 0, 0, tzinfo=UTC)
    assert c.signed_at.tzinfo is UTC
    assert c.signed_at.microsecond == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("agency_code", ""),
        ("agency_code", "x" * 33),
        ("agency_code", "Ủy ban nhân dân huyện Vân Đồn"),
        ("dossier_code", "000.00.14.H49 220301"),
        ("dossier_code", b"000.00.14.H49"),
        ("result_no", 0),
        ("result_no", True),
        ("result_no", 2**64),
        ("procedure_code", 1004227),
        ("signed_at", datetime(2022, 3, 14, 10, 0, 0)),
        ("signed_at", datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("signed_at", 1647226800),
        ("doc_digest", b"\x00" * 15),
        ("doc_digest", hashlib.sha256(b"").digest()),
        ("doc_digest", bytearray(16)),
        ("doc_length", 0),
        ("doc_length", -1),
    ],
)
def test_claims_invariants(claims: SealClaims, field: str, value: object) -> None:
    changes: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=field):
        replace(claims, **changes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop(3), "result_no \\(key 3\\) is missing"),
        (lambda m: m.update({8: 1}), "unknown claim key 8"),
        (lambda m: m.update({"x": 1}), "unknown claim key 'x'"),
        (lambda m: m.update({3: "1"}), "result_no \\(key 3\\) must be an integer"),
        (lambda m: m.update({3: True}), "result_no \\(key 3\\) must be an integer"),
        (lambda m: m.update({1: b"000"}), "agency_code \\(key 1\\) must be a text string"),
        (lambda m: m.update({6: "digest"}), "doc_digest \\(key 6\\) must be a byte string"),
        (lambda m: m.update({5: -1}), "signed_at \\(key 5\\) is out of range"),
        (lambda m: m.update({5: 2**40}), "signed_at \\(key 5\\) is out of range"),
        (lambda m: m.update({3: 0}), "result_no must be between"),
        (lambda m: m.update({6: b"short"}), "doc_digest must be 16 bytes"),
    ],
)
def test_claims_from_cbor_map_rejects(
    claims: SealClaims, change: Callable[[dict[object, object]], object], message: str
) -> None:
    m: dict[object, object] = {k: v for k, v in claims.to_cbor_map().items()}
    change(m)
    with pytest.raises(MalformedSeal, match=message):
        SealClaims.from_cbor_map(m)


def test_claims_from_cbor_map_rejects_non_map() -> None:
    with pytest.raises(MalformedSeal, match="claims must be a CBOR map"):
        SealClaims.from_cbor_map([1, 2, 3])


# --- sign, decode, verify --------------------------------------------------


def test_round_trip(seal: bytes, claims: SealClaims, seal_key: SealKey) -> None:
    assert verify_seal(seal, seal_key.keys) == claims
    assert verify_seal(seal, {seal_key.kid: seal_key.public}.get) == claims
    decoded = decode_seal(seal)
    assert decoded.kid == seal_key.kid
    assert decoded.alg == -7
    assert decoded.protected == bytes.fromhex("a10126")
    assert len(decoded.signature) == 64
    assert decoded.claims == claims
    assert cbor2.loads(decoded.payload) == claims.to_cbor_map()


@given(
    agency=st.from_regex(r"[0-9A-Z.]{1,32}", fullmatch=True),
    dossier=st.from_regex(r"[!-~]{1,32}", fullmatch=True),
    result_no=st.integers(1, 2**64 - 1),
    procedure=st.from_regex(r"[0-9.]{1,32}", fullmatch=True),
    signed_at=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(VN)
    ),
    digest=st.binary(min_size=16, max_size=16),
    length=st.integers(1, 2**64 - 1),
)
@SETTINGS
def test_round_trip_any_claims(
    seal_key: SealKey,
    agency: str,
    dossier: str,
    result_no: int,
    procedure: str,
    signed_at: datetime,
    digest: bytes,
    length: int,
) -> None:
    c = SealClaims(agency, dossier, result_no, procedure, signed_at, digest, length)
    s = encode_seal(c, seal_key.private, seal_key.kid)
    assert verify_seal(s, seal_key.keys) == c
    assert seal_from_text(seal_to_url(s, "https://example.vn")) == s


def test_kid_is_sha256_of_certificate_der(seal_key: SealKey) -> None:
    der = seal_key.cert.public_bytes(serialization.Encoding.DER)
    assert len(seal_key.kid) == 8
    assert seal_key.kid == hashlib.sha256(der).digest()[:8]


def test_encode_rejects_other_keys(claims: SealClaims, seal_key: SealKey) -> None:
    with pytest.raises(ValueError, match="P-256"):
        encode_seal(claims, ec.generate_private_key(ec.SECP384R1()), seal_key.kid)
    with pytest.raises(ValueError, match="8 bytes"):
        encode_seal(claims, seal_key.private, seal_key.kid[:7])


def test_errors_derive_from_ketqua_error() -> None:
    for cls in (MalformedSeal, UnknownKeyId, BadSignature, WrongAlgorithm):
        assert issubclass(cls, SealError)
    assert issubclass(SealError, KetquaError)
    assert "\n" not in str(BadSignature())
    assert str(UnknownKeyId(bytes.fromhex("0011223344556677"))).count("0011223344556677") == 1


def test_wrong_algorithm(claims: SealClaims, seal_key: SealKey) -> None:
    # ES384 (-35) with a P-384 key, signed properly: still refused.
    key = ec.generate_private_key(ec.SECP384R1())
    protected = cbor2.dumps({1: -35})
    payload = cbor2.dumps(claims.to_cbor_map())
    data = _signed(key, hashes.SHA384(), protected, seal_key.kid, payload)
    assert decode_seal(data).alg == -35
    with pytest.raises(WrongAlgorithm, match="-35"):
        verify_seal(data, {seal_key.kid: seal_key.public})


def test_unknown_key_id(seal: bytes, seal_key: SealKey) -> None:
    with pytest.raises(UnknownKeyId, match=seal_key.kid.hex()) as info:
        verify_seal(seal, {})
    assert info.value.kid == seal_key.kid
    with pytest.raises(UnknownKeyId):
        verify_seal(seal, lambda kid: None)
    with pytest.raises(UnknownKeyId):
        verify_seal(seal, {b"\x00" * 8: seal_key.public})


def test_bad_signature_other_key(seal: bytes, seal_key: SealKey) -> None:
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(BadSignature):
        verify_seal(seal, {seal_key.kid: other})


def test_bad_signature_key_of_another_curve(seal: bytes, seal_key: SealKey) -> None:
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(BadSignature, match="not a P-256 key"):
        verify_seal(seal, {seal_key.kid: other})


def test_changed_claims_keep_signature_fail(seal: bytes, seal_key: SealKey) -> None:
    original = decode_seal(seal)
    for field, value in [
        ("result_no", 2),
        ("dossier_code", "000.00.14.H49-220301-0013"),
        ("doc_digest", bytes(16)),
        ("signed_at", datetime(2030, 1, 1, tzinfo=UTC)),
    ]:
        changes: dict[str, Any] = {field: value}
        changed = replace(original.claims, **changes)
        payload = cbor2.dumps(changed.to_cbor_map())
        forged = _sign1(original.protected, {4: original.kid}, payload, original.signature)
        assert decode_seal(forged).claims == changed
        with pytest.raises(BadSignature):
            verify_seal(forged, seal_key.keys)


def test_signature_with_zero_or_overlarge_scalars_fails(seal: bytes, seal_key: SealKey) -> None:
    d = decode_seal(seal)
    for signature in (bytes(64), b"\xff" * 64, d.signature[:32] + bytes(32)):
        forged = _sign1(d.protected, {4: d.kid}, d.payload, signature)
        with pytest.raises(BadSignature):
            verify_seal(forged, seal_key.keys)


def _malformed_cases(seal: bytes) -> list[tuple[str, bytes, str]]:
    top = cbor2.loads(seal)
    protected, unprotected, payload, signature = top.value
    unprotected = dict(unprotected)
    kid = unprotected[4]
    return [
        ("empty", b"", "empty"),
        ("not CBOR", b"\xff\x00", "not CBOR"),
        ("not CBOR text", b"HELLO WORLD", "2 trailing bytes"),
        ("truncated", seal[:-1], "not CBOR"),
        ("trailing bytes", seal + b"\x00", "1 trailing bytes"),
        ("too long", seal + bytes(2000), "more than 1024"),
        ("untagged", cbor2.dumps([protected, unprotected, payload, signature]), "not tagged"),
        ("wrong tag", _sign1(protected, unprotected, payload, signature, tag=98), "tag 98"),
        ("tag of a map", cbor2.dumps(cbor2.CBORTag(18, {1: 2})), "must be an array"),
        (
            "extra element",
            cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, signature, b""])),
            "5 elements",
        ),
        (
            "three elements",
            cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload])),
            "3 elements",
        ),
        ("protected as map", _sign1({1: -7}, unprotected, payload, signature), "byte string"),
        (
            "empty protected",
            _sign1(b"", unprotected, payload, signature),
            "alg \\(1\\) is missing",
        ),
        ("protected not a map", _sign1(cbor2.dumps([1]), unprotected, payload, signature), "map"),
        (
            "alg missing",
            _sign1(cbor2.dumps({3: 0}), unprotected, payload, signature),
            "unsupported",
        ),
        (
            "alg as text",
            _sign1(cbor2.dumps({1: "ES256"}), unprotected, payload, signature),
            "must be an integer",
        ),
        (
            "extra protected header",
            _sign1(cbor2.dumps({1: -7, 3: 0}), unprotected, payload, signature),
            "unsupported parameter",
        ),
        (
            "non-canonical protected",
            # alg -7 with a one-byte argument (0x38 0x06) instead of in the head (0x26)
            _sign1(bytes.fromhex("a1013806"), unprotected, payload, signature),
            "protected header is not in canonical",
        ),
        (
            "protected with trailing byte",
            _sign1(protected + b"\x00", unprotected, payload, signature),
            "canonical",
        ),
        ("kid missing", _sign1(protected, {}, payload, signature), "lacks kid"),
        ("kid short", _sign1(protected, {4: kid[:7]}, payload, signature), "7 bytes"),
        ("kid as text", _sign1(protected, {4: kid.hex()}, payload, signature), "byte string"),
        (
            "alg unprotected",
            _sign1(protected, {4: kid, 1: -7}, payload, signature),
            "unsupported parameter",
        ),
        ("detached payload", _sign1(protected, unprotected, None, signature), "detached"),
        ("payload not CBOR", _sign1(protected, unprotected, b"\xff", signature), "payload"),
        ("payload a list", _sign1(protected, unprotected, b"\x80", signature), "claims must be"),
        (
            "payload non-canonical",
            _sign1(protected, unprotected, payload + b"\x00", signature),
            "canonical",
        ),
        ("signature short", _sign1(protected, unprotected, payload, signature[:63]), "63 bytes"),
        ("signature as text", _sign1(protected, unprotected, payload, "sig"), "byte string"),
        (
            "non-minimal length",
            # the signature's length as a two-byte argument: 0x59 0x0040 instead of 0x58 0x40
            seal.replace(b"\x58\x40" + signature, b"\x59\x00\x40" + signature),
            "canonical",
        ),
        ("indefinite array", b"\xd2\x9f" + seal[2:] + b"\xff", "indefinite"),
    ]


def test_malformed(seal: bytes, seal_key: SealKey) -> None:
    for name, data, message in _malformed_cases(seal):
        with pytest.raises(MalformedSeal, match=message) as info:
            verify_seal(data, seal_key.keys)
        assert "\n" not in str(info.value), name


@given(st.data())
@SETTINGS
def test_any_single_bit_flip_is_rejected(
    seal: bytes, seal_key: SealKey, data: st.DataObject
) -> None:
    bit = data.draw(st.integers(0, len(seal) * 8 - 1))
    flipped = bytearray(seal)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(SealError):
        verify_seal(bytes(flipped), seal_key.keys)


@given(st.data())
@SETTINGS
def test_any_truncation_is_rejected(seal: bytes, seal_key: SealKey, data: st.DataObject) -> None:
    end = data.draw(st.integers(0, len(seal) - 1))
    with pytest.raises(MalformedSeal):
        verify_seal(seal[:end], seal_key.keys)


def test_every_bit_flip_and_truncation_is_rejected(seal: bytes, seal_key: SealKey) -> None:
    """The exhaustive version of the two properties above (a seal is ~180 bytes)."""
    for bit in range(len(seal) * 8):
        flipped = bytearray(seal)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(SealError):
            verify_seal(bytes(flipped), seal_key.keys)
    for end in range(len(seal)):
        with pytest.raises(MalformedSeal):
            verify_seal(seal[:end], seal_key.keys)


@given(st.binary(max_size=300))
@SETTINGS
def test_random_bytes_are_rejected(seal_key: SealKey, data: bytes) -> None:
    with pytest.raises(SealError):
        verify_seal(data, seal_key.keys)


# --- pycose as an independent implementation -------------------------------


def _pycose_key(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> EC2Key:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        cose_key = EC2Key.from_pem_private_key(pem.decode())
    else:
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        cose_key = EC2Key.from_pem_public_key(pem.decode())
    assert isinstance(cose_key, EC2Key)
    return cose_key


def test_pycose_verifies_our_seal(seal: bytes, seal_key: SealKey, claims: SealClaims) -> None:
    # pycose 1.1's Sign1Message.decode checks isinstance(value, list), but cbor2 6 decodes a
    # tag's content as a tuple (and maps in it as frozendict): hand pycose the untagged array.
    assert seal[0] == 0xD2  # tag 18
    msg = Sign1Message.from_cose_obj(cbor2.loads(seal[1:]), True)
    msg.key = _pycose_key(seal_key.public)
    assert msg.verify_signature()
    assert msg.phdr == {Algorithm: Es256}
    assert msg.uhdr == {KID: seal_key.kid}
    assert msg.payload is not None
    assert cbor2.loads(msg.payload) == claims.to_cbor_map()

    other = Sign1Message.from_cose_obj(cbor2.loads(seal[1:]), True)
    other.key = _pycose_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    assert not other.verify_signature()


def test_we_verify_a_pycose_seal(seal_key: SealKey, claims: SealClaims) -> None:
    msg = Sign1Message(
        phdr={Algorithm: Es256},
        uhdr={KID: seal_key.kid},
        payload=cbor2.dumps(claims.to_cbor_map()),
        key=_pycose_key(seal_key.private),
    )
    data = msg.encode()
    assert verify_seal(data, seal_key.keys) == claims
    # Same structure byte for byte, apart from the (randomised) signature.
    ours = encode_seal(claims, seal_key.private, seal_key.kid)
    assert data[:-64] == ours[:-64]


# --- verification code -----------------------------------------------------


def test_verification_code(seal: bytes) -> None:
    code = verification_code(seal)
    assert len(code) == 11
    assert code[5] == "-"
    assert set(code.replace("-", "")) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    expected = base64.b32encode(hashlib.sha256(seal).digest()).decode()[:10]
    assert code.replace("-", "") == expected
    assert verification_code(seal + b"x") != code


# --- URL and QR ------------------------------------------------------------


def test_url_round_trip(seal: bytes) -> None:
    url = seal_to_url(seal, "https://ketqua.example.vn/")
    assert url.startswith("HTTPS://KETQUA.EXAMPLE.VN/V/")
    assert "=" not in url
    assert set(url) <= QR_ALPHANUMERIC
    token = url.rsplit("/", 1)[1]
    padded = base64.b32encode(seal).decode()
    for text in [
        url,
        url.lower(),
        url + "/",
        url.replace("/V/", "/v/"),
        f"  {url}\n",
        token,
        token.lower(),
        padded,
        f"http://127.0.0.1:8080/V/{token}",
        f"https://example.vn/ketqua/v/{token}/",
    ]:
        assert seal_from_text(text) == seal, text


def test_url_with_path_prefix_and_port(seal: bytes) -> None:
    url = seal_to_url(seal, "http://127.0.0.1:8080/ketqua")
    assert url.startswith("HTTP://127.0.0.1:8080/KETQUA/V/")
    assert seal_from_text(url) == seal


@pytest.mark.parametrize(
    "base_url",
    [
        "ketqua.example.vn",
        "ftp://ketqua.example.vn",
        "https://",
        "https://ketqua.example.vn/?x=1",
        "https://ketqua.example.vn/#top",
        "https://user@ketqua.example.vn",
        "https://ketqua.example.vn/kết-quả",
        "https://ketqua.example.vn/a_b",
        "https://ketqua.example.vn/a b",
    ],
)
def test_seal_to_url_rejects_base_url(seal: bytes, base_url: str) -> None:
    with pytest.raises(ValueError, match="base URL"):
        seal_to_url(seal, base_url)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("A" * 5000, "more than"),
        ("HTTPS://KETQUA.EXAMPLE.VN/X/AAAA", "not a seal URL"),
        ("HTTPS://KETQUA.EXAMPLE.VN/AAAA", "not a seal URL"),
        ("HTTPS://KETQUA.EXAMPLE.VN/V/", "not a seal URL|not base32"),
        ("HTTPS://KETQUA.EXAMPLE.VN/V/AAAA?X=1", "query"),
        ("HTTPS://KETQUA.EXAMPLE.VN/V/AAAA#X", "query or fragment"),
        ("FTP://KETQUA.EXAMPLE.VN/V/AAAA", "http"),
        ("KETQUA.EXAMPLE.VN/V/AAAA", "http"),
        ("AB1C", "not base32"),
        ("AB CD", "not base32"),
        ("ÀAAA", "not base32"),
        ("AAA", "cannot be 3 characters"),
        ("AB", "non-zero padding bits"),
    ],
)
def test_seal_from_text_rejects(text: str, message: str) -> None:
    with pytest.raises(MalformedSeal, match=message):
        seal_from_text(text)


WORST_CASE_BASE_URL = "https://ketqua.vandon.quangninh.gov.vn"


def worst_case_seal(seal_key: SealKey) -> bytes:
    """A realistic seal with every field at its realistic maximum size."""
    claims = SealClaims(
        agency_code="000.00.00.G22",
        dossier_code="000.00.14.H49-220301-0012",
        result_no=65_535,
        procedure_code="1.004227",
        signed_at=datetime(2099, 12, 31, 23, 59, 59, tzinfo=VN),
        doc_digest=b"\xff" * 16,
        doc_length=2**32 - 1,
    )
    return encode_seal(claims, seal_key.private, seal_key.kid)


def test_worst_case_fits_qr_version_16_alphanumeric(seal_key: SealKey) -> None:
    seal = worst_case_seal(seal_key)
    url = seal_to_url(seal, WORST_CASE_BASE_URL)
    assert set(url) <= QR_ALPHANUMERIC
    assert qr_version(url) <= 16
    assert seal_from_text(url) == seal
    assert verify_seal(seal_from_text(url), seal_key.keys) == decode_seal(seal).claims


def test_largest_possible_seal_fits_qr_version_16(seal_key: SealKey) -> None:
    """Every code at its longest and every number at its largest: still version 16 at most."""
    claims = SealClaims(
        agency_code="A" * 32,
        dossier_code="~" * 32,
        result_no=2**64 - 1,
        procedure_code="9" * 32,
        signed_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        doc_digest=b"\xff" * 16,
        doc_length=2**64 - 1,
    )
    seal = encode_seal(claims, seal_key.private, seal_key.kid)
    assert qr_version(seal_to_url(seal, WORST_CASE_BASE_URL)) <= 16


def test_qr_version_grows_with_text() -> None:
    assert qr_version("A" * 16) == 1
    assert qr_version("A" * 17) == 2
    assert qr_version("A" * 1000) > qr_version("A" * 100)


def test_module_import_is_the_public_api() -> None:
    import seal as seal_module

    for name in seal_module.__all__:
        assert hasattr(seal_module, name), name
