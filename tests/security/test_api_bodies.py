"""15.2, the api's half: bodies are capped before they are read, and a 422 never echoes input."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import httpx
import pytest

from harness.mosquitto import MosquittoServer
from tests.security.api_process import ApiProcess, api_process
from tests.security.conftest import AttackLog

HUNDRED_MB = 100 * 1024 * 1024
CHUNK = 64 * 1024
SMALL_ANSWER = 2048


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, mosquitto: MosquittoServer
) -> Iterator[ApiProcess]:
    """One api process for the module, on its own SQLite ledger."""
    directory = tmp_path_factory.mktemp("bodies")
    ledger = f"sqlite:///{directory / 'ledger.sqlite3'}"
    with api_process(ledger_url=ledger, broker=mosquitto, log_dir=directory) as running:
        yield running


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def _send_until_answered(sock: socket.socket, head: bytes, chunks: Iterator[bytes]) -> bytes:
    """Send the head and then chunks until the server answers (or stops reading)."""
    sock.sendall(head)
    for chunk in chunks:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            break
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            break
    return _answer(sock)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_hundred_megabyte_login_body_gets_a_small_413(api: ApiProcess, attack: AttackLog) -> None:
    attack.tried("15.2 api body size", "an unauthenticated 100 MB login body (Content-Length)")
    head = (
        f"POST /api/v1/login HTTP/1.1\r\nHost: {api.host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {HUNDRED_MB}\r\n\r\n"
    ).encode()
    body = (b"x" * CHUNK for _ in range(HUNDRED_MB // CHUNK))
    with socket.create_connection((api.host, api.port), timeout=30) as sock:
        answer = _send_until_answered(sock, head + b'{"username": "', body)
    assert _status(answer) == 413
    assert len(answer) < SMALL_ANSWER
    assert httpx.get(f"{api.url}/healthz").status_code == 200
    attack.held(f"413 in {len(answer)} bytes before reading the body; the api still healthy")


def test_a_chunked_body_is_cut_off_once_it_passes_the_cap(
    api: ApiProcess, attack: AttackLog
) -> None:
    attack.tried("15.2 api body size", "a chunked login body without Content-Length, 100 MB")
    head = (
        f"POST /api/v1/login HTTP/1.1\r\nHost: {api.host}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"%x\r\n" % CHUNK + b"y" * CHUNK + b"\r\n"
    with socket.create_connection((api.host, api.port), timeout=30) as sock:
        answer = _send_until_answered(sock, head, (chunk for _ in range(HUNDRED_MB // CHUNK)))
    assert _status(answer) == 413
    assert len(answer) < SMALL_ANSWER
    attack.held("413 once the streamed body passed 1 MiB; nothing more read")


def test_a_validation_error_never_echoes_the_input(api: ApiProcess, attack: AttackLog) -> None:
    attack.tried(
        "15.2 api body size", "a 900 kB user name and a secret-looking password, as 422 bait"
    )
    sent = {"username": "u" * 900_000, "password": 12345, "extra": "hunter2-secret"}
    answer = httpx.post(f"{api.url}/api/v1/login", json=sent, timeout=30)
    assert answer.status_code == 422
    assert len(answer.content) < SMALL_ANSWER
    assert "uuuu" not in answer.text and "12345" not in answer.text
    fields = {tuple(problem["loc"]) for problem in answer.json()["detail"]}
    assert ("body", "password") in fields
    assert all(set(problem) <= {"type", "loc", "msg"} for problem in answer.json()["detail"])
    attack.held(f"422 of {len(answer.content)} bytes naming the fields, without their values")
