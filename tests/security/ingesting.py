"""A real ingest on a broker of the test's own, and sessions dated near now, for the attacks."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

from contract import EndReason, SessionRecord, TopicKind, card_hash, encode_payload
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.billing import BillingLedger, Month, Tariff, bill_month
from services.ingest import Ingest
from services.ingest.metrics import MetricsServer
from tests.ingest.examples import MACHINE, topic
from tests.ingest.running import ingest_settings

WAIT_S = 20.0
CARD = card_hash("04A1B2C3", b"attack site secret")
TEN_MINUTES_MS = 600_000


def now_ms() -> int:
    """The wall clock in epoch milliseconds, as a gateway stamps its sessions."""
    return time.time_ns() // 1_000_000


def plausible_session(
    *, member: str = "giulia", started: int | None = None, energy_wh: float = 300.0
) -> SessionRecord:
    """A ten-minute session that ended a minute ago: 8 minutes running, 1 idle."""
    start = now_ms() - TEN_MINUTES_MS - 60_000 if started is None else started
    return SessionRecord(
        id=str(uuid.uuid4()),
        ts=start + TEN_MINUTES_MS,
        machine=MACHINE,
        member=member,
        card=CARD,
        started=start,
        ended=start + TEN_MINUTES_MS,
        unlocked_s=600.0,
        running_s=480.0,
        idle_s=60.0,
        energy_wh=energy_wh,
        end_reason=EndReason.BADGE_OUT,
        clock_ok=True,
    )


def session_json(**changes: object) -> bytes:
    """A plausible session's JSON with some fields replaced, as a forged gateway would send it."""
    document = json.loads(encode_payload(plausible_session()))
    document.update(changes)
    # `allow_nan` writes NaN and Infinity as JavaScript does, which JSON itself does not allow.
    return json.dumps(document, allow_nan=True).encode()


def raw_with(text_field: str, literal: str) -> bytes:
    """A plausible session's JSON with one field's value written as a raw literal (NaN, 1e999)."""
    document = json.loads(encode_payload(plausible_session()))
    document[text_field] = "@@"
    return json.dumps(document).replace('"@@"', literal).encode()


SESSIONS_TOPIC = topic(TopicKind.SESSIONS)
TELEMETRY_TOPIC = topic(TopicKind.TELEMETRY)


@contextmanager
def running_ingest(
    broker: MosquittoServer, ledger_url: str, **options: object
) -> Iterator[tuple[Ingest, MetricsServer]]:
    """Ingest on the broker and ledger, with its /metrics served, until the block ends."""
    # The production default: sessions more than 90 days old are refused.
    chosen: dict[str, object] = {"session_max_age_days": 90.0, **options}
    client_id = f"ingest-{uuid.uuid4().hex[:8]}"
    settings = ingest_settings(broker, ledger_url, client_id=client_id, **chosen)  # type: ignore[arg-type]
    with Ingest(settings) as ingest:
        ingest.wait_connected(WAIT_S)
        with MetricsServer(ingest.metrics, port=0) as metrics:
            yield ingest, metrics


def publish_all(broker: MosquittoServer, messages: list[tuple[str, bytes]]) -> None:
    """Publish each message at QoS 1 as a gateway, each acknowledged by the broker."""
    with MqttProbe(host=broker.host, port=broker.port) as gateway:
        for where, raw in messages:
            gateway.publish(where, raw)


def month_of_ms(at_ms: int) -> Month:
    """The workshop's month (Europe/Rome) an instant falls in."""
    return Month.of(datetime.fromtimestamp(at_ms / 1000, WORKSHOP_TZ).date())


def billed(ledger_url: str, month: Month) -> tuple[list[str], int]:
    """The session ids billing reads for a month, and the month's net total in cents."""
    billing = BillingLedger.open(ledger_url)
    try:
        inputs = billing.month_inputs(month, WORKSHOP_TZ)
    finally:
        billing.close()
    return sorted(s.id for s in inputs.sessions), bill_month(inputs).net_cents


def price_machine_time(ledger_url: str) -> None:
    """A tariff of 1 cent a running minute and 30 cents a kWh, from long ago."""
    billing = BillingLedger.open(ledger_url)
    try:
        billing.add_tariff(
            Tariff(valid_from=date(2020, 1, 1), per_running_minute=10_000, per_kwh=300_000)
        )
    finally:
        billing.close()


WORKSHOP_TZ = ZoneInfo("Europe/Rome")
