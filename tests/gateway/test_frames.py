"""The bulk reader (``gateway/frames.py``) against paho's own reader, its twin, and on a real broker."""

from __future__ import annotations

import asyncio
import random
import select
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import pytest
from paho.mqtt.client import Client as PahoClient
from paho.mqtt.client import MQTTErrorCode, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, _ConnectionState

from gateway import frames
from gateway.inbox import Inbox, Received
from gateway.mqtt import BrokerAddress, ack_all, session
from lab.bench.deployment import mosquitto_binary, private_mosquitto
from tests.harness import Namespace
from tests.services import TestServices


def remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish_frame(
    topic: bytes, payload: bytes, qos: int, mid: int = 0, retain: bool = False, dup: bool = False
) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"") + payload
    header = 0x30 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    return bytes((header,)) + remaining_length(len(body)) + body


def sample_frames(rng: random.Random) -> list[bytes]:
    """Topics and payloads of every size class of the remaining length (1 to 3 bytes) and of UTF-8."""
    sizes = [0, 1, 60, 121, 122, 123, 124, 125, 126, 127, 128, 200, 16_370, 16_380, 16_384, 70_000, 200_000]
    topics = [b"eldercare/v1/btn-1/alarm", "eldercare/v1/门-1/door".encode(), b"zigbee2mqtt/sos_1", b"a"]
    out = []
    for i, size in enumerate(sizes * 2):
        payload = bytes(rng.getrandbits(8) for _ in range(min(size, 64))) * (size // 64 + 1)
        out.append(
            publish_frame(topics[i % len(topics)], payload[:size], i % 2, 1 + i, retain=i % 3 == 0, dup=i % 5 == 0)
        )
    return out


def connected_paho(sock: socket.socket) -> PahoClient:
    paho = PahoClient(CallbackAPIVersion.VERSION2)
    sock.setblocking(False)
    paho._sock = sock
    paho._state = _ConnectionState.MQTT_CS_CONNECTED
    return paho


def _readable(sock: socket.socket) -> bool:
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False


def drain(data: bytes, reader_of: Callable[[socket.socket], Callable[[], MQTTErrorCode]]) -> None:
    """``data`` sent by a thread (it may exceed the socket buffers) and read by ``reader_of(socket)``
    whenever there is something to read, until all of it has been."""
    ours, theirs = socket.socketpair()
    read = reader_of(ours)
    sender = threading.Thread(target=theirs.sendall, args=(data,))
    sender.start()
    try:
        while True:
            rc = read()
            assert rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN), rc
            if not sender.is_alive() and not _readable(ours):
                return
            select.select([ours], [], [], 0.05)
    finally:
        sender.join()
        ours.close()
        theirs.close()


def read_by_paho(data: bytes) -> list[Received]:
    """The reference: paho's own reader over the same bytes."""
    got: list[Received] = []

    def on_message(_c: object, _u: object, m: MQTTMessage) -> None:
        got.append(Received(m.topic, bytes(m.payload), m.qos, m.mid, bool(m.retain)))

    def paho_reading(sock: socket.socket) -> Callable[[], MQTTErrorCode]:
        paho = connected_paho(sock)
        paho.manual_ack_set(True)
        paho.on_message = on_message
        return paho._packet_read

    drain(data, paho_reading)
    return got


def read_by_ours(data: bytes) -> list[Received]:
    inbox = Inbox()
    drain(data, lambda sock: frames.PublishReader(connected_paho(sock), inbox).loop_read)
    return inbox.take(100_000)


def split_in_pieces(data: bytes, cuts: list[int]) -> tuple[list[Received], frames.PublishReader]:
    """Ours over the same bytes arriving in pieces cut exactly at ``cuts``."""
    reader = frames.PublishReader(PahoClient(CallbackAPIVersion.VERSION2), Inbox())
    start = 0
    for cut in [*cuts, len(data)]:
        reader.buffer += data[start:cut]
        start = cut
        assert reader._split() == MQTTErrorCode.MQTT_ERR_SUCCESS
    return reader.inbox.take(100_000), reader


def test_publish_frames_read_in_bulk_equal_pahos_reading() -> None:
    rng = random.Random(20)
    data = b"".join(sample_frames(rng))
    reference = read_by_paho(data)
    assert len(reference) == 34
    assert read_by_ours(data) == reference


@pytest.mark.parametrize("seed", range(5))
def test_a_packet_split_anywhere_across_reads_comes_out_whole(seed: int) -> None:
    rng = random.Random(seed)
    frames_ = sample_frames(rng)[:12]
    data = b"".join(frames_)
    cuts = sorted(rng.sample(range(1, len(data)), 40))
    boundaries = [sum(map(len, frames_[:i])) for i in range(1, len(frames_))]
    header_cuts = [b + 1 for b in boundaries] + [b + 2 for b in boundaries]  # inside the length bytes
    ours, reader = split_in_pieces(data, sorted(set(cuts + header_cuts)))
    assert ours == read_by_paho(data)
    assert reader.buffer == bytearray()


def test_a_topic_that_is_not_utf8_is_delivered_for_the_gateway_to_reject() -> None:
    data = publish_frame(b"eldercare/v1/\xff\xfe/alarm", b"{}", 1, 7)
    ours, _ = split_in_pieces(data, [])
    assert ours == [Received("eldercare/v1/\ufffd\ufffd/alarm", b"{}", 1, 7, False)]


