"""Gateway statuses and rejected messages become points in InfluxDB, once each.

A real ingest reads them from a real Mosquitto and writes to a real InfluxDB.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract import GatewayStatus, GatewayStatusValue, GatewayTopic, TopicKind, encode_payload
from harness.influxdb import InfluxDatabase
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.ingest import Ingest
from services.ingest.rejections import UNKNOWN, RejectedTimes, rejected_tags
from services.ingest.schema import (
    TELEMETRY,
    gateway_series,
    gateway_status_line,
    gateway_status_point,
    rejected_line,
    rejected_point,
)
from tests.ingest.examples import SITE, telemetry, topic
from tests.ingest.running import ingest_settings

WAIT_S = 10.0
GATEWAY = "gw-hall-a"
STATUS_TOPIC = str(GatewayTopic(SITE, GATEWAY))


@pytest.fixture
def ingest(
    mosquitto: MosquittoServer, sqlite_url: str, influx_db: InfluxDatabase
) -> Iterator[Ingest]:
    settings = ingest_settings(mosquitto, sqlite_url, influx=influx_db)
    with Ingest(settings) as running:
        running.wait_connected(WAIT_S)
        yield running


@pytest.fixture
def gateway(mosquitto: MosquittoServer) -> Iterator[MqttProbe]:
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as probe:
        yield probe


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def status(
    value: GatewayStatusValue = GatewayStatusValue.ONLINE,
    *,
    ts: int,
    spool: int | None = None,
    oldest_s: float | None = None,
) -> GatewayStatus:
    return GatewayStatus(
        id=f"{GATEWAY}-{value}-{ts}",
        ts=ts,
        status=value,
        version="0.4.0",
        machines=("lathe-1", "mill-1"),
        spool=spool,
        spool_oldest_s=oldest_s,
    )


def status_rows(influx: InfluxDatabase) -> list[dict[str, object]]:
    answer = influx.query(
        'SELECT "status", "online", "machines", "spool", "spool_oldest_s" FROM "gateway_status" '
        f"WHERE \"site\" = '{SITE}' AND \"gateway\" = '{GATEWAY}'"
    )
    return answer[0].rows() if answer else []


def rejected_counts(influx: InfluxDatabase) -> dict[tuple[str, str], float]:
    answer = influx.query('SELECT sum("count") AS "n" FROM "rejected" GROUP BY "site", "kind"')
    return {(s.tags["site"], s.tags["kind"]): float(str(s.rows()[0]["n"])) for s in answer}


def test_a_status_is_a_point_at_its_ts_and_a_redelivery_overwrites_it(
    ingest: Ingest, gateway: MqttProbe, influx_db: InfluxDatabase
) -> None:
    ts = now_ms() - 60_000
    online = encode_payload(status(ts=ts, spool=7, oldest_s=12.5))
    gateway.publish(STATUS_TOPIC, online)
    gateway.publish(STATUS_TOPIC, online)
    # From a gateway that predates the spool fields: still a status.
    gateway.publish(STATUS_TOPIC, encode_payload(status(ts=ts + 60_000)))

    assert ingest.wait_for_count("gateway_status", 3, WAIT_S)
    assert status_rows(influx_db) == [
        {
            "time": ts,
            "status": "online",
            "online": 1.0,
            "machines": 2.0,
            "spool": 7.0,
            "spool_oldest_s": 12.5,
        },
        {
            "time": ts + 60_000,
            "status": "online",
            "online": 1.0,
            "machines": 2.0,
            "spool": None,
            "spool_oldest_s": None,
        },
    ]
    [keys] = influx_db.query('SHOW TAG KEYS FROM "gateway_status"')
    assert sorted(str(row["tagKey"]) for row in keys.rows()) == ["gateway", "site"]


def test_a_last_will_is_placed_when_it_comes_and_a_goodbye_at_its_ts(
    ingest: Ingest, gateway: MqttProbe, influx_db: InfluxDatabase
) -> None:
    connected_ms = now_ms() - 3_600_000  # a will is made when the gateway connects
    goodbye_ms = now_ms() - 120_000
    gateway.publish(
        STATUS_TOPIC, encode_payload(status(GatewayStatusValue.OFFLINE, ts=goodbye_ms, spool=3))
    )
    before = now_ms()
    gateway.publish(
        STATUS_TOPIC, encode_payload(status(GatewayStatusValue.OFFLINE, ts=connected_ms))
    )
    assert ingest.wait_for_count("gateway_status", 2, WAIT_S)
    after = now_ms()

    goodbye, will = status_rows(influx_db)
    assert (goodbye["time"], goodbye["online"], goodbye["spool"]) == (goodbye_ms, 0.0, 3.0)
    assert before <= int(str(will["time"])) <= after
    assert (will["status"], will["online"], will["spool"]) == ("offline", 0.0, None)


@pytest.mark.parametrize(
    "spool", [-1, "x", 2.5, True], ids=["negative", "a-word", "fractional", "a-bool"]
)
def test_a_status_with_a_bad_spool_is_dead_lettered_counted_and_shown_as_rejected(
    ingest: Ingest, gateway: MqttProbe, influx_db: InfluxDatabase, spool: object
) -> None:
    ts = now_ms() - 30_000
    bad = json.loads(encode_payload(status(ts=ts)))
    bad["spool"] = spool
    raw = json.dumps(bad).encode()
    gateway.publish(STATUS_TOPIC, raw)
    gateway.publish(STATUS_TOPIC, encode_payload(status(ts=ts + 1000, spool=4)))

    assert ingest.wait_for_count("gateway_status", 1, WAIT_S)
    assert ingest.wait_for_count("rejected", 1, WAIT_S)
    assert ingest.counters["rejected.spool"] == 1
    [letter] = ingest.ledger.dead_letters()
    assert (letter.topic, letter.raw, letter.field) == (STATUS_TOPIC, raw, "spool")
    assert rejected_counts(influx_db) == {(SITE, "status"): 1.0}
    [point] = influx_db.query('SELECT "count" FROM "rejected"')[0].rows()
    assert point["time"] == ts  # its own ts: delivered again, it lands on the same point
    [row] = status_rows(influx_db)
    assert (row["time"], row["spool"]) == (ts + 1000, 4.0)


def test_rejected_messages_count_once_each_per_site_and_kind(
    ingest: Ingest, gateway: MqttProbe, influx_db: InfluxDatabase
) -> None:
    ts = now_ms() - 10_000
    negative = json.loads(encode_payload(telemetry(0, ts=ts)))
    negative["amps"] = -1.0
    # The same millisecond on two machines of one site: two messages, two counts.
    lathe = json.dumps(negative).encode()
    mill = json.dumps(negative | {"id": "t-mill"}).encode()
    before = now_ms()
    sent = [
        (topic(TopicKind.TELEMETRY), lathe),
        (topic(TopicKind.TELEMETRY, machine="mill-1"), mill),
        (topic(TopicKind.TELEMETRY), lathe),  # the same message again: it counts once
        ("officina/v1/Officina_Nord/machines/lathe-1/telemetry", lathe),
        (f"officina/v1/{SITE}/machines/lathe-1/gossip", b"{}"),
        (topic(TopicKind.SESSIONS), b"\x00\xffnot json"),
        (f"officina/v1/{SITE}/gateways/{GATEWAY}/status", b'{"v":1,"id":"s","ts":"soon"}'),
    ]
    for name, raw in sent:
        gateway.publish(name, raw)
    gateway.publish(topic(TopicKind.TELEMETRY), encode_payload(telemetry(1, ts=ts)))

    assert ingest.wait_for_count("telemetry", 1, WAIT_S)
    assert ingest.wait_for_count("rejected", len(sent), WAIT_S)
    after = now_ms()
    assert len(ingest.ledger.dead_letters()) == len(sent)
    assert rejected_counts(influx_db) == {
        (SITE, "telemetry"): 2.0,
        (UNKNOWN, "telemetry"): 1.0,
        (SITE, UNKNOWN): 1.0,
        (SITE, "sessions"): 1.0,
        (SITE, "status"): 1.0,
    }
    # Without a ts of its own, a rejected message is placed when it came.
    [garbage] = influx_db.query('SELECT "count" FROM "rejected" WHERE "kind" = \'sessions\'')[
        0
    ].rows()
    assert before <= int(str(garbage["time"])) <= after
    [series] = influx_db.query("SELECT seq FROM telemetry")
    assert [row["seq"] for row in series.rows()] == [1]
    [keys] = influx_db.query('SHOW TAG KEYS FROM "rejected"')
    assert sorted(str(row["tagKey"]) for row in keys.rows()) == ["kind", "site"]


@pytest.mark.parametrize(
    ("name", "tags"),
    [
        (f"officina/v1/{SITE}/machines/lathe-1/telemetry", (SITE, "telemetry")),
        (f"officina/v1/{SITE}/gateways/gw-1/status", (SITE, "status")),
        (f"officina/v1/{SITE}/machines/Lathe 1/badges", (SITE, "badges")),
        (f"officina/v1/{SITE}/machines/lathe-1/telemetry/extra", (SITE, UNKNOWN)),
        (f"officina/v1/{SITE}/machines/lathe-1/unknown-kind", (SITE, UNKNOWN)),
        ("officina/v1/Site A/machines/lathe-1/state", (UNKNOWN, "state")),
        ("officina/v2/site-a/machines/lathe-1/state", (UNKNOWN, "state")),
        ("officina", (UNKNOWN, UNKNOWN)),
        ("", (UNKNOWN, UNKNOWN)),
    ],
)
def test_a_rejected_topic_gives_its_site_and_kind_or_unknown(
    name: str, tags: tuple[str, str]
) -> None:
    assert rejected_tags(name) == tags


@given(
    value=st.sampled_from(GatewayStatusValue),
    machines=st.integers(min_value=0, max_value=8),
    spool=st.none() | st.integers(min_value=0, max_value=2**53 - 1),
    oldest_s=st.none() | st.floats(min_value=0, max_value=1e9),
)
def test_the_fast_status_line_is_the_escaped_general_line(
    value: GatewayStatusValue, machines: int, spool: int | None, oldest_s: float | None
) -> None:
    payload = GatewayStatus(
        id="s-1",
        ts=5,
        status=value,
        version="1",
        machines=tuple(f"m-{n}" for n in range(machines)),
        spool=spool,
        spool_oldest_s=oldest_s if spool else None,
    )
    fast = gateway_status_line(gateway_series(SITE, GATEWAY), payload, 7)
    assert fast == gateway_status_point(SITE, GATEWAY, payload, 7).to_line()


def test_the_rejected_line_is_the_escaped_general_line() -> None:
    assert rejected_line(UNKNOWN, "status", 9) == rejected_point(UNKNOWN, "status", 9).to_line()


def test_every_rejected_point_gets_a_millisecond_of_its_own() -> None:
    times = RejectedTimes()
    received = now_ms()
    raw = json.dumps({"ts": received - 5}).encode()
    first = times.time_of(SITE, "telemetry", "t/a", raw, received)
    second = times.time_of(SITE, "telemetry", "t/b", raw, received)
    again = times.time_of(SITE, "telemetry", "t/a", raw, received + 900)
    elsewhere = times.time_of(UNKNOWN, "telemetry", "t/c", raw, received)
    assert (first, second, again, elsewhere) == (received - 5, received - 4, first, received - 5)
    old = json.dumps({"ts": received - 40 * 86_400_000}).encode()
    assert times.time_of(SITE, "state", "t/d", old, received) == received
    assert times.time_of(SITE, "state", "t/e", b"not json", received) == received + 1
    assert times.time_of(SITE, "state", "t/e", b"not json", received) == received + 2


def test_a_sample_influxdb_refuses_is_dead_lettered_and_shown_as_rejected_and_the_rest_kept(
    ingest: Ingest, gateway: MqttProbe, influx_db: InfluxDatabase
) -> None:
    ts = now_ms() - 20_000
    # `volts` already a string in this shard: InfluxDB refuses any sample that carries volts.
    influx_db.write(f'{TELEMETRY},machine=lathe-1,site={SITE} volts="wired wrong" {ts - 5_000}')
    with_volts = encode_payload(telemetry(0, ts=ts))
    without = encode_payload(telemetry(1, ts=ts).model_copy(update={"volts": None}))
    gateway.publish(topic(TopicKind.TELEMETRY), with_volts)
    gateway.publish(topic(TopicKind.TELEMETRY), without)

    assert ingest.wait_for_count("rejected", 1, WAIT_S)
    assert ingest.wait_for_count("telemetry", 2, WAIT_S)
    [letter] = ingest.ledger.dead_letters()
    assert (letter.raw, letter.field) == (with_volts, "(influxdb)")
    assert "field type conflict" in letter.error
    [kept] = influx_db.query(f'SELECT "amps", "seq" FROM "{TELEMETRY}" WHERE "seq" >= 0')[0].rows()
    assert kept["seq"] == 1
    # The refusal counts on the Gateways dashboard like any message the contract refused.
    assert rejected_counts(influx_db) == {(SITE, "telemetry"): 1.0}
