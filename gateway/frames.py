"""MQTT packets read off a session's socket in bulk: each PUBLISH goes to the inbox without paho's per-packet work.

paho reads one packet with three or more ``recv`` calls (its first byte, each byte of its remaining
length, then its body), and a message becomes two objects (paho's, then aiomqtt's) and a queue put on
its way to the gateway. Here, each time the socket is readable, what it holds is read in a few large
``recv`` calls (at most ``READ_BUDGET`` bytes, so one read never holds the event loop for long) and split
into packets (MQTT 3.1.1 §2.2: a fixed header byte, a remaining length of one to four 7-bit groups,
then the body). A PUBLISH at QoS 0 or 1 (§3.3: topic length, topic, packet id when QoS > 0, payload)
becomes a :class:`~gateway.inbox.Received`, and a read's messages reach the inbox together. Every
other packet (CONNACK, SUBACK, PINGRESP, the PUBACKs of our downlinks, a QoS 2 PUBLISH and its
PUBREL) is handed to paho's own handler exactly as paho would have after reading it, so the session's
state (keepalive, in-flight publishes, reconnects) stays paho's. A packet split across reads waits in
the buffer for its rest.

Only plain TCP sessions on MQTT 3.1/3.1.1 take this path (:func:`install`); over TLS (whose records
``select`` does not see) or websockets, or on MQTT 5 (properties in every PUBLISH), paho reads.

What the broker sends is trusted to be MQTT, as paho trusts it: a remaining length longer than four
bytes or a PUBLISH whose topic or packet id overruns its body is a protocol error that drops the
connection (paho's ``MQTT_ERR_PROTOCOL``; the broker then redelivers what was not acknowledged). A
topic that is not UTF-8 is decoded with replacement characters and rejected by the gateway with a
reason, never raised into the loop. The broker's ``message_size_limit`` bounds a packet's size.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import TYPE_CHECKING

import aiomqtt
from paho.mqtt.client import Client as PahoClient
from paho.mqtt.client import MQTTErrorCode, MQTTv31, MQTTv311
from paho.mqtt.enums import _ConnectionState

from gateway.inbox import Inbox, Received

if TYPE_CHECKING:
    from paho.mqtt.client import _InPacket

log = logging.getLogger("eldercare.gateway.frames")

PUBLISH = 0x30
RECV_BYTES = 64 * 1024
READ_BUDGET = 128 * 1024
"""Bytes read at most each time the socket is readable (some 1,300 everyday messages, a few ms of
splitting): one read never holds the event loop, and an alarm on the other session, for long."""
HIGH_WATER = 8192
"""Messages waiting in the inbox at which reading the socket pauses. The broker sends a backlog as fast
as it is read (Mosquitto's in-flight window is no bound once acknowledgements flow); paused, the rest
waits at the broker, held back by TCP, instead of piling up here (where, past the gateway's
``shed_depth``, telemetry would be shed)."""
LOW_WATER = 2048
"""Messages waiting below which reading resumes."""
PAUSE_MAX_S = 5.0
"""The longest a pause lasts: reading resumes to answer the broker's keepalive pings even while a sink
held up by an outage keeps the inbox full."""


def in_packet(command: int = 0, body: bytes = b"", length: int = 0) -> _InPacket:
    """paho's state of the packet it is reading: a whole one (``command`` set), or none."""
    return {
        "command": command,
        "have_remaining": 1 if command else 0,
        "remaining_count": [],
        "remaining_mult": 1,
        "remaining_length": length,
        "packet": bytearray(body),
        "to_process": 0,
        "pos": 0,
    }


class PublishReader:
    """Reads a paho session's socket in bulk (see the module); installed as its ``loop_read``."""

    def __init__(self, paho: PahoClient, inbox: Inbox, client: aiomqtt.Client | None = None) -> None:
        self.paho = paho
        self.inbox = inbox
        self.buffer = bytearray()
        self.packets = 0
        """Packets split off the socket (PUBLISH and others)."""
        self.pauses = 0
        """Times reading paused for a full inbox."""
        self._client = client
        """The aiomqtt session whose socket callback this reader stands in for while it pauses."""
        self._fd = -1
        self._timer: asyncio.TimerHandle | None = None
        self._paused = False

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        paho = self.paho
        while paho._in_packet["command"]:  # a packet paho began reading before we took over
            rc = paho._packet_read()
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            if rc:
                return paho._loop_rc_handle(rc)
        sock = paho._sock
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        buffer = self.buffer
        budget = READ_BUDGET
        while budget > 0:
            try:
                data = sock.recv(RECV_BYTES)
            except BlockingIOError:
                break
            except OSError as error:
                log.warning("MQTT socket read failed", extra={"error": repr(error)[:200]})
                return paho._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)
            if not data:
                self._split()  # what had arrived in full before the broker closed
                return paho._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)
            buffer += data
            budget -= len(data)
            if len(data) < RECV_BYTES:
                break
        paho._last_bytes_received = time.monotonic()
        rc = self._split()
        if rc:
            return paho._loop_rc_handle(rc)
        if self._client is not None and self.inbox.qsize() >= HIGH_WATER:
            self._pause(sock.fileno())
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _pause(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        if not loop.remove_reader(fd):
            return
        self._fd = fd
        self._paused = True
        self.pauses += 1
        self._timer = loop.call_later(PAUSE_MAX_S, self.resume)
        self.inbox.when_below(LOW_WATER, self.resume)

    def resume(self) -> None:
        """Read the socket again (the inbox has drained, or the pause has lasted long enough)."""
        if not self._paused:
            return
        self._paused = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.inbox.when_below(0, None)
        sock = self.paho._sock
        if sock is None or sock.fileno() != self._fd:
            return  # the session has closed meanwhile
        asyncio.get_running_loop().add_reader(self._fd, self._readable)

    def _readable(self) -> None:
        """What aiomqtt's socket callback does: read, and end the session on an exception."""
        try:
            self.loop_read()
        except Exception as error:
            assert self._client is not None
            disconnected = self._client._disconnected
            if not disconnected.done():
                disconnected.set_exception(error)

    def _split(self) -> MQTTErrorCode:
        """Every whole packet in the buffer, in order; the rest of a partial one stays."""
        buffer = self.buffer
        size = len(buffer)
        out: list[Received] = []
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        pos = 0
        with memoryview(buffer) as view:
            while size - pos >= 2:
                header = buffer[pos]
                length = 0
                shift = 0
                at = pos + 1
                while at < size:
                    byte = buffer[at]
                    at += 1
                    length |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    shift += 7
                    if shift > 21:  # a fifth length byte
                        rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
                        break
                else:
                    break  # the length has not arrived whole
                if rc:
                    break
                end = at + length
                if end > size:
                    break  # the rest has not arrived
                if header & 0xF0 == PUBLISH and header & 0x06 < 0x04:
                    qos = (header >> 1) & 0x03
                    topic_end = at + 2 + ((buffer[at] << 8) | buffer[at + 1]) if length >= 2 else end + 1
                    body = topic_end + 2 if qos else topic_end
                    if topic_end == at + 2 or body > end:
                        rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
                        break
                    topic = str(view[at + 2 : topic_end], "utf-8", "replace")
                    mid = (buffer[topic_end] << 8) | buffer[topic_end + 1] if qos else 0
                    out.append(Received(topic, bytes(view[body:end]), qos, mid, bool(header & 0x01)))
                else:
                    if out:
                        self.inbox.extend(out)
                        out = []
                    rc = self._to_paho(header, bytes(view[at:end]), length)
                    if rc:
                        pos = end
                        break
                pos = end
                self.packets += 1
        del buffer[:pos]
        if out:
            self.inbox.extend(out)
        return rc

    def _to_paho(self, header: int, body: bytes, length: int) -> MQTTErrorCode:
        """A packet paho handles itself, given to it as its own reader would."""
        paho = self.paho
        paho._in_packet = in_packet(header, body, length)
        try:
            return paho._packet_handle()
        except Exception as error:  # paho's MalformedPacket and kin: what paho's reader makes of them
            log.warning("MQTT packet paho could not handle", extra={"command": header, "error": repr(error)[:200]})
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        finally:
            paho._in_packet = in_packet()


def install(client: aiomqtt.Client, inbox: Inbox) -> PublishReader | None:
    """Read this session's socket in bulk, if it is plain TCP on MQTT 3.x; None: paho keeps reading."""
    paho = client._client
    sock = paho._sock
    if type(sock) is not socket.socket or paho._protocol not in (MQTTv31, MQTTv311):
        return None
    if paho._state is not _ConnectionState.MQTT_CS_CONNECTED:
        return None
    reader = PublishReader(paho, inbox, client)
    paho.loop_read = reader.loop_read  # type: ignore[method-assign]
    return reader
