"""Operators see ingest through /metrics (Prometheus text) and structured log lines."""

from __future__ import annotations

import json
import logging

import httpx

from contract import TopicKind, encode_payload
from harness.influxdb import InfluxDatabase
from harness.mosquitto import MosquittoServer
from services.ingest import Ingest
from services.ingest.logs import JsonFormatter, KeyValueFormatter
from services.ingest.metrics import MetricsServer
from tests.ingest.examples import session_record, telemetry, topic
from tests.ingest.load import Publisher
from tests.ingest.running import ingest_settings
from tests.waiting import eventually

WAIT_S = 10.0


def samples_of(text: str) -> dict[str, float]:
    """Every sample line of a Prometheus text exposition, by name and labels."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def test_metrics_count_messages_in_rejected_written_and_time_batches(
    mosquitto: MosquittoServer, influx_db: InfluxDatabase, sqlite_url: str
) -> None:
    messages = [(topic(TopicKind.TELEMETRY), encode_payload(telemetry(seq))) for seq in range(7)]
    messages += [(topic(TopicKind.SESSIONS), encode_payload(session_record()))]
    messages += [(topic(TopicKind.TELEMETRY), b'{"v":1,"id":"x","ts":1,"seq":1,"amps":-1}')]

    with Ingest(ingest_settings(mosquitto, sqlite_url, influx=influx_db)) as ingest:
        ingest.wait_connected(WAIT_S)
        with MetricsServer(ingest.metrics, port=0) as server:
            with Publisher(mosquitto) as gateway:
                gateway.publish(messages)
            eventually(lambda: ingest.counters.get("rejected", 0) == 1, what="the rejection")
            eventually(lambda: ingest.backlog == 0, what="everything acknowledged")
            response = httpx.get(f"http://127.0.0.1:{server.port}/metrics")
            missing = httpx.get(f"http://127.0.0.1:{server.port}/other")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert missing.status_code == 404
    text = response.text
    assert "# TYPE officina_ingest_batch_seconds histogram" in text
    samples = samples_of(text)
    assert samples["officina_ingest_messages_received_total"] == 9
    assert samples['officina_ingest_messages_rejected_total{field="amps"}'] == 1
    assert samples['officina_ingest_messages_written_total{kind="telemetry"}'] == 7
    assert samples['officina_ingest_messages_written_total{kind="session"}'] == 1
    # Seven samples and the rejected message's point.
    assert samples["officina_ingest_influx_lines_written_total"] == 8
    assert samples["officina_ingest_backlog_messages"] == 0
    assert samples['officina_ingest_store_up{store="influxdb"}'] == 1
    assert samples["officina_ingest_batch_seconds_count"] >= 1
    assert (
        samples['officina_ingest_batch_seconds_bucket{le="+Inf"}']
        == samples["officina_ingest_batch_seconds_count"]
    )
    # Every booked batch went through each stage of its way once.
    assert "# TYPE officina_ingest_batch_stage_seconds summary" in text
    for stage in ("filling", "queued", "ledger", "influxdb", "acknowledging"):
        count = samples[f'officina_ingest_batch_stage_seconds_count{{stage="{stage}"}}']
        assert count == samples["officina_ingest_batch_seconds_count"], stage
        assert samples[f'officina_ingest_batch_stage_seconds_sum{{stage="{stage}"}}'] >= 0


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "services.ingest.booker", logging.WARNING, __file__, 1, message, (), None
    )
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_key_value_logs_quote_what_needs_quoting_and_carry_extra_fields() -> None:
    line = KeyValueFormatter().format(_record('held "5" messages', store="influxdb", held=5))

    assert " level=warning logger=services.ingest.booker " in line
    assert 'msg="held \\"5\\" messages"' in line
    assert line.endswith("store=influxdb held=5")
    assert line.startswith("ts=")


def test_json_logs_are_one_object_per_line() -> None:
    line = JsonFormatter().format(_record("line one\nline two", store="ledger"))

    assert "\n" not in line
    event = json.loads(line)
    assert event["msg"] == "line one\nline two"
    assert (event["level"], event["store"]) == ("warning", "ledger")
