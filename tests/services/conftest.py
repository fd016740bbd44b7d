"""Ingest subscribes to every site, so each of its tests gets a broker of its own."""

from __future__ import annotations

import pytest

from tests.harness.mosquitto import MosquittoServer
from tests.harness.plugin import MosquittoFactory


@pytest.fixture
def mosquitto(mosquitto_factory: MosquittoFactory) -> MosquittoServer:
    """A fresh broker: no retained state or machine messages left by other tests."""
    return mosquitto_factory()
