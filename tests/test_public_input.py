"""Property-based tests of what reads a stranger's input: it answers or refuses, never breaks.

Each parser that public input reaches gets arbitrary values and mutations of
real inputs (hypothesis, seeded: the same inputs every run). The property is
the contract every edge relies on: a value, or the error that edge turns
into a 4xx (``Problem``, ``MetadataError``, ``SealError``, ``DocumentError``,
``Refused``), and nothing else: any other exception would be a 500.
``make fuzz`` runs the byte-level parsers for much longer under a
coverage-guided fuzzer (``fuzz/``).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keys.keydir import KeyDir
from plumbing.web.multipart import read_parts
from plumbing.web.problems import Problem, problems_middleware
from registry.listing import Filters
from seal import SealError, decode_seal, seal_from_text
from signer.document import SignedResult
from signer.errors import DocumentError, MetadataError
from signer.metadata import ResultMetadata, parse_metadata
from signer.pdfinput import vet_pdf
from tests.pdfs import example_metadata
from verifier.listing import parse_filters
from verifier.query import Days
from verifier.statistics import parse_period
from verifier.validation import Refused, UploadCheck, validate_upload

T = TypeVar("T")

# a seeded, short run in the suite; KETQUA_FUZZ_EXAMPLES=N for a longer one
EXAMPLES = int(os.environ.get("KETQUA_FUZZ_EXAMPLES", "200"))
SEEDED = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# what a query string may hold: any text, and text near the shapes the routes expect
TEXT = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"-?\d{1,6}(-\d{1,3}){0,2}", fullmatch=True),
    st.from_regex(r"\d{4}(-Q\d|-\d{2})?", fullmatch=True),
    st.dates().map(lambda d: d.isoformat()),
)
QUERY = st.dictionaries(
    st.sampled_from(["period", "from", "to", "agency", "procedure", "limit", "before", "x"]),
    TEXT,
    max_size=5,
)


def attempt(call: Callable[[], T], *refusals: type[Exception]) -> T | Exception:
    """What ``call`` returns, or the refusal it raised (any other exception propagates)."""
    try:
        return call()
    except refusals as exc:
        return exc


@given(QUERY)
@SEEDED
def test_any_statistics_query_is_a_period_or_a_400(query: dict[str, str]) -> None:
    period = attempt(lambda: parse_period(query), Problem)
    if isinstance(period, Problem):
        assert period.status == 400
        assert period.field in ("period", "from", "to")
        return
    assert isinstance(period, Days)
    start, end = period.bounds  # the arithmetic a query does with it
    assert start < end


@given(QUERY)
@SEEDED
def test_any_listing_query_is_filters_or_a_400(query: dict[str, str]) -> None:
    filters = attempt(lambda: parse_filters(query), Problem)
    if isinstance(filters, Problem):
        assert filters.status == 400
        assert filters.field in ("from", "to", "agency", "procedure")
        return
    assert isinstance(filters, Filters)
    if filters.start is not None and filters.end is not None:
        assert filters.start < filters.end


@given(st.text(max_size=300))
@SEEDED
def test_any_scanned_text_is_a_seal_or_refused(text: str) -> None:
    attempt(lambda: decode_seal(seal_from_text(text)), SealError)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
FIELDS = list(example_metadata())


@given(st.data())
@SEEDED
def test_any_metadata_is_parsed_or_refused_naming_a_field(data: st.DataObject) -> None:
    """Whole documents of any JSON, and the example with one field replaced by anything."""
    if data.draw(st.booleans()):
        raw: bytes | str = data.draw(st.binary(max_size=200) | st.text(max_size=200))
    else:
        changed = dict(example_metadata())
        changed[data.draw(st.sampled_from(FIELDS))] = data.draw(JSON)
        raw = json.dumps(changed)
    parsed = attempt(lambda: parse_metadata(raw), MetadataError)
    if isinstance(parsed, MetadataError):
        assert parsed.field
        assert "\n" not in parsed.message
        return
    assert isinstance(parsed, ResultMetadata)


def mutations(original: bytes) -> st.SearchStrategy[bytes]:
    """A real PDF, changed as a fuzzer would: bytes flipped, cut, spliced, repeated."""
    size = len(original)

    def flip(spots: list[tuple[int, int]]) -> bytes:
        out = bytearray(original)
        for position, value in spots:
            out[position % size] = value
        return bytes(out)

    spot = st.tuples(st.integers(0, size - 1), st.integers(0, 255))
    return st.one_of(
        st.lists(spot, min_size=1, max_size=8).map(flip),
        st.integers(0, size).map(lambda end: original[:end]),
        st.tuples(st.integers(0, size), st.binary(min_size=1, max_size=64)).map(
            lambda cut: original[: cut[0]] + cut[1] + original[cut[0] :]
        ),
        st.tuples(st.integers(0, size), st.integers(0, size)).map(
            lambda span: original + original[min(span) : max(span)]
        ),
    )


@given(st.data())
@SEEDED
def test_a_mutated_pdf_is_vetted_or_refused(example_pdf: bytes, data: st.DataObject) -> None:
    mutated = data.draw(mutations(example_pdf))
    vetted = attempt(lambda: vet_pdf(mutated), DocumentError)
    if isinstance(vetted, DocumentError):
        assert "\n" not in vetted.message


@given(st.data())
@settings(SEEDED, max_examples=max(20, EXAMPLES // 10))  # each check renders a page: ~70 ms
def test_a_mutated_signed_pdf_is_checked_or_refused(
    signed: SignedResult, keydir: KeyDir, data: st.DataObject
) -> None:
    trust = keydir.trust_list.read_bytes()
    checked = validate_upload(data.draw(mutations(signed.pdf)), trust, max_pages=50)
    assert isinstance(checked, UploadCheck | Refused)


# the multipart reader, through a real HTTP server on loopback


async def echo_parts(request: web.Request) -> web.Response:
    parts = await read_parts(request, {"metadata": 4096, "document": 65536}, expected="parts")
    return web.json_response({name: len(value) for name, value in parts.items()})


@pytest.fixture
async def multipart_server() -> AsyncIterator[TestServer]:
    app = web.Application(middlewares=[problems_middleware])
    app.router.add_post("/", echo_parts)
    server = TestServer(app)
    await server.start_server()
    yield server
    await server.close()


NAME = st.one_of(
    st.sampled_from(["metadata", "document", "", "x"]), st.text(min_size=1, max_size=12)
)


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    boundary = draw(st.sampled_from(["b0undary", "----x", "a" * 70]))
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(NAME)
        header = draw(
            st.sampled_from(
                [
                    f'Content-Disposition: form-data; name="{name}"',
                    f'Content-Disposition: form-data; name="{name}"; filename="{name}.pdf"',
                    f"Content-Disposition: {name}",
                    name,
                ]
            )
        )
        body = draw(st.binary(max_size=300))
        parts.append(f"--{boundary}\r\n{header}\r\n\r\n".encode(errors="surrogatepass") + body)
    ending = draw(st.sampled_from([f"\r\n--{boundary}--\r\n", "", f"\r\n--{boundary}"]))
    raw = b"\r\n".join(parts) + ending.encode()
    if draw(st.booleans()):
        raw = draw(st.binary(max_size=200)) + raw
    media = draw(
        st.sampled_from(
            [
                f"multipart/form-data; boundary={boundary}",
                "multipart/form-data",
                "multipart/mixed; boundary=x",
                "application/pdf",
                f'multipart/form-data; boundary="{boundary}"; charset=x',
            ]
        )
    )
    return media, raw


# aiohttp warns about a malformed Content-Disposition (the part then has no name, and the
# reader refuses it with a 400); in the service that warning is one log line, not an error
@pytest.mark.filterwarnings("ignore::aiohttp.multipart.BadContentDispositionHeader")
@given(multipart_bodies())
@settings(SEEDED, max_examples=max(50, EXAMPLES // 2))
async def test_any_multipart_body_is_read_or_refused_with_a_4xx(
    multipart_server: TestServer, body: tuple[str, bytes]
) -> None:
    media, raw = body
    headers = {"Content-Type": media}
    async with (
        aiohttp.ClientSession() as session,
        session.post(multipart_server.make_url("/"), data=raw, headers=headers) as response,
    ):
        assert response.status in (200, 400, 413, 415), await response.text()
