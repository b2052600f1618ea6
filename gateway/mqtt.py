"""The MQTT session: URL parsing and one small async context manager around aiomqtt."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import aiomqtt
from paho.mqtt.client import MQTT_LOG_ERR, MQTTErrorCode, MQTTMessage

from gateway import frames
from gateway.inbox import Inbox, Received


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://[user:password@]host[:port]`` (``tcp://`` accepted)."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in {"mqtt", "tcp"}:
            raise ValueError(f"MQTT URL scheme must be mqtt:// (got {parts.scheme}://)")
        if not parts.hostname:
            raise ValueError(f"MQTT URL {url!r} has no host")
        return cls(
            host=parts.hostname,
            port=parts.port or 1883,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def for_session(self, user_suffix: str) -> BrokerAddress:
        """The login of one of the platform's sessions: ``<user><suffix>`` with the same password.

        A broker that binds client ids to user names (Mosquitto's ``use_username_as_clientid``) gives
        each session its own user so the sessions do not replace each other.
        """
        if not self.username or not user_suffix:
            return self
        return replace(self, username=f"{self.username}{user_suffix}")


def platform_client_id(base: str, address: BrokerAddress) -> str:
    """The client id of a platform session: ``base`` and a tag derived from the platform's password.

    For brokers that cannot bind client ids to user names (the embedded nats-server replaces a
    session when anyone connects with its client id): a device does not know the password, so it
    cannot compute, and take over, the platform's client ids. Without a password, ``base`` itself.
    """
    if not address.password:
        return base
    tag = hmac.new(address.password.encode(), base.encode(), hashlib.sha256).hexdigest()[:16]
    return f"{base}-{tag}"


@contextlib.asynccontextmanager
async def session(
    address: BrokerAddress,
    client_id: str,
    *,
    persistent: bool = True,
    manual_ack: bool = False,
    will: aiomqtt.Will | None = None,
    keepalive: int = 30,
    inbox: Inbox | None = None,
) -> AsyncIterator[aiomqtt.Client]:
    """A connected client. ``persistent`` keeps the broker-side session (clean session off), so
    QoS 1 messages published while we were away are delivered when we come back. With
    ``manual_ack`` a QoS 1 message is acknowledged only when :func:`ack_all` is called for it,
    i.e. after it has been processed and stored. ``inbox``: where received messages are put (read
    it instead of ``client.messages``); on a plain TCP session they are split off the socket in bulk
    (:mod:`gateway.frames`).
    """
    client = aiomqtt.Client(
        hostname=address.host,
        port=address.port,
        username=address.username,
        password=address.password,
        identifier=client_id,
        clean_session=not persistent,
        will=will,
        keepalive=keepalive,
        max_queued_incoming_messages=0,
        queue_type=None if inbox is None else cast(Any, lambda maxsize=0: inbox),
    )
    if manual_ack:
        # aiomqtt 2.x does not expose paho's manual acks yet (aiomqtt#345); paho 2 supports them.
        client._client.manual_ack_set(True)
    async with client:
        no_delay(client)
        write_through(client)
        if inbox is None or frames.install(client, inbox) is None:
            read_in_bursts(client)
        deliver_directly(client)
        yield client


READ_BURST = 256
"""Packets read at most each time a session's socket is readable."""


def read_in_bursts(client: aiomqtt.Client) -> None:
    """Each time the socket is readable, read the packets that have arrived (up to ``READ_BURST``).

    paho's ``loop_read`` reads as many packets as it has QoS messages in flight (one, for a
    subscriber), so under a backlog the event loop polls the socket again for every message. This is
    paho's loop, with that bound raised.
    """
    paho = client._client

    def loop_read(max_packets: int = 1) -> MQTTErrorCode:
        for _ in range(READ_BURST):
            if paho._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = paho._packet_read()
            if rc > 0:
                return paho._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                break
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    paho.loop_read = loop_read  # type: ignore[method-assign]


def deliver_directly(client: aiomqtt.Client) -> None:
    """Hand each message straight to ``on_message`` while no filtered callback is registered.

    paho first matches every message's topic against the callbacks of ``message_callback_add`` (a
    walk of a topic trie, per message), under a lock; the platform's sessions register none, so that
    walk finds nothing, every time. With a filtered callback registered, paho's own path runs.
    """
    paho = client._client
    pahos_path = paho._handle_on_message

    def handle_on_message(message: MQTTMessage) -> None:
        if paho._on_message_filtered._root._children:
            pahos_path(message)
            return
        on_message = paho.on_message
        if on_message is None:
            return
        with paho._in_callback_mutex:
            try:
                on_message(paho, paho._userdata, message)
            except Exception as error:
                paho._easy_log(MQTT_LOG_ERR, "Caught exception in on_message: %s", error)
                if not paho.suppress_exceptions:
                    raise

    paho._handle_on_message = handle_on_message  # type: ignore[method-assign]


def write_through(client: aiomqtt.Client) -> None:
    """Write what the session queues (a downlink, a batch's PUBACKs) to the socket at once.

    Under aiomqtt, paho asks the event loop to watch the socket for writability (``add_writer``, itself
    scheduled with ``call_soon_threadsafe``) and writes when told: the "call received" a resident waits
    for left two loop turns after its publish, each as long as whatever else was ready. Now paho's
    non-blocking write runs straight away; only what the socket cannot take yet waits for the loop.
    Not from inside paho's own callbacks, nor from inside a write (paho registers the rest there).
    """
    paho = client._client
    register = paho._call_socket_register_write
    writing = False

    def write_or_register() -> None:
        nonlocal writing
        if not writing and paho._sock is not None and paho._in_callback_mutex.acquire(False):
            paho._in_callback_mutex.release()
            writing = True
            try:
                paho.loop_write()
                if not paho.want_write():
                    return
            except Exception:  # a broken connection: the loop's own write reports it to aiomqtt
                pass
            finally:
                writing = False
        register()

    paho._call_socket_register_write = write_or_register  # type: ignore[method-assign]


def no_delay(client: aiomqtt.Client) -> None:
    """TCP_NODELAY on the session's socket (paho leaves Nagle's algorithm on): a PUBACK or a downlink
    is a few bytes, and Nagle would hold it until the broker acknowledges the previous segment, which
    a delayed ACK puts off by up to 40 ms."""
    sock = client._client.socket()
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


PUBACK = 0x40


def ack_all(client: aiomqtt.Client, messages: Sequence[Received]) -> None:
    """The PUBACKs of ``messages`` (received with ``manual_ack``), handed to paho as one write.

    paho queues each acknowledgement as its own packet, with a wake-up of its loop and a ``send`` of
    its own: two system calls per message. A batch's PUBACKs (4 bytes each: type, length 2, packet
    id) go out together instead, in the order the messages came.
    """
    paho = client._client
    blob = bytearray()
    for message in messages:
        if message.qos == 1:
            blob += bytes((PUBACK, 2, message.mid >> 8, message.mid & 0xFF))
        elif message.qos == 2:
            paho.ack(message.mid, message.qos)
    if blob:
        paho._packet_queue(PUBACK, bytes(blob), 0, 1)