@pytest.mark.parametrize(
    "data",
    [
        b"\x30\xff\xff\xff\xff\x01",  # a fifth remaining-length byte
        b"\x32\x02\x00\x00",  # QoS 1 with an empty topic
        b"\x32\x04\x00\x05ab",  # the topic overruns the packet
        b"\x32\x03\x00\x01a",  # no room for the packet id
    ],
)
def test_a_malformed_packet_drops_the_connection_as_paho_would(data: bytes) -> None:
    ours, theirs = socket.socketpair()
    paho = connected_paho(ours)
    lost: list[object] = []
    paho.on_disconnect = lambda *args: lost.append(args)
    reader = frames.PublishReader(paho, Inbox())
    theirs.sendall(publish_frame(b"eldercare/v1/btn-1/alarm", b"{}", 1, 1) + data)
    assert reader.loop_read() == MQTTErrorCode.MQTT_ERR_PROTOCOL
    assert lost and paho._sock is None
    assert reader.inbox.take(10) == [Received("eldercare/v1/btn-1/alarm", b"{}", 1, 1, False)]
    theirs.close()


def test_other_packets_reach_pahos_handlers() -> None:
    ours, theirs = socket.socketpair()
    paho = connected_paho(ours)
    published: list[int] = []
    paho.on_publish = lambda _c, _u, mid, _rc, _p: published.append(mid)
    info = paho.publish("eldercare/v1/btn-1/cmd", b"{}", qos=1)  # in flight until its PUBACK
    reader = frames.PublishReader(paho, Inbox())
    puback = bytes((0x40, 2)) + info.mid.to_bytes(2, "big")
    pingresp = b"\xd0\x00"
    theirs.sendall(publish_frame(b"a/b", b"1", 0) + puback + pingresp + publish_frame(b"a/c", b"2", 0))
    assert reader.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
    assert published == [info.mid]
    assert [r.topic for r in reader.inbox.take(10)] == ["a/b", "a/c"]
    assert paho._in_packet["command"] == 0
    theirs.close()


COUNT, BIG = 900, 450


async def test_a_real_session_reads_in_bulk_and_keeps_pahos_meaning(services: TestServices) -> None:
    """Against the real broker: a burst (one 200 KB message among them) arrives whole and in order,
    the session's own QoS 1 publish completes, keepalive pings are answered, acks clear the queue."""
    namespace = Namespace()
    address = BrokerAddress(services.mqtt_host, services.mqtt_port)
    inbox = Inbox()
    topic = f"{namespace.prefix}/+/status"
    async with session(address, f"frames-{namespace.tag}", manual_ack=True, keepalive=1, inbox=inbox) as client:
        assert client._client.loop_read.__self__.__class__ is frames.PublishReader  # type: ignore[attr-defined]
        await client.subscribe(topic, qos=1)
        async with aiomqtt.Client(services.mqtt_host, services.mqtt_port) as device:
            for i in range(COUNT):  # within the broker's default queue of 1000 per session
                payload = b"x" * 200_000 if i == BIG else f'{{"n":{i}}}'.encode()
                await device.publish(f"{namespace.prefix}/d-{i % 7}/status", payload, qos=1)
        got: list[Received] = []
        deadline = time.monotonic() + 20
        while len(got) < COUNT:  # acknowledged batch by batch, as the gateway does
            batch = [await asyncio.wait_for(inbox.next(client), max(0.1, deadline - time.monotonic()))]
            batch += inbox.take(5000)
            ack_all(client, batch)
            got += batch
        assert [len(r.payload) for r in got][BIG] == 200_000
        assert [r.payload for r in got[:3]] == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
        assert all(r.qos == 1 and r.mid > 0 for r in got)
        await client.publish(f"{namespace.prefix}/d-0/cmd", b"{}", qos=1)  # waits for its PUBACK
        await asyncio.sleep(2.5)  # two keepalive periods idle: paho pings, the broker answers
        await client.publish(f"{namespace.prefix}/d-0/cmd", b"{}", qos=1)


async def test_a_backlog_waits_at_the_broker_while_the_inbox_is_full(tmp_path: Path) -> None:
    """A slow reader of a 30,000-message backlog: the inbox never holds much more than its high-water
    mark (reading pauses; the broker keeps the rest), and every message still arrives, in order."""
    if not shutil.which("mosquitto") and not Path(mosquitto_binary()).exists():
        pytest.skip("Mosquitto is not installed (.ci/run installs it)")
    backlog = 30_000
    async with private_mosquitto(tmp_path) as address:
        async with session(address, "slow-reader", manual_ack=True) as client:
            await client.subscribe("home/+/status", qos=1)
        async with aiomqtt.Client(address.host, address.port) as device:
            for i in range(backlog):
                await device.publish(f"home/d-{i % 50}/status", f'{{"n":{i:05d}}}'.encode(), qos=1)
        inbox = Inbox()
        got: list[bytes] = []
        most = 0
        async with session(address, "slow-reader", manual_ack=True, inbox=inbox) as client:
            reader = client._client.loop_read.__self__  # type: ignore[attr-defined]
            while len(got) < backlog:
                batch = [await asyncio.wait_for(inbox.next(client), 10), *inbox.take(63)]
                most = max(most, inbox.qsize() + len(batch))
                ack_all(client, batch)
                got += [r.payload for r in batch]
                await asyncio.sleep(0.002)  # a sink slower than the socket
    frame = len(publish_frame(b"home/d-00/status", b'{"n":00000}', 1))
    assert reader.pauses > 0
    assert most <= frames.HIGH_WATER + frames.READ_BUDGET // frame + 1, most
    assert got == [f'{{"n":{i:05d}}}'.encode() for i in range(backlog)]
