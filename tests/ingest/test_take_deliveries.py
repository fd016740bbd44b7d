"""Ingest's bulk PUBLISH reader takes exactly the packets it may, and leaves the rest to paho.

`BufferedSocket.take_deliveries` cuts the plain QoS 0/1 MQTT 5 PUBLISHes at the head of a read
out of the buffer in one loop; anything else (QoS 2, properties, a packet cut by the end of the
read, garbage) must stay in the buffer, untouched, for paho's own reader to decode or refuse.
Checked here against an independent encoder on generated packet streams; the whole path runs
against a real Mosquitto in `test_mqtt_client.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import paho.mqtt.client as mqtt
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from services.ingest.mqtt_client import BufferedSocket, IngestClient


@dataclass(frozen=True)
class Publish:
    qos: int
    topic: bytes
    mid: int
    properties: bytes
    payload: bytes

    def encode(self) -> bytes:
        body = len(self.topic).to_bytes(2, "big") + self.topic
        if self.qos:
            body += self.mid.to_bytes(2, "big")
        body += _varint(len(self.properties)) + self.properties + self.payload
        return bytes([0x30 | (self.qos << 1)]) + _varint(len(body)) + body

    @property
    def plain(self) -> bool:
        """What the bulk reader may take: QoS 0 or 1, no properties."""
        return self.qos < 2 and not self.properties


# paho's own encoder of MQTT's variable-length integers: the reference, not ingest's reader.
_PAHO = mqtt.Client(CallbackAPIVersion.VERSION2)


def _varint(value: int) -> bytes:
    return bytes(_PAHO._pack_remaining_length(bytearray(), value))


class _NoSocket:
    def recv(self, _size: int) -> bytes:
        raise AssertionError("take_deliveries must not read the socket")


def _buffered(data: bytes) -> BufferedSocket:
    sock = BufferedSocket(_NoSocket())
    sock._buffer, sock._at = data, 0
    return sock


publishes = st.builds(
    Publish,
    qos=st.sampled_from([0, 1, 1, 1, 2]),
    topic=st.binary(min_size=1, max_size=300),
    mid=st.integers(1, 65_535),
    properties=st.sampled_from([b"", b"", b"", b"\x01\x01", b"\x23\x00\x05"]),
    payload=st.binary(max_size=400),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(publishes, max_size=40), st.data())
def test_the_plain_packets_at_the_head_are_taken_and_nothing_after_them(
    packets: list[Publish], data: st.DataObject
) -> None:
    stream = b"".join(p.encode() for p in packets)
    cut = data.draw(st.integers(0, len(stream)), label="bytes read so far")
    limit = data.draw(st.integers(1, 50), label="limit")
    expected, stop = [], 0
    for packet in packets:
        encoded = packet.encode()
        if not packet.plain or stop + len(encoded) > cut:
            break
        expected.append((packet.topic, packet.payload, packet.mid if packet.qos else 0))
        stop += len(encoded)
    sock = _buffered(stream[:cut])

    taken = []
    while batch := sock.take_deliveries(limit):
        assert len(batch) <= limit
        taken += batch

    assert taken == expected
    # What is left starts at the first packet not taken, for paho's reader, byte for byte.
    assert sock.pending() == cut - stop


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_is_never_read_past_and_never_raises(garbage: bytes) -> None:
    sock = _buffered(garbage)
    while sock.take_deliveries(16):
        pass
    assert 0 <= sock.pending() <= len(garbage)


def test_a_packet_whose_topic_runs_past_its_end_is_left_to_paho() -> None:
    lying = bytes([0x32, 5]) + (200).to_bytes(2, "big") + b"abc"  # topic of 200 in 5 bytes
    after = Publish(1, b"t", 7, b"", b"{}").encode()
    sock = _buffered(lying + after)
    assert sock.take_deliveries(10) == []
    assert sock.pending() == len(lying) + len(after)


class _Queued(IngestClient):
    """A client that keeps what it would send (nothing is connected)."""

    def __init__(self) -> None:
        super().__init__(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.queued: list[bytes] = []

    def _packet_queue(
        self,
        command: int,
        packet: bytes | bytearray,
        mid: int,
        qos: int,
        info: mqtt.MQTTMessageInfo | None = None,
    ) -> MQTTErrorCode:
        self.queued.append(bytes(packet))
        return MQTTErrorCode.MQTT_ERR_SUCCESS


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 65_535), min_size=1, max_size=300))
def test_the_pubacks_of_a_batch_are_pahos_own_in_one_write(mids: list[int]) -> None:
    ours, pahos = _Queued(), _Queued()
    ours.ack_many(mids)
    for mid in mids:
        pahos._send_puback(mid)
    assert ours.queued == [b"".join(pahos.queued)]


def test_no_packet_ids_queue_nothing() -> None:
    client = _Queued()
    client.ack_many([])
    assert client.queued == []
