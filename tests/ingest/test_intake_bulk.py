"""The intake takes a read's messages together and keeps each one, whatever happens to another."""

from __future__ import annotations

import pytest

from contract import TopicKind, encode_payload
from services.ingest.intake import Intake
from services.ingest.schema import telemetry_line
from tests.ingest.examples import telemetry, topic


def _intake(batch_size: int = 100) -> Intake:
    return Intake(batch_size=batch_size, flush_interval_s=60.0, with_lines=True, max_held=None)


def _delivery(seq: int, mid: int) -> tuple[bytes, bytes, int]:
    return topic(TopicKind.TELEMETRY).encode(), encode_payload(telemetry(seq)), mid


def test_a_bug_on_one_message_dead_letters_it_and_takes_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def line_with_a_bug(series: str, sample: object) -> str:
        if getattr(sample, "seq", None) == 2:
            raise RuntimeError("a bug")
        return telemetry_line(series, sample)  # type: ignore[arg-type]

    monkeypatch.setattr("services.ingest.intake.telemetry_line", line_with_a_bug)
    intake = _intake()
    deliveries = [_delivery(1, 11), _delivery(2, 12), _delivery(3, 13)]
    broken = deliveries[1][1]
    intake.take_many(deliveries[:1], generation=1)  # the topic is known: the fast path

    failed = intake.take_many(deliveries[1:], generation=1)
    intake.close_open()
    batch = intake.next_batch(0.0)

    assert failed == 1
    assert batch is not None and batch.size == 3
    assert [line.split()[-1] for line in batch.lines] == [
        telemetry_line("s", telemetry(seq)).split()[-1] for seq in (1, 3)
    ]
    assert len(batch.line_sources) == len(batch.lines)
    # Kept, and acknowledged only once the batch (its dead letter with it) is durable.
    [letter] = batch.dead_letters
    assert (letter.topic, letter.raw) == (topic(TopicKind.TELEMETRY), broken)
    assert "RuntimeError" in letter.error
    assert batch.acks == {1: [11, 12, 13]}


def test_a_read_longer_than_a_batch_fills_one_and_opens_the_next() -> None:
    intake = _intake(batch_size=4)
    intake.take_many([_delivery(seq, 100 + seq) for seq in range(10)], generation=7)
    intake.close_open()
    sizes = []
    while (batch := intake.next_batch(0.0)) is not None:
        sizes.append(batch.size)
        assert batch.acks[7] == [100 + i for i in range(sum(sizes) - batch.size, sum(sizes))]
        assert batch.telemetry == batch.size == len(batch.lines)
    assert sizes == [4, 4, 2]
    assert intake.received == intake.pending == 10


def test_a_batch_across_a_reconnect_keeps_each_connections_packet_ids_apart() -> None:
    # Packet ids are only valid on the connection that gave them: ingest acknowledges those of
    # the current connection and leaves the earlier one's to the broker's redelivery.
    intake = _intake(batch_size=10)
    intake.take_many([_delivery(1, 5), _delivery(2, 6)], generation=1)
    intake.take_many([_delivery(3, 5), _delivery(4, 0)], generation=2)
    intake.close_open()
    batch = intake.next_batch(0.0)
    assert batch is not None and batch.size == 4
    assert batch.acks == {1: [5, 6], 2: [5]}  # packet id 0: QoS 0, nothing to acknowledge
