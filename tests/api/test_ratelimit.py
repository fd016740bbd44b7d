"""Failed logins are counted per user name and, more leniently, per client address."""

from __future__ import annotations

from services.api.ratelimit import LoginLimiter
from services.api.settings import LoginLimits


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_name_waits_after_its_failures_until_the_window_passes() -> None:
    clock = Clock()
    limiter = LoginLimiter(LoginLimits(failures=3, window_s=60), clock=clock)
    for _ in range(3):
        limiter.failed(username="Giulia", client="10.0.0.7")
    assert limiter.retry_after(username="giulia", client="10.0.0.8") == 60
    clock.now += 61
    assert limiter.retry_after(username="giulia", client="10.0.0.8") == 0


def test_one_member_mistyping_does_not_lock_out_the_workshops_shared_address() -> None:
    limiter = LoginLimiter(LoginLimits(failures=3, client_failures=10), clock=Clock())
    for _ in range(3):
        limiter.failed(username="marco", client="192.0.2.1")
    assert limiter.retry_after(username="giulia", client="192.0.2.1") == 0
    for name in ("a", "b", "c", "d", "e", "f", "g"):
        limiter.failed(username=name, client="192.0.2.1")
    assert limiter.retry_after(username="giulia", client="192.0.2.1") > 0


def test_a_good_login_clears_the_user_names_failures() -> None:
    limiter = LoginLimiter(LoginLimits(failures=2), clock=Clock())
    limiter.failed(username="sara", client="c")
    limiter.succeeded(username="sara", client="c")
    limiter.failed(username="sara", client="c")
    assert limiter.retry_after(username="sara", client="c") == 0
