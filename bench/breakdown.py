"""Where one ketqua signature's time goes: wall-clock per stage, averaged over N documents.

Run: ``.venv/bin/python bench/breakdown.py [--docs N]``. Each stage is timed by
wrapping the function that does it, so stages nest (apply_signature contains
prepare_tbs_document, which contains make_qr).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyhanko.sign.signers.pdf_signer as pdf_signer

import signer.document as document
import signer.stamp.appearance as appearance
from keys.devpki import init_keydir
from signer.metadata import parse_metadata
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime, freeze_prepared_state
from tests.pdfs import example_metadata, result_pdf

SPENT: defaultdict[str, float] = defaultdict(float)


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    if asyncio.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def wrapper_async(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                SPENT[name] += time.perf_counter() - start

        return wrapper_async

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.perf_counter() - start

    return wrapper


def instrument() -> None:
    for module, name in (
        (document, "vet_pdf"),
        (document, "apply_signature"),
        (document, "encode_seal"),
        (appearance, "make_qr"),
    ):
        setattr(module, name, timed(name, getattr(module, name)))
    for cls, name in (
        (pdf_signer.PdfSigningSession, "prepare_tbs_document"),
        (pdf_signer.PdfTBSDocument, "digest_tbs_document"),
        (pdf_signer.PdfTBSDocument, "perform_signature"),
    ):
        setattr(cls, name, timed(name, getattr(cls, name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100)
    args = parser.parse_args()
    instrument()
    with tempfile.TemporaryDirectory(prefix="ketqua-breakdown-") as tmp:
        keydir = init_keydir(Path(tmp) / "keys")
        pdf = result_pdf()
        metadata = parse_metadata(json.dumps(example_metadata()))
        with SigningRuntime(RuntimeConfig(KeySource(keydir.root), document.SignOptions())) as rt:
            for _ in range(5):
                rt.sign(pdf, metadata)
            freeze_prepared_state()
            SPENT.clear()
            start = time.perf_counter()
            for _ in range(args.docs):
                rt.sign(pdf, metadata)
            total = (time.perf_counter() - start) / args.docs * 1000
    print(f"total {total:.1f} ms/doc ({1000 / total:.1f} docs/s), input {len(pdf)} bytes")
    for name, seconds in sorted(SPENT.items(), key=lambda item: -item[1]):
        print(f"  {name:24s} {seconds / args.docs * 1000:6.2f} ms")


if __name__ == "__main__":
    main()
