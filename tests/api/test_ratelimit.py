"""Logins are counted before the check, per name from one address and, leniently, per address."""

from __future__ import annotations

import pytest

from services.api.ratelimit import LoginBusyError, LoginLimiter, LoginRefusedError
from services.api.settings import LoginLimits


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(limiter: LoginLimiter, username: str, client: str, times: int = 1) -> None:
    """Attempts that were reserved and then found wrong."""
    for _ in range(times):
        limiter.reserve(username=username, client=client)


def test_an_attempt_counts_before_its_password_is_checked() -> None:
    limiter = LoginLimiter(LoginLimits(failures=3), clock=Clock())
    for _ in range(3):
        limiter.reserve(username="giulia", client="10.0.0.7")
    with pytest.raises(LoginRefusedError):
        limiter.reserve(username="giulia", client="10.0.0.7")


def test_a_guesser_elsewhere_does_not_lock_the_member_out() -> None:
    limiter = LoginLimiter(LoginLimits(failures=3), clock=Clock())
    fail(limiter, "Giulia", "10.0.0.7", times=3)
    assert limiter.retry_after(username="giulia", client="10.0.0.7") > 0
    assert limiter.retry_after(username="giulia", client="10.0.0.8") == 0


def test_waits_double_with_each_further_failure() -> None:
    clock = Clock()
    limiter = LoginLimiter(LoginLimits(failures=2, backoff_s=10, window_s=60), clock=clock)
    fail(limiter, "marco", "c", times=2)
    assert limiter.retry_after(username="marco", client="c") == 10
    clock.now += 10
    fail(limiter, "marco", "c")
    assert limiter.retry_after(username="marco", client="c") == 20
    clock.now += 20
    fail(limiter, "marco", "c")
    assert limiter.retry_after(username="marco", client="c") == 40


def test_one_member_mistyping_does_not_lock_out_the_workshops_shared_address() -> None:
    limiter = LoginLimiter(LoginLimits(failures=3, client_failures=10), clock=Clock())
    fail(limiter, "marco", "192.0.2.1", times=3)
    assert limiter.retry_after(username="giulia", client="192.0.2.1") == 0
    for name in ("a", "b", "c", "d", "e", "f", "g"):
        fail(limiter, name, "192.0.2.1")
    assert limiter.retry_after(username="giulia", client="192.0.2.1") > 0


def test_a_good_login_clears_the_names_failures_from_that_address() -> None:
    limiter = LoginLimiter(LoginLimits(failures=2), clock=Clock())
    fail(limiter, "sara", "c")
    limiter.succeeded(limiter.reserve(username="sara", client="c"))
    fail(limiter, "sara", "c")
    assert limiter.retry_after(username="sara", client="c") == 0


def test_an_attempt_never_checked_does_not_count() -> None:
    limiter = LoginLimiter(LoginLimits(failures=1), clock=Clock())
    limiter.unchecked(limiter.reserve(username="sara", client="c"))
    assert limiter.retry_after(username="sara", client="c") == 0


def test_a_check_beyond_the_free_slots_is_turned_away() -> None:
    limiter = LoginLimiter(LoginLimits(concurrent_checks=2, check_wait_s=0.01), clock=Clock())
    with (
        limiter.check_slot(),
        limiter.check_slot(),
        pytest.raises(LoginBusyError),
        limiter.check_slot(),
    ):
        pass
    with limiter.check_slot():
        pass
