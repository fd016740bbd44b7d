"""The harness's process handling: free ports, deadlines, and failures that explain themselves."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness import (
    InfluxServer,
    MissingServerError,
    MosquittoServer,
    NotReadyError,
    ServerStartError,
    free_port,
    wait_for_port,
)
from harness.process import find_binary


def test_free_port_can_be_listened_on() -> None:
    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        wait_for_port("127.0.0.1", port, timeout=5)


def test_wait_for_port_gives_up_at_its_deadline() -> None:
    with pytest.raises(NotReadyError, match=r"not ready after 0.2 s"):
        wait_for_port("127.0.0.1", free_port(), timeout=0.2)


def test_missing_server_names_the_command_that_installs_it() -> None:
    with pytest.raises(MissingServerError) as missing:
        find_binary("officina-no-such-server", package="officina-no-such-package")
    assert "sudo apt-get install -y --no-install-recommends officina-no-such-package" in str(
        missing.value
    )


def test_broker_that_cannot_start_reports_the_tail_of_its_log(tmp_path: Path) -> None:
    broker = MosquittoServer(workdir=tmp_path)
    broker.config_path.write_text("listener not-a-port\n")
    try:
        with pytest.raises(ServerStartError) as failed:
            broker.start()
    finally:
        broker.stop()
    assert "exited with status" in str(failed.value)
    assert "Error" in str(failed.value)
    assert not broker.running


def test_broker_whose_port_is_taken_says_so(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        broker = MosquittoServer(workdir=tmp_path, port=squatter.getsockname()[1])
        try:
            with pytest.raises(ServerStartError) as failed:
                broker.start()
        finally:
            broker.stop()
    assert failed.value.port_taken


def test_influxdb_whose_port_is_taken_says_so(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        server = InfluxServer(workdir=tmp_path, database="x", port=squatter.getsockname()[1])
        try:
            with pytest.raises(ServerStartError) as failed:
                server.start()
        finally:
            server.stop()
    assert failed.value.port_taken
