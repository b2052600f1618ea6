"""A sensor's reading as the stream core gets it: an :class:`~devices.events.Event` received the
moment it was read (replays, synthetic homes and the detectors' tests build their events here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devices.events import Event, Stream


def sensor_event(
    stream: Stream,
    ts_ms: int,
    device_id: str,
    resident_id: str,
    values: Mapping[str, Any],
    *,
    device_type: str = "",
    location: str = "",
) -> Event:
    """``device_id``'s reading of ``values`` at ``ts_ms`` (epoch ms), received at once."""
    return Event(
        device_id=device_id,
        resident_id=resident_id,
        stream=stream,
        ts_ms=ts_ms,
        received_ms=ts_ms,
        values=values,
        device_type=device_type,
        location=location,
    )
