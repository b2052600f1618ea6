"""Safety sensors: smoke, gas and water leaks become detections at once, once per episode.

An episode of a (device, channel) opens on the first ``true`` and closes on ``false``; only its
opening is reported (kernel :func:`stream.kernels.supervision.episode_starts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from devices.events import Event, Stream
from stream.detections import Detection, DetectionKind
from stream.kernels.supervision import episode_starts
from stream.slots import SlotMap, grow

CHANNELS = ("smoke", "gas", "water_leak")
KINDS = (DetectionKind.SMOKE, DetectionKind.GAS, DetectionKind.WATER_LEAK)


def _flag(values: Mapping[str, object], name: str) -> int:
    if name not in values:
        return -1
    value = values[name]
    if isinstance(value, str):
        return 1 if value.strip().lower() in ("1", "true", "on", "yes", "detected") else 0
    return 1 if bool(value) else 0


class SafetyDetector:
    """SMOKE / GAS / WATER_LEAK per device, once per episode."""

    name = "safety"

    def __init__(self) -> None:
        self.devices = SlotMap(64)
        self.active = np.zeros((self.devices.capacity, len(CHANNELS)), dtype=np.int8)

    def process(self, events: Sequence[Event], now_ms: int) -> list[Detection]:
        env = [e for e in events if e.stream is Stream.ENV]
        if not env:
            return []
        slot = self.devices.slots(e.device_id for e in env)
        self.active = grow(self.active, self.devices.capacity, 0)
        flags = np.array([[_flag(e.values, c) for c in CHANNELS] for e in env], dtype=np.int64)
        out = np.zeros((len(env) * len(CHANNELS), 2), dtype=np.int64)
        n = episode_starts(self.active, slot, flags, out)
        found: list[Detection] = []
        for i, c in out[:n].tolist():
            event = env[i]
            kind = KINDS[c]
            found.append(
                Detection(
                    event.resident_id,
                    event.device_id,
                    kind,
                    event.ts_ms,
                    now_ms,
                    f"{kind.value}:{event.device_id}:{event.ts_ms}",
                    details={"location": event.location, "reason": f"{CHANNELS[c]} reported by the sensor"},
                )
            )
        return found

    def advance(self, now_ms: int) -> list[Detection]:
        return []

    def snapshot(self) -> dict[str, np.ndarray]:
        n = len(self.devices._id_of)
        return {"devices": self.devices.to_array(), "active": self.active[:n].copy()}

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        devices = SlotMap.from_snapshot(state, "devices")
        if devices is None:
            return
        self.devices = devices
        self.active = np.zeros((devices.capacity, len(CHANNELS)), dtype=np.int8)
        self.active[: len(devices._id_of)] = np.asarray(state["active"], dtype=np.int8)
