"""Wearables' accelerometer blocks in the history: one row per device and minute, not per block.

A band streams a one-second block every second: as rows, 86,400 a day per wearer, most of a city's
history and of its writer's time, for what a person reads back of them (was the band worn and
recording, and how much). :class:`ImuMinutes` folds each device's blocks into its minute (by arrival
time) and hands over one ``imu`` event per device and minute once the minute is over::

    {"blocks": 58, "samples": 2900, "span_ms": 59980.0}

``ts_ms`` is the first sample's time, ``received_ms`` the last block's arrival. The samples
themselves were never kept (the fall detector has them live).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from devices.events import Event

MINUTE_MS = 60_000


@dataclass(slots=True)
class _Minute:
    first: Event
    minute: int
    blocks: int
    samples: int
    first_sample_ms: float
    last_sample_ms: float
    last_received_ms: int

    def event(self) -> Event:
        return replace(
            self.first,
            ts_ms=int(self.first_sample_ms),
            received_ms=self.last_received_ms,
            values={
                "blocks": self.blocks,
                "samples": self.samples,
                "span_ms": round(self.last_sample_ms - self.first_sample_ms, 1),
            },
            imu=None,
        )


class ImuMinutes:
    def __init__(self, grace_ms: int = 5_000) -> None:
        self.grace_ms = grace_ms
        """How long after its minute ends a device's minute waits for a block that was late."""
        self._open: dict[str, _Minute] = {}

    def __len__(self) -> int:
        return len(self._open)

    def add(self, event: Event) -> Event | None:
        """Take one IMU block; returns the device's previous minute when this block starts a new one."""
        imu = event.imu
        samples, first_t, last_t = 0, float(event.ts_ms), float(event.ts_ms)
        if imu is not None and len(imu):
            samples, first_t, last_t = len(imu), float(imu.t_ms[0]), float(imu.t_ms[-1])
        minute = event.received_ms // MINUTE_MS
        current = self._open.get(event.device_id)
        if current is not None and current.minute == minute:
            current.blocks += 1
            current.samples += samples
            current.first_sample_ms = min(current.first_sample_ms, first_t)
            current.last_sample_ms = max(current.last_sample_ms, last_t)
            current.last_received_ms = max(current.last_received_ms, event.received_ms)
            return None
        self._open[event.device_id] = _Minute(event, minute, 1, samples, first_t, last_t, event.received_ms)
        return current.event() if current is not None else None

    def due(self, now_ms: int) -> list[Event]:
        """The minutes over by ``now_ms`` (and its grace), handed over and forgotten."""
        cutoff = (now_ms - self.grace_ms) // MINUTE_MS
        over = [device for device, m in self._open.items() if m.minute < cutoff]
        return [self._open.pop(device).event() for device in over]

    def all(self) -> list[Event]:
        """Every minute still open (at a stop)."""
        events = [m.event() for m in self._open.values()]
        self._open.clear()
        return events
