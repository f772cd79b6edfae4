"""The image's HEALTHCHECK: GET /healthz of each ketqua service listening in this container.

The role (`serve --role signer|verifier|both`) is not known here, so both ports are tried
(KETQUA_SIGNER_LISTEN, KETQUA_VERIFIER_LISTEN): healthy when at least one answers and every
one that answers says 200; a refused connection means that role does not run here. The
signer's /healthz checks the database and makes a real signature with the key (at most every
30 s); the verifier's checks the database. Standard library only (no curl in the image).
Exit 0 healthy, 1 unhealthy, as Docker and podman expect.
"""

import os
import sys
import urllib.error
import urllib.request

TIMEOUT = 15.0  # the signer's key check may take up to 10 s


def probe(listen: str) -> str | None:
    """None: nothing listens there; else 'ok' or what went wrong."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 (a wildcard listen: ask on loopback)
        host = "127.0.0.1" if host != "::" else "::1"
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
            return "ok" if answer.status == 200 else f"{url}: HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        body = exc.read(500).decode("utf-8", "replace")
        return f"{url}: HTTP {exc.code} {body}"
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            return None
        return f"{url}: {exc.reason}"
    except OSError as exc:
        return f"{url}: {exc}"


def main() -> int:
    listens = {
        "signer": os.environ.get("KETQUA_SIGNER_LISTEN", "127.0.0.1:8081"),
        "verifier": os.environ.get("KETQUA_VERIFIER_LISTEN", "0.0.0.0:8080"),
    }
    answers = {name: probe(listen) for name, listen in listens.items()}
    running = {name: answer for name, answer in answers.items() if answer is not None}
    if not running:
        print("unhealthy: no ketqua service answers on", ", ".join(listens.values()))
        return 1
    failing = {name: answer for name, answer in running.items() if answer != "ok"}
    for name, answer in failing.items():
        print(f"unhealthy: {name}: {answer}")
    if not failing:
        print("healthy:", ", ".join(sorted(running)))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
