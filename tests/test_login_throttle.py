"""Wrong passwords are counted per client and per account; the right desk is never locked out.

``console.throttle.LoginThrottle`` on a clock the test holds, and the
login's ``next`` parameter, which must never lead off the console.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from console import throttle
from console.login import _next
from console.throttle import LoginThrottle


def test_the_tenth_wrong_password_from_a_client_waits_until_the_window_passes() -> None:
    limit = LoginThrottle()
    for n in range(9):
        assert limit.wait("10.0.0.1", "mai.tt", now=n) == 0.0
        limit.failed("10.0.0.1", "mai.tt", now=n)
    wait = limit.wait("10.0.0.1", "mai.tt", now=9)
    assert wait == throttle.WINDOW - 9  # until the first of the nine is 15 minutes old
    assert limit.wait("10.0.0.1", "other.account", now=9) > 0  # per client, any account
    assert limit.wait("10.0.0.2", "mai.tt", now=9) == 0.0  # another desk is not touched
    assert limit.wait("10.0.0.1", "mai.tt", now=throttle.WINDOW + 0.5) == 0.0


def test_an_account_under_attack_refuses_the_guessers_not_a_clean_desk() -> None:
    limit = LoginThrottle()
    for n in range(throttle.ACCOUNT_FAILURES):
        limit.failed(f"10.1.0.{n}", "Mai.TT", now=n)  # one guess each from 20 addresses
    assert limit.wait("10.1.0.3", "mai.tt", now=30) > 0  # guessed wrong: stopped
    assert limit.wait("10.2.0.9", "mai.tt", now=30) == 0.0  # never guessed: may log in
    assert limit.wait("10.1.0.3", "another", now=30) == 0.0  # other accounts: open


def test_the_counts_stay_bounded() -> None:
    limit = LoginThrottle()
    for n in range(throttle.MAX_KEYS + 50):
        limit.failed(f"c{n}", f"a{n}", now=0)
    assert len(limit._clients) <= throttle.MAX_KEYS
    assert len(limit._accounts) <= throttle.MAX_KEYS


def test_after_the_login_only_a_path_of_the_console() -> None:
    for hostile in (
        "//attacker.example/x",
        "https://attacker.example/",
        "/\\attacker.example",
        "javascript:alert(1)",
        "/\t/attacker.example",
        "/\n/attacker.example",
        "/login?next=/login",
        "",
        None,
    ):
        assert _next(hostile) == "/", hostile
    assert _next("/results?state=published") == "/results?state=published"


@given(st.text(max_size=200))
def test_next_never_leaves_the_console(value: str) -> None:
    target = _next(value)
    assert target.startswith("/")
    assert not target.startswith("//")
    assert "\\" not in target
    # as a browser reads it: tabs and newlines dropped
    assert not "".join(c for c in target if c not in "\t\n\r").startswith("//")
