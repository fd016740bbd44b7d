"""15.3: a login cannot be raced past its limit, nor exhaust the api, nor lock a member out."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from harness.mosquitto import MosquittoServer
from services.api.security import PasswordCost
from services.api.settings import LoginLimits
from tests.security.api_process import (
    PASSWORD,
    ApiProcess,
    add_login,
    api_process,
    peak_memory_kib,
)
from tests.security.conftest import AttackLog

GUESSES = 30
LIMIT = LoginLimits().failures
OTHER_ADDRESS = "127.0.0.2"
CHECK_KIB = PasswordCost().memory_kib


def _login(
    api: ApiProcess,
    password: str,
    *,
    username: str = "giulia",
    headers: dict[str, str] | None = None,
    source: str | None = None,
) -> httpx.Response:
    """One login as giulia, from the given source address and with the given headers."""
    transport = httpx.HTTPTransport(local_address=source) if source else None
    with httpx.Client(transport=transport, timeout=60) as client:
        return client.post(
            f"{api.url}/api/v1/login",
            json={"username": username, "password": password},
            headers=headers or {},
        )


def _ledger(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    add_login(url, "giulia")
    return url


def test_thirty_parallel_guesses_get_at_most_the_limit_checked(
    tmp_path: Path, mosquitto: MosquittoServer, attack: AttackLog
) -> None:
    ledger = _ledger(tmp_path)
    with api_process(ledger_url=ledger, broker=mosquitto, log_dir=tmp_path) as api:
        attack.tried("15.3 login race", f"{GUESSES} parallel wrong passwords for one member")
        with ThreadPoolExecutor(GUESSES) as pool:
            answers = list(pool.map(lambda n: _login(api, f"guess-{n}"), range(GUESSES)))
        statuses = Counter(answer.status_code for answer in answers)
        assert set(statuses) <= {401, 429, 503}, statuses
        assert statuses[401] <= LIMIT, statuses
        assert all("Retry-After" in a.headers for a in answers if a.status_code in {429, 503})
        attack.held(f"checked {statuses[401]} of {GUESSES} (limit {LIMIT}); the rest {statuses}")

        attack.tried("15.3 login race", "the guesser's X-Forwarded-For claims another address")
        spoofed = _login(api, PASSWORD, headers={"X-Forwarded-For": "198.51.100.7"})
        assert spoofed.status_code == 429
        attack.held("no proxy is trusted by default: the header was ignored, still refused")

        attack.tried("15.3 login race", "the member logs in from another address meanwhile")
        member = _login(api, PASSWORD, source=OTHER_ADDRESS)
        assert member.status_code == 200, member.text
        attack.held("the right password from another address logs in: no lock-out for everyone")


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(
    tmp_path: Path, mosquitto: MosquittoServer, attack: AttackLog
) -> None:
    ledger = _ledger(tmp_path)
    extra = ["--trusted-proxy", "127.0.0.1"]
    with api_process(ledger_url=ledger, broker=mosquitto, log_dir=tmp_path, extra=extra) as api:
        attack.tried(
            "15.3 login race", "guesses through a trusted proxy, then the member through it"
        )
        guesser = {"X-Forwarded-For": "203.0.113.5"}
        for n in range(LIMIT):
            assert _login(api, f"guess-{n}", headers=guesser).status_code == 401
        assert _login(api, PASSWORD, headers=guesser).status_code == 429
        # A client's own forged hop, left of what the proxy appended, changes nothing.
        forged = {"X-Forwarded-For": "192.0.2.99, 203.0.113.5"}
        assert _login(api, PASSWORD, headers=forged).status_code == 429
        member = _login(api, PASSWORD, headers={"X-Forwarded-For": "203.0.113.6"})
        assert member.status_code == 200, member.text
        attack.held("the proxy's address for each client counted; a forged hop was ignored")


def test_parallel_logins_for_many_names_hash_few_at_once(
    tmp_path: Path, mosquitto: MosquittoServer, attack: AttackLog
) -> None:
    ledger = _ledger(tmp_path)
    with api_process(ledger_url=ledger, broker=mosquitto, log_dir=tmp_path) as api:
        # One check first, so the baseline holds an Argon2 check's memory once.
        assert _login(api, "warm-up", username="nobody").status_code == 401
        baseline = peak_memory_kib(api.pid)
        attack.tried("15.3 login race", f"{GUESSES} parallel logins, each for another name")
        with ThreadPoolExecutor(GUESSES) as pool:
            answers = list(
                pool.map(lambda n: _login(api, "guess", username=f"name-{n}"), range(GUESSES))
            )
        statuses = Counter(answer.status_code for answer in answers)
        # 429 once the address passes its own limit (the warm-up counted too).
        assert set(statuses) <= {401, 429, 503}, statuses
        assert all("Retry-After" in a.headers for a in answers if a.status_code == 503)
        grown = peak_memory_kib(api.pid) - baseline
        # Two checks at once, and a margin: thirty at once would have taken 30 x 64 MB.
        assert grown < 4 * CHECK_KIB, f"peak memory grew by {grown} KiB"
        attack.held(
            f"peak memory grew {grown // 1024} MB, not {GUESSES * CHECK_KIB // 1024}; {statuses}"
        )
