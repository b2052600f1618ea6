"""A small MQTT 3.1.1 client for simulated firmware: thousands of connections in one event loop.

Device firmware speaks MQTT through small embedded stacks, not a full client library; this one does
what they do and no more: CONNECT with client id, optional username/password, last will and
keepalive; PUBLISH at QoS 0 or 1 (QoS 1 kept in an outbox until PUBACK and resent after a
reconnect, as a button does with an unanswered alarm); SUBSCRIBE (its ``cmd`` topic); PINGREQ; and
reconnecting with exponential back-off and jitter. Publishing is synchronous (it writes to the
socket buffer), so one scheduler can drive thousands of devices without a task per device.

``kill()`` drops the TCP connection without DISCONNECT, so the broker publishes the last will: a
device whose battery died or that lost power.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("eldercare.sim.mqtt")

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK = 0x10, 0x20, 0x30, 0x40, 0x82, 0x90
PINGREQ, PINGRESP, DISCONNECT = 0xC0, 0xD0, 0xE0

MessageHandler = Callable[[str, bytes], None]


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(slots=True)
class LinkStats:
    """Counters of one client (or summed over many)."""

    published: int = 0
    bytes_out: int = 0
    dropped_offline: int = 0
    acked: int = 0
    received: int = 0
    connects: int = 0
    failures: int = 0

    def add(self, other: LinkStats) -> None:
        for name in self.__slots__:  # type: ignore[attr-defined]
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def connect_packet(
    client_id: str,
    keepalive: int,
    clean_session: bool,
    will: Will | None,
    username: str | None,
    password: str | None,
) -> bytes:
    flags = 0x02 if clean_session else 0
    payload = _str(client_id)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
        payload += _str(will.topic) + _str(will.payload)
    if username is not None:
        flags |= 0x80
        payload += _str(username)
        if password is not None:
            flags |= 0x40
            payload += _str(password)
    variable = _str("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive)
    body = variable + payload
    return bytes([CONNECT]) + _varint(len(body)) + body


def publish_packet(topic: str, payload: bytes, qos: int, retain: bool, packet_id: int, dup: bool = False) -> bytes:
    header = PUBLISH | (qos << 1) | (1 if retain else 0) | (0x08 if dup else 0)
    body = _str(topic) + (struct.pack("!H", packet_id) if qos else b"") + payload
    return bytes([header]) + _varint(len(body)) + body


def subscribe_packet(packet_id: int, topics: list[tuple[str, int]]) -> bytes:
    body = struct.pack("!H", packet_id) + b"".join(_str(t) + bytes([q]) for t, q in topics)
    return bytes([SUBSCRIBE]) + _varint(len(body)) + body


class _Protocol(asyncio.Protocol):
    def __init__(self, client: MqttClient) -> None:
        self.client = client
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self.client._lost(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if len(self.buffer) < 2:
                return
            length, shift, i = 0, 0, 1
            while True:
                if i >= len(self.buffer):
                    return
                byte = self.buffer[i]
                length |= (byte & 0x7F) << shift
                shift += 7
                i += 1
                if not byte & 0x80:
                    break
            if len(self.buffer) < i + length:
                return
            kind = self.buffer[0]
            body = bytes(self.buffer[i : i + length])
            del self.buffer[: i + length]
            self.client._packet(self, kind, body)


class MqttClient:
    """One device's (or one home hub's) MQTT connection, kept up with back-off until ``close()``."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        *,
        username: str | None = None,
        password: str | None = None,
        will: Will | None = None,
        keepalive: int = 60,
        clean_session: bool = True,
        on_message: MessageHandler | None = None,
        on_connect: Callable[[], None] | None = None,
        backoff_s: tuple[float, float] = (0.5, 30.0),
        outbox_max: int = 1000,
        rng: random.Random | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.client_id = client_id
        self.username, self.password = username, password
        self.will = will
        self.keepalive = keepalive
        self.clean_session = clean_session
        self.on_message = on_message
        self.on_connect = on_connect
        self.backoff_s = backoff_s
        self.outbox_max = outbox_max
        self.rng = rng or random.Random()
        self.stats = LinkStats()
        self.connected = asyncio.Event()
        self.subscriptions: list[tuple[str, int]] = []
        self._proto: _Protocol | None = None
        self._next_id = 0
        self._inflight: OrderedDict[int, bytes] = OrderedDict()
        self._ack_waiters: dict[int, asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ping: asyncio.TimerHandle | None = None
        self._closing = False
        self._connack: asyncio.Future[int] | None = None

    # -- lifecycle --

    def start(self) -> asyncio.Task[None]:
        """Connect in the background and stay connected (reconnecting with back-off)."""
        self._closing = False
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"mqtt-{self.client_id}")
        return self._task

    async def _run(self) -> None:
        delay = self.backoff_s[0]
        loop = asyncio.get_running_loop()
        while not self._closing:
            proto: _Protocol | None = None
            try:
                _, proto = await loop.create_connection(lambda: _Protocol(self), self.host, self.port)
                self._proto = proto
                self._connack = loop.create_future()
                self._write(
                    connect_packet(
                        self.client_id, self.keepalive, self.clean_session, self.will, self.username, self.password
                    )
                )
                code = await asyncio.wait_for(asyncio.shield(self._connack), 10.0)
                if code != 0:
                    raise ConnectionRefusedError(f"CONNACK return code {code}")
                self.stats.connects += 1
                self._on_connected()
                delay = self.backoff_s[0]
                await proto.closed
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, ConnectionError) as error:
                self.stats.failures += 1
                log.debug("mqtt connect failed", extra={"client_id": self.client_id, "error": str(error)})
            finally:
                self._drop(proto)
            if self._closing:
                return
            await asyncio.sleep(delay * (0.5 + self.rng.random()))
            delay = min(delay * 2, self.backoff_s[1])

    def _on_connected(self) -> None:
        if self.subscriptions:
            self._write(subscribe_packet(self._packet_id(), self.subscriptions))
        for packet in list(self._inflight.values()):  # resend unacknowledged QoS 1, DUP set
            self._write(bytes([packet[0] | 0x08]) + packet[1:])
        self.connected.set()
        self._schedule_ping()
        if self.on_connect is not None:
            try:
                self.on_connect()
            except Exception:  # a simulator bug must not take the connection down
                log.exception("on_connect failed", extra={"client_id": self.client_id})

    def _drop(self, proto: _Protocol | None) -> None:
        if proto is not None and proto.transport is not None:
            proto.transport.abort()
        if self._proto is proto:
            self._proto = None
        self.connected.clear()
        if self._ping is not None:
            self._ping.cancel()
            self._ping = None

    def _lost(self, proto: _Protocol) -> None:
        if self._proto is proto:
            self._proto = None
            self.connected.clear()
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(ConnectionError("connection closed before CONNACK"))

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def close(self) -> None:
        """A clean DISCONNECT: the broker discards the will (the device was switched off properly)."""
        self._closing = True
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.write(bytes([DISCONNECT, 0]))
            self._proto.transport.close()
        await self._stop_task()

    async def kill(self, stay_down: bool = True) -> None:
        """Drop the TCP connection without DISCONNECT: the broker publishes the last will.

        ``stay_down``: do not reconnect (a dead battery); otherwise reconnect with back-off.
        """
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.abort()
        if stay_down:
            self._closing = True
            await self._stop_task()

    async def _stop_task(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._drop(self._proto)
        for waiter in self._ack_waiters.values():
            if not waiter.done():
                waiter.cancel()
        self._ack_waiters.clear()

    # -- traffic --

    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Remembered and (re)sent on every connect."""
        self.subscriptions.append((topic, qos))
        if self._proto is not None and self.connected.is_set():
            self._write(subscribe_packet(self._packet_id(), [(topic, qos)]))

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> int | None:
        """Queue one message on the socket; returns the packet id of a QoS 1 message.

        Offline: QoS 0 is dropped (counted), QoS 1 waits in the outbox for the next connection.
        """
        raw = payload.encode() if isinstance(payload, str) else payload
        packet_id = self._packet_id() if qos else 0
        packet = publish_packet(topic, raw, qos, retain, packet_id)
        if qos:
            self._inflight[packet_id] = packet
            while len(self._inflight) > self.outbox_max:
                self._inflight.popitem(last=False)
                self.stats.dropped_offline += 1
        if self._proto is None or not self.connected.is_set():
            if not qos:
                self.stats.dropped_offline += 1
            return packet_id or None
        self._write(packet)
        self.stats.published += 1
        self.stats.bytes_out += len(packet)
        return packet_id or None

    async def wait_ack(self, packet_id: int, timeout: float = 10.0) -> None:
        if packet_id not in self._inflight:
            return
        waiter = self._ack_waiters.setdefault(packet_id, asyncio.get_running_loop().create_future())
        await asyncio.wait_for(asyncio.shield(waiter), timeout)

    @property
    def write_buffer(self) -> int:
        proto = self._proto
        return proto.transport.get_write_buffer_size() if proto is not None and proto.transport else 0

    def _packet_id(self) -> int:
        self._next_id = self._next_id % 65535 + 1
        return self._next_id

    def _write(self, data: bytes) -> None:
        proto = self._proto
        if proto is not None and proto.transport is not None and not proto.transport.is_closing():
            proto.transport.write(data)

    def _schedule_ping(self) -> None:
        if self.keepalive <= 0:
            return
        loop = asyncio.get_running_loop()
        self._ping = loop.call_later(self.keepalive * 0.75 * (0.9 + 0.2 * self.rng.random()), self._send_ping)

    def _send_ping(self) -> None:
        if self._proto is not None and self.connected.is_set():
            self._write(bytes([PINGREQ, 0]))
            self._schedule_ping()

    def _packet(self, proto: _Protocol, kind: int, body: bytes) -> None:
        high = kind & 0xF0
        if high == CONNACK:
            if self._connack is not None and not self._connack.done():
                self._connack.set_result(body[1] if len(body) > 1 else 255)
        elif high == PUBACK and len(body) >= 2:
            (packet_id,) = struct.unpack("!H", body[:2])
            if self._inflight.pop(packet_id, None) is not None:
                self.stats.acked += 1
            waiter = self._ack_waiters.pop(packet_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif high == PUBLISH:
            qos = (kind >> 1) & 0x03
            (topic_len,) = struct.unpack("!H", body[:2])
            topic = body[2 : 2 + topic_len].decode("utf-8", errors="replace")
            offset = 2 + topic_len
            if qos:
                packet_id = body[offset : offset + 2]
                offset += 2
                self._write(bytes([PUBACK, 2]) + packet_id)
            self.stats.received += 1
            if self.on_message is not None:
                try:
                    self.on_message(topic, body[offset:])
                except Exception:
                    log.exception("message handler failed", extra={"client_id": self.client_id, "topic": topic})
        # SUBACK, PINGRESP: nothing to do
