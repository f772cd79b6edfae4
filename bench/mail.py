"""Emails per second to a local SMTP server, connection reuse on and off, in the same run.

The message is what an applicant gets: the signed 1-page result (~165 KB)
attached, built once by ``MessageBuilder``. The server is aiosmtpd in its
own process (``python -m aiosmtpd``, the ``Sink`` handler, which reads the
whole message and drops it), on loopback. ketqua's ``SmtpTransport`` sends
N messages from as many tasks as the service runs (twice the connections),
first with connections kept open across messages (the default), then with
one connection per message (connect, EHLO, MAIL, RCPT, DATA, QUIT).

Run: ``make bench`` (or ``.venv/bin/python bench/mail.py [--messages N]``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import summary  # bench/summary.py, beside this file

from keys.devpki import init_keydir
from registry.ids import new_id
from registry.outbox import message_id
from signer.delivery.message import MessageBuilder, Sender
from signer.delivery.transport import SmtpTransport, SmtpUrl
from signer.document import SignOptions
from signer.metadata import parse_metadata
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime
from tests.pdfs import example_metadata, result_pdf
from tests.test_email import record_of


def signed_message(work: Path) -> tuple[bytes, float]:
    """The message, and the seconds ``MessageBuilder.build`` takes for one (mean of 50)."""
    keydir = init_keydir(work / "keys")
    metadata = parse_metadata(json.dumps(example_metadata()))
    with SigningRuntime(RuntimeConfig(KeySource(keydir.root), SignOptions())) as runtime:
        signed = runtime.sign(result_pdf(), metadata)
    sender = Sender(address="ketqua@vandon.example.vn")
    builder = MessageBuilder(sender)
    record = record_of(signed, metadata)
    started = time.perf_counter()
    for _ in range(50):
        built = builder.build(
            record,
            metadata,
            signed.pdf,
            recipient="an.nguyen@example.vn",
            message_id=message_id(new_id(), sender.domain),
        )
    return built.data, (time.perf_counter() - started) / 50


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_listening(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError("aiosmtpd did not start")


async def rate(port: int, data: bytes, count: int, *, reuse: bool, connections: int) -> float:
    transport = SmtpTransport(
        SmtpUrl("127.0.0.1", port, "none"), timeout=30, connections=connections, reuse=reuse
    )
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            outcome = await transport.send(
                "ketqua@vandon.example.vn", f"r{n}@example.vn", data, f"<{n}@b>"
            )
            assert outcome.reply.startswith("250"), outcome

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections * 2)))
    elapsed = time.perf_counter() - started
    await transport.close(5)
    return count / elapsed


async def measure(
    port: int, count: int, connections: int, data: bytes
) -> tuple[float, float, float]:
    """Messages a second reused and fresh, and the CPU seconds a reused message costs
    this process (the service's share of sending: aiosmtpd has a process of its own)."""
    await wait_listening(port)
    await rate(port, data, 20, reuse=True, connections=connections)  # warm-up
    cpu = time.process_time()
    reused = await rate(port, data, count, reuse=True, connections=connections)
    cpu = (time.process_time() - cpu) / count
    fresh = await rate(port, data, count, reuse=False, connections=connections)
    return reused, fresh, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--connections", type=int, default=2, help="smtp_connections")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ketqua-bench-email-") as tmp:
        data, build_seconds = signed_message(Path(tmp))
    port = free_port()
    sink = "aiosmtpd.handlers.Sink"
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", sink]
    )
    try:
        reused, fresh, cpu = asyncio.run(measure(port, args.messages, args.connections, data))
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"email benchmark: {len(data) // 1024} KB message (signed 1-page PDF attached), "
        f"aiosmtpd Sink on loopback, {args.connections} connections"
    )
    print(f"building one message (templates, MIME, base64): {build_seconds * 1000:.1f} ms")
    print(f"sending one message, CPU of the sending process (reused): {cpu * 1000:.2f} ms")
    print(f"{'contender':40s} {'messages':>8s} {'msgs/s':>8s} {'vs one per message':>20s}")
    print(f"{'one connection per message':40s} {args.messages:8d} {fresh:8.1f} {1.0:19.2f}x")
    summary.record(
        "e-mail: connections reused",
        f"{reused:.1f} msgs/s",
        f"one connection a message {fresh:.1f} msgs/s",
        reused / fresh,
    )
    print(
        f"{'connections reused (default)':40s} {args.messages:8d} {reused:8.1f} "
        f"{reused / fresh:19.2f}x"
    )


if __name__ == "__main__":
    main()
