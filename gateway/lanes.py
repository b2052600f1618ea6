"""The gateway's two MQTT sessions ("lanes"), as data: what each subscribes to, skips, sheds, holds.

Two sessions so the broker queues alarms apart from telemetry: a telemetry flood fills (and
overflows) the telemetry session's queue at the broker, never the alarms'.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.events import Stream

ALARM_LANE_STREAMS = frozenset({Stream.ALARM.value, Stream.ENV.value})
"""Calls for help and smoke/gas/water: the alarm lane's (the telemetry lane's wildcard skips them)."""
ALWAYS_KEPT = ALARM_LANE_STREAMS | {Stream.STATUS.value}
"""Streams never shed under overload: those, and device availability (``status``). Status comes on
the telemetry lane only: heartbeats are most of a city's everyday messages, and taking each on both
sessions cost a quarter of the gateway's time (``eldercare bench ingest``); a device that dies
unannounced is found by its silence anyway."""


@dataclass(frozen=True, slots=True)
class Lane:
    """One MQTT session of the gateway: its client id, what it subscribes to, what it leaves alone."""

    name: str
    client_id: str
    subscriptions: tuple[tuple[str, int], ...]
    skip: frozenset[str] = frozenset()
    """Streams another lane handles (seen here only because of a wildcard)."""
    sheds: bool = False
    """Whether this lane drops messages under overload (never the alarm lane)."""
    user_suffix: str = ""
    """Appended to the broker user name: each session logs in as its own platform user (see
    ``registry.broker_config.PLATFORM_SESSION_SUFFIXES``), as brokers binding client ids to users need."""
    holds_on_sink_failure: bool = False
    """Whether a batch the sink cannot take is retried until it can (alarms are never given up)."""
    lingers: bool = False
    """Whether a batch waits ``batch_linger_ms`` for more messages (never on the alarm lane: an SOS
    goes on at once, however small its batch)."""
    batches_in_flight: int = 1
    """Alarm batches handled at once (:mod:`gateway.inflight`; the alarm lane's): the next press is decoded
    and rings while the last one's alert is being committed; one resident's batches keep their order.
    16 there: a database that stalls for 80 ms under 200 presses a second still lets each one ring."""


def lanes(client_id: str, prefix: str, z2m_base: str) -> tuple[Lane, Lane]:
    """The alarm lane and the telemetry lane of a gateway with this client id, topic prefix (no
    trailing slash) and Zigbee2MQTT base (with its trailing slash)."""
    alarms = Lane(
        "alarms",
        client_id,
        (
            (f"{prefix}/+/{Stream.ALARM.value}", 1),
            (f"{prefix}/+/{Stream.ENV.value}", 1),
            (f"{z2m_base}+", 1),
            (f"{z2m_base}+/availability", 1),
            (f"{z2m_base}bridge/state", 1),
        ),
        holds_on_sink_failure=True,
        batches_in_flight=16,
    )
    telemetry = Lane(
        "telemetry",
        f"{client_id}-telemetry",
        ((f"{prefix}/+/+", 1),),
        skip=ALARM_LANE_STREAMS,
        sheds=True,
        user_suffix="-telemetry",
        lingers=True,
    )
    return alarms, telemetry


def kept_under_load(topic: str, z2m: str) -> bool:
    """Whether a message on ``topic`` is kept when the telemetry lane sheds (``z2m``: the Zigbee2MQTT
    base topic with its trailing slash)."""
    if topic.startswith(z2m):
        return True  # a Zigbee2MQTT state may carry an SOS action; it cannot be told apart unread
    return topic.rsplit("/", 1)[-1] in ALWAYS_KEPT
