"""``ketqua sign DIR -o OUTDIR``: every ``X.pdf`` with its ``X.json`` beside it, over all cores.

Each worker process builds its own ``SigningRuntime`` once (keys, fonts) and
signs many files; one bad file is reported and the batch goes on.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from plumbing.errors import InputError, KetquaError
from plumbing.files import write_atomic
from signer.metadata import parse_metadata
from signer.pdfinput import read_pdf
from signer.runtime import RuntimeConfig, SigningRuntime, freeze_prepared_state
from signer.stamp.font import BOLD, REGULAR, prepare_font

_runtime: SigningRuntime | None = None


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """One input file's fate: the output path, or the reason it failed."""

    source: Path
    output: Path | None
    error: str | None = None


def find_inputs(indir: Path) -> list[Path]:
    """The PDFs to sign; earlier outputs (``*.signed.pdf``) are never inputs."""
    return sorted(
        p
        for p in indir.iterdir()
        if p.suffix.lower() == ".pdf"
        and not p.name.lower().endswith(".signed.pdf")
        and p.is_file()
    )


def output_path(pdf: Path, outdir: Path) -> Path:
    return outdir / f"{pdf.stem}.signed.pdf"


def sign_file(runtime: SigningRuntime, pdf: Path, out: Path, metadata_path: Path) -> FileOutcome:
    """Sign one file; a bad input becomes an outcome with its reason, never a crash."""
    try:
        try:
            metadata_bytes = metadata_path.read_bytes()
        except FileNotFoundError as exc:
            raise KetquaError(f"no metadata file {metadata_path.name} beside it") from exc
        except OSError as exc:
            raise KetquaError(f"cannot read {metadata_path.name}: {exc.strerror}") from exc
        metadata = parse_metadata(metadata_bytes)
        data = read_pdf(pdf, max_bytes=runtime.config.options.max_bytes)
        result = runtime.sign(data, metadata)
        try:
            write_atomic(out, result.pdf)
        except OSError as exc:
            raise KetquaError(f"cannot write {out}: {exc.strerror}") from exc
    except KetquaError as exc:
        return FileOutcome(pdf, None, str(exc))
    return FileOutcome(pdf, out)


def _init_worker(config: RuntimeConfig) -> None:
    global _runtime
    _runtime = SigningRuntime(config)
    freeze_prepared_state()


def _work(pdf: Path, out: Path) -> FileOutcome:
    assert _runtime is not None
    return sign_file(_runtime, pdf, out, pdf.with_suffix(".json"))


def sign_folder(
    indir: Path,
    outdir: Path,
    config: RuntimeConfig,
    *,
    jobs: int | None = None,
    on_done: Callable[[FileOutcome], None] | None = None,
) -> list[FileOutcome]:
    """Sign every PDF in ``indir`` into ``outdir``; outcomes in input order."""
    if jobs is not None and jobs < 1:
        raise InputError("must be at least 1", field="jobs")
    inputs = find_inputs(indir)
    outdir.mkdir(parents=True, exist_ok=True)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(inputs) or 1))
    outcomes: dict[Path, FileOutcome] = {}
    # X.pdf and X.PDF would write one output: sign the first, refuse the others
    claimed: dict[str, Path] = {}
    for pdf in inputs:
        key = str(output_path(pdf, outdir)).lower()
        if key in claimed:
            outcomes[pdf] = FileOutcome(
                pdf, None, f"same output name as {claimed[key].name}; rename one of them"
            )
        else:
            claimed[key] = pdf
    todo = [pdf for pdf in inputs if pdf not in outcomes]
    if on_done is not None:
        for refused in list(outcomes.values()):
            on_done(refused)
    # prepared in the parent, so forked workers inherit the subset fonts
    prepare_font(REGULAR)
    prepare_font(BOLD)
    # A PKCS#11 module initialised in this process must not be inherited by a
    # fork: the standard leaves that undefined and real token drivers hang.
    # Workers of a token run start fresh (spawn) and initialise their own.
    context = multiprocessing.get_context("spawn" if config.keys.token else "fork")
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(config,), mp_context=context
    ) as pool:
        futures: dict[Future[FileOutcome], Path] = {
            pool.submit(_work, pdf, output_path(pdf, outdir)): pdf for pdf in todo
        }
        for future in as_completed(futures):
            pdf = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # a worker that could not start (e.g. keys)
                outcome = FileOutcome(pdf, None, f"{type(exc).__name__}: {exc}")
            outcomes[pdf] = outcome
            if on_done is not None:
                on_done(outcome)
    return [outcomes[pdf] for pdf in inputs]
