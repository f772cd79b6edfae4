"""Counting wrong access codes and telling clients apart (the units behind the portal's lookup)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from plumbing.web.security import ClientAddress
from verifier.guesses import Guesses


def test_a_client_that_guesses_waits_and_no_one_else_does() -> None:
    guesses = Guesses(per_client=10, refill=360)
    for _ in range(10):
        assert guesses.wait("198.51.100.1", now=0) == 0
        guesses.failed("198.51.100.1", "000.00.14.H49-220301-0012", now=0)
    assert guesses.wait("198.51.100.1", now=0) == pytest.approx(360)
    assert guesses.wait("198.51.100.2", now=0) == 0  # the applicant, elsewhere
    assert guesses.wait("198.51.100.1", now=360) == 0  # one more try after 6 minutes


def test_a_right_code_forgives_the_client() -> None:
    guesses = Guesses(per_client=3, refill=360)
    for _ in range(2):
        guesses.failed("a", "d", now=0)
    guesses.succeeded("a")
    assert guesses.clients == 0


def test_the_overall_budget_stops_guessers_not_the_applicant() -> None:
    guesses = Guesses(per_client=10, refill=360, overall_per_hour=100, overall_burst=20)
    for n in range(20):  # twenty addresses, one wrong code each: the budget is spent
        guesses.failed(f"10.0.0.{n}", "d", now=0)
    assert guesses.wait("10.0.0.1", now=0) > 0  # a client that guessed wrong waits
    assert guesses.wait("192.0.2.7", now=0) == 0  # a client that did not is answered
    assert guesses.wait("10.0.0.1", now=36) == 0  # the budget refills (100 an hour)


def test_the_tables_are_bounded_and_forget() -> None:
    guesses = Guesses(per_client=10, refill=1, max_clients=100)
    for n in range(1000):
        guesses.failed(f"client-{n}", f"dossier-{n}", now=0)
    assert guesses.clients == 100  # the oldest went first
    guesses.failed("late", "d", now=100)  # a minute later a sweep forgets the refilled
    assert guesses.clients == 1


def request(peer: str, forwarded: str | None = None) -> object:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    mocked = make_mocked_request("GET", "/tra-cuu/x", headers=headers)
    mocked._transport_peername = (peer, 40000)  # what aiohttp reads request.remote from
    return mocked


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("203.0.113.5", None, [], "203.0.113.5"),
        ("203.0.113.5", "198.51.100.1", [], "203.0.113.5"),  # not a proxy: not believed
        ("10.0.0.2", "203.0.113.99, 198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),
        ("2001:db8:1:2:3:4:5:6", None, [], "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", None, [], "2001:db8:1:2::/64"),  # the same /64: one client
        ("::ffff:198.51.100.7", None, [], "198.51.100.7"),
    ],
)
def test_who_a_request_comes_from(
    peer: str, forwarded: str | None, trusted: list[str], client: str
) -> None:
    assert ClientAddress(trusted).of(request(peer, forwarded)) == client  # type: ignore[arg-type]
