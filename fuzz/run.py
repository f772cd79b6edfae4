"""A coverage-guided fuzzing campaign (atheris, libFuzzer) on what reads a stranger's input.

    python fuzz/run.py TARGET [--runs N] [--seconds S]   # one target, in this process
    make fuzz                                            # every target, one after another

Targets: ``seal`` (the scanned text -> the seal's bytes -> COSE/CBOR), ``metadata``
(the JSON a submission carries), ``pdf`` (vetting an upload for signing),
``query`` (the public routes' statistics and listing parameters), ``upload``
(validating a signed PDF, the upload check). Each starts from a corpus of real
inputs (the example result, its metadata, a seal URL) made in a temporary
folder, so the fuzzer mutates what the service really reads. A crash is any
exception other than the one that parser answers with (it would be a 500);
libFuzzer then stops and writes the input beside it (``crash-*``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["seal", "signer", "verifier", "plumbing", "keys"]):
    from keys.devpki import init_keydir
    from plumbing.web.problems import Problem
    from seal import SealError, decode_seal, seal_from_text
    from signer.errors import DocumentError, MetadataError
    from signer.metadata import parse_metadata
    from signer.pdfinput import vet_pdf
    from verifier.listing import parse_filters
    from verifier.statistics import parse_period
    from verifier.validation import validate_upload

from tests.pdfs import example_metadata, result_pdf  # noqa: E402 - after the instrumented ones


def seal_target(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    with contextlib.suppress(SealError):
        decode_seal(seal_from_text(text))


def metadata_target(data: bytes) -> None:
    with contextlib.suppress(MetadataError):
        parse_metadata(data)


def pdf_target(data: bytes) -> None:
    with contextlib.suppress(DocumentError):
        vet_pdf(data)


def query_target(data: bytes) -> None:
    fields = data.decode("utf-8", errors="replace").split("&")
    query = dict(f.partition("=")[::2] for f in fields)
    for parse in (parse_period, parse_filters):
        try:
            parse(query)
        except Problem as problem:
            if problem.status != 400:
                raise


def upload_target(trust: bytes) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        validate_upload(data, trust, max_pages=20)  # answers Refused, never raises

    return check


def corpus(target: str, folder: Path, signed: bytes | None) -> None:
    seeds: dict[str, list[bytes]] = {
        "seal": [b"HTTPS://KETQUA.EXAMPLE.VN/V/2KCEHIIBE2QQISBMB3SSBMNRQUGFQVVHAFWTAMBQ"],
        "metadata": [json.dumps(example_metadata(), ensure_ascii=False).encode()],
        "pdf": [result_pdf()],
        "query": [b"period=2022-Q1", b"from=2022-01-01&to=2022-03-31&agency=000.00.14.H49"],
        "upload": [signed or b""],
    }
    for number, seed in enumerate(seeds[target]):
        (folder / f"seed-{number}").write_bytes(seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("target", choices=["seal", "metadata", "pdf", "query", "upload"])
    parser.add_argument("--runs", type=int, default=100_000, help="inputs to try")
    parser.add_argument("--seconds", type=int, default=600, help="at most this long")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix=f"ketqua-fuzz-{args.target}-"))
    signed = None
    if args.target == "upload":
        signed = _signed_example(work / "keys")
    seeds = work / "corpus"
    seeds.mkdir()
    corpus(args.target, seeds, signed)
    targets: dict[str, Callable[[bytes], None]] = {
        "seal": seal_target,
        "metadata": metadata_target,
        "pdf": pdf_target,
        "query": query_target,
    }
    if args.target == "upload":
        targets["upload"] = upload_target(
            (work / "keys" / "public" / "trust-list.json").read_bytes()
        )
    argv = [
        sys.argv[0],
        str(seeds),
        f"-runs={args.runs}",
        f"-max_total_time={args.seconds}",
        f"-artifact_prefix={work}/",
        "-max_len=200000" if args.target in ("pdf", "upload") else "-max_len=4096",
        "-print_final_stats=1",
    ]
    print(f"fuzzing {args.target}: {args.runs} runs at most, {args.seconds} s at most; in {work}")
    atheris.Setup(argv, targets[args.target])
    atheris.Fuzz()


def _signed_example(keys: Path) -> bytes:
    from signer.document import SignOptions
    from signer.runtime import KeySource, RuntimeConfig, SigningRuntime

    init_keydir(keys)
    config = RuntimeConfig(KeySource(keys), SignOptions(public_url="https://ketqua.example.vn"))
    with SigningRuntime(config) as runtime:
        return runtime.sign(result_pdf(), parse_metadata(json.dumps(example_metadata()))).pdf


if __name__ == "__main__":
    main()
