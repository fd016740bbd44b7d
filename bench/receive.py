"""Ingest's network thread in process, one JSON line: µs of CPU a message, whole and by stage.

Run from the repository root: `python -m bench.receive [--messages N] [--machines M] [--repeat R]`.

No server: N MQTT 5 QoS 1 PUBLISH packets of telemetry (`bench.ingest`'s samples, M machines
round-robin, as the broker delivers a backlog) are made in memory and served in 64 KiB reads by a
socket stand-in. `whole` is what ingest's network thread does with them: `IngestClient.loop_read`
(paho's loop and ingest's bulk reader) into an `Intake` filling batches of 5,000 with their
lines; closed batches are dropped as the booker would take them. The stages are the same steps
on their own: `split` (cutting the PUBLISHes out of the reads), `read` (the payload read against
the contract), `line` (the InfluxDB line). Each figure is the best of `--repeat` passes (CPU
time of this thread), so that another process's load shows as little as it can.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.ingest import bench_sample, machine, machine_topics, mqtt_string, remaining_length
from contract import MachineTopic, TopicKind, encode_payload
from contract.reading import read_telemetry
from services.ingest.intake import Intake
from services.ingest.mqtt_client import BufferedSocket, IngestClient
from services.ingest.schema import TELEMETRY, series_key, telemetry_line

READ_SIZE = 65_536
BATCH = 5_000


def publish_packet(topic: str, mid: int, payload: bytes) -> bytes:
    """An MQTT 5 QoS 1 PUBLISH without properties (an empty property length)."""
    body = mqtt_string(topic) + mid.to_bytes(2, "big") + b"\x00" + payload
    return b"\x32" + remaining_length(len(body)) + body


def backlog(messages: int, machines: int) -> tuple[list[bytes], list[bytes], list[str]]:
    """The packets, their payloads and their machines' series, in the broker's order."""
    names = machine_topics(machines)
    t0 = (int(time.time()) - 86_400) * 1000
    packets, payloads, series = [], [], []
    for i in range(messages):
        site, machine_id = names[i % machines]
        seq = i // machines
        payload = encode_payload(bench_sample(i, t0 + seq * 1000, seq))
        topic = str(MachineTopic(site, machine_id, TopicKind.TELEMETRY))
        packets.append(publish_packet(topic, i % 65_535 + 1, payload))
        payloads.append(payload)
        series.append(series_key(TELEMETRY, site, machine_id))
    return packets, payloads, series


class Reads:
    """A socket stand-in serving a stream in reads of up to READ_SIZE, then "would block"."""

    def __init__(self, stream: bytes) -> None:
        self._stream, self._at = memoryview(stream), 0

    def recv(self, size: int) -> bytes:
        if self._at >= len(self._stream):
            raise BlockingIOError
        chunk = bytes(self._stream[self._at : self._at + min(size, READ_SIZE)])
        self._at += len(chunk)
        return chunk

    def close(self) -> None:
        """Nothing to close (paho closes its socket when the client goes)."""


def whole(stream: bytes, messages: int, intake: Intake) -> None:
    """The network thread's path: paho's loop and ingest's reader, into the intake."""
    client = IngestClient(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.manual_ack_set(True)

    def deliver(taken: list[tuple[bytes, bytes, int]]) -> None:
        intake.take_many(taken, generation=1)

    client.on_deliveries = deliver
    client._sock = BufferedSocket(Reads(stream))
    taken = 0
    received = intake.received + messages
    while intake.received < received:
        client.loop_read()
        while (batch := intake.next_batch(0.0)) is not None:
            taken += len(batch.lines)
            intake.done(batch)
    intake.close_open()
    while (batch := intake.next_batch(0.0)) is not None:
        taken += len(batch.lines)
        intake.done(batch)
    if taken != messages:
        raise RuntimeError(f"{taken} lines made of {messages} messages")


def split(stream: bytes, messages: int) -> None:
    """Cutting the PUBLISHes out of 64 KiB reads."""
    reads = Reads(stream)
    sock = BufferedSocket(reads)
    taken, rest = 0, b""
    while taken < messages:
        # A packet cut by a read's end joins the next read, as paho's reader would join it.
        sock._buffer, sock._at = rest + reads.recv(READ_SIZE), 0
        taken += len(sock.take_deliveries(1 << 30))
        rest = sock._buffer[sock._at :]


def best_us(run: Callable[[], None], messages: int, repeat: int) -> float:
    """µs of this thread's CPU a message, the best of `repeat` passes."""
    best = float("inf")
    for _ in range(repeat):
        began = time.thread_time()
        run()
        best = min(best, time.thread_time() - began)
    return round(best / messages * 1e6, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--machines", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.messages
    packets, payloads, series = backlog(n, args.machines)
    stream = b"".join(packets)
    readings = [read_telemetry(payload) for payload in payloads]
    pairs = list(zip(series, readings, strict=True))

    def read() -> None:
        for payload in payloads:
            read_telemetry(payload)

    def line() -> None:
        for key, reading in pairs:
            telemetry_line(key, reading)

    # One intake for every pass, as in a running ingest: the machines' topics are known.
    intake = Intake(batch_size=BATCH, flush_interval_s=3600.0, with_lines=True)
    figures = {
        "whole_us": best_us(lambda: whole(stream, n, intake), n, args.repeat),
        "split_us": best_us(lambda: split(stream, n), n, args.repeat),
        "read_us": best_us(read, n, args.repeat),
        "line_us": best_us(line, n, args.repeat),
    }
    result = {"messages": n, "machines": args.machines, **figures, "machine": machine()}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
