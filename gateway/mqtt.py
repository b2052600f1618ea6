"""The MQTT session: URL parsing and one small async context manager around aiomqtt."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from urllib.parse import unquote, urlsplit

import aiomqtt


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
) -> AsyncIterator[aiomqtt.Client]:
    """A connected client. ``persistent`` keeps the broker-side session (clean session off), so
    QoS 1 messages published while we were away are delivered when we come back. With
    ``manual_ack`` a QoS 1 message is acknowledged only when :func:`ack` is called for it,
    i.e. after it has been processed and stored.
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
    )
    if manual_ack:
        # aiomqtt 2.x does not expose paho's manual acks yet (aiomqtt#345); paho 2 supports them.
        client._client.manual_ack_set(True)
    async with client:
        yield client


def ack(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """Send the PUBACK for a QoS 1 message received with ``manual_ack``."""
    if message.qos > 0:
        client._client.ack(message.mid, message.qos)
