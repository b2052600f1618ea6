"""Device supervision: offline (last will), silent devices, low batteries, unmonitored homes.

Kept apart from resident inactivity: a dead sensor is a maintenance problem (DEVICE_SILENT,
DEVICE_OFFLINE, LOW_BATTERY), and a home whose activity sensors are all down is UNMONITORED, never
"inactive". :class:`DeviceTable` holds the columnar per-device state; the home-activity detector
keeps its own table to know when to hold back inactivity alerts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from devices.events import Event, Stream
from stream.detections import Detection, DetectionKind
from stream.kernels import supervision as k
from stream.slots import SlotMap, grow

ACTIVITY_STREAMS = frozenset(
    {Stream.MOTION, Stream.CONTACT, Stream.BED, Stream.SEAT, Stream.PRESENCE, Stream.VIBRATION}
)
ACTIVITY_TYPES = frozenset(
    {
        "pir",
        "motion",
        "door",
        "contact",
        "flush",
        "appliance",
        "bed",
        "seat",
        "presence",
        "radar",
        "fall_radar",
        "vibration",
    }
)


@dataclass(frozen=True, slots=True)
class SupervisionConfig:
    """Limits of device supervision.

    ``silent_battery_s`` / ``silent_mains_s``: a heartbeat-capable device (one that has sent a
    ``status`` message) unheard for longer is DEVICE_SILENT (s). ``low_battery_pct``: LOW_BATTERY
    below this (%); ``battery_clear_pct``: a new episode only after recovering to this (%).
    ``mains_types``: device types powered from the mains (others are assumed battery-powered unless
    they report a battery level).
    """

    silent_battery_s: float = 6 * 3600.0
    silent_mains_s: float = 10 * 60.0
    low_battery_pct: float = 20.0
    battery_clear_pct: float = 30.0
    mains_types: frozenset[str] = frozenset(
        {"appliance", "plug", "hub", "gateway", "radar", "presence", "fall_radar", "camera"}
    )

    def __post_init__(self) -> None:
        if self.silent_battery_s <= 0 or self.silent_mains_s <= 0:
            raise ValueError("silence limits must be positive seconds")
        if not 0 <= self.low_battery_pct <= self.battery_clear_pct <= 100:
            raise ValueError("need 0 <= low_battery_pct <= battery_clear_pct <= 100")

    def params(self) -> npt.NDArray[np.float64]:
        p = np.zeros(k.N_SUP_PARAMS, dtype=np.float64)
        p[k.P_SILENT_BATTERY_S] = self.silent_battery_s
        p[k.P_SILENT_MAINS_S] = self.silent_mains_s
        p[k.P_LOW_PCT] = self.low_battery_pct
        p[k.P_CLEAR_PCT] = self.battery_clear_pct
        return p


def is_activity_sensor(event: Event) -> bool:
    return event.stream in ACTIVITY_STREAMS or event.device_type in ACTIVITY_TYPES


BATTERY_LOW_PCT = 10
"""The level taken for a device that only says ``battery_low: true`` (many Zigbee IAS sensors)."""
BATTERY_OK_PCT = 50
"""The level taken for ``battery_low: false`` without a level: above any clearing threshold."""


def _battery(event: Event) -> int:
    if event.stream is not Stream.STATUS:
        return k.NO_VALUE
    value = event.values.get("battery")
    if isinstance(value, bool) or not isinstance(value, int | float):
        low = event.values.get("battery_low")
        if isinstance(low, bool):
            return BATTERY_LOW_PCT if low else BATTERY_OK_PCT
        return k.NO_VALUE
    return int(max(0, min(100, value)))


def _online(event: Event) -> int:
    if event.stream is not Stream.STATUS or "online" not in event.values:
        return k.NO_VALUE
    return 1 if bool(event.values["online"]) else 0


class DeviceTable:
    """Columnar per-device state (:mod:`stream.kernels.supervision`) keyed by device id.

    ``residents`` is the owning detector's resident slot map: device rows store resident slots.
    """

    def __init__(self, residents: SlotMap, config: SupervisionConfig) -> None:
        self.residents = residents
        self.config = config
        self.params = config.params()
        self.slots = SlotMap(64)
        self.dev = k.new_devices(self.slots.capacity)

    def update(self, events: Sequence[Event]) -> list[tuple[Event, int, int]]:
        """Apply events (any streams); returns ``(event, code, start_ms)`` for OFFLINE / LOW_BATTERY."""
        if not events:
            return []
        slot = self.slots.slots(e.device_id for e in events)
        res = self.residents.slots(e.resident_id for e in events)
        if self.dev.shape[0] < self.slots.capacity:
            grown = k.new_devices(self.slots.capacity)
            grown[: self.dev.shape[0]] = self.dev
            self.dev = grown
        for event, d in zip(events, slot.tolist(), strict=True):  # registry facts, cheap
            if self.dev[d, k.D_LAST] < 0:
                self.dev[d, k.D_ACTIVITY] = 1 if is_activity_sensor(event) else 0
                self.dev[d, k.D_CLASS] = 1 if event.device_type in self.config.mains_types else 0
        ts = np.fromiter((e.ts_ms for e in events), dtype=np.int64, count=len(events))
        online = np.fromiter((_online(e) for e in events), dtype=np.int64, count=len(events))
        battery = np.fromiter((_battery(e) for e in events), dtype=np.int64, count=len(events))
        is_status = np.fromiter((e.stream is Stream.STATUS for e in events), dtype=np.int64, count=len(events))
        has_battery = battery >= 0
        if has_battery.any():
            self.dev[slot[has_battery], k.D_CLASS] = 0
        out = np.zeros((2 * len(events), 3), dtype=np.int64)
        n = k.supervise_process(self.dev, slot, res, ts, online, battery, is_status, self.params, out)
        return [(events[int(i)], int(code), int(start)) for i, code, start in out[:n].tolist()]

    def silent(self, now_ms: int) -> list[tuple[str, int]]:
        """Newly silent devices at ``now_ms``: ``(device_id, last_seen_ms)``."""
        n_dev = len(self.slots._id_of)
        out = np.zeros((max(1, n_dev), 3), dtype=np.int64)
        n = k.supervise_advance(self.dev, n_dev, now_ms, self.params, out)
        return [(self.slots.id_of(int(d)) or "", int(start)) for d, _, start in out[:n].tolist()]

    def health(self, n_res: int, now_ms: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        """Per resident slot ``(monitored, since_ms)``, see :func:`stream.kernels.supervision.home_health`."""
        return k.home_health(self.dev, len(self.slots._id_of), n_res, now_ms, self.params)

    def snapshot(self, prefix: str) -> dict[str, np.ndarray]:
        n = len(self.slots._id_of)
        return {f"{prefix}ids": self.slots.to_array(), f"{prefix}state": self.dev[:n].copy()}

    def restore(self, state: Mapping[str, np.ndarray], prefix: str) -> None:
        if f"{prefix}ids" not in state:
            return
        ids = np.asarray(state[f"{prefix}ids"])
        rows = np.asarray(state[f"{prefix}state"], dtype=np.int64)
        self.slots = SlotMap.from_array(ids, max(64, len(ids)))
        while self.slots.capacity < len(ids):
            self.slots.capacity *= 2
        self.dev = k.new_devices(self.slots.capacity)
        self.dev[: len(rows)] = rows


class DeviceSupervisor:
    """DEVICE_OFFLINE, DEVICE_SILENT, LOW_BATTERY per device; UNMONITORED per resident."""

    name = "supervision"

    def __init__(self, config: SupervisionConfig | None = None) -> None:
        self.config = config or SupervisionConfig()
        self.residents = SlotMap(64)
        self.devices = DeviceTable(self.residents, self.config)
        self.unmonitored_since = np.full(self.residents.capacity, -1, dtype=np.int64)
        self._device_resident: dict[str, str] = {}

    def process(self, events: Sequence[Event], now_ms: int) -> list[Detection]:
        out: list[Detection] = []
        for event, code, start in self.devices.update(events):
            self._device_resident[event.device_id] = event.resident_id
            if code == k.K_OFFLINE:
                kind, key = DetectionKind.DEVICE_OFFLINE, f"device_offline:{event.device_id}:{start}"
                details: dict[str, object] = {"reason": "last will: device reported offline"}
            else:
                kind, key = DetectionKind.LOW_BATTERY, f"low_battery:{event.device_id}:{start}"
                details = {"battery_pct": event.values.get("battery"), "threshold_pct": self.config.low_battery_pct}
            out.append(Detection(event.resident_id, event.device_id, kind, start, now_ms, key, details=details))
        for event in events:
            self._device_resident.setdefault(event.device_id, event.resident_id)
        out.extend(self._unmonitored(now_ms))
        return out

    def advance(self, now_ms: int) -> list[Detection]:
        out: list[Detection] = []
        for device_id, last in self.devices.silent(now_ms):
            d = self.devices.slots.get(device_id)
            limit = (
                self.config.silent_mains_s
                if d is not None and self.devices.dev[d, k.D_CLASS] == 1
                else self.config.silent_battery_s
            )
            out.append(
                Detection(
                    self._device_resident.get(device_id, ""),
                    device_id,
                    DetectionKind.DEVICE_SILENT,
                    last,
                    now_ms,
                    f"device_silent:{device_id}:{last}",
                    details={
                        "silent_s": (now_ms - last) / 1000.0,
                        "threshold_s": limit,
                        "reason": "no message for longer than the device class allows",
                    },
                )
            )
        out.extend(self._unmonitored(now_ms))
        return out

    def _unmonitored(self, now_ms: int) -> list[Detection]:
        n_res = len(self.residents._id_of)
        if n_res == 0:
            return []
        self.unmonitored_since = grow(self.unmonitored_since, self.residents.capacity, -1)
        monitored, since = self.devices.health(n_res, now_ms)
        out: list[Detection] = []
        newly = np.flatnonzero((monitored == 0) & (self.unmonitored_since[:n_res] < 0))
        for r in newly.tolist():
            resident = self.residents.id_of(r) or ""
            out.append(
                Detection(
                    resident,
                    "",
                    DetectionKind.UNMONITORED,
                    int(since[r]),
                    now_ms,
                    f"unmonitored:{resident}:{int(since[r])}",
                    details={"reason": "every activity sensor of the home is offline or silent"},
                )
            )
        self.unmonitored_since[:n_res] = np.where(monitored == 0, since, -1)
        return out

    def snapshot(self) -> dict[str, np.ndarray]:
        n_res = len(self.residents._id_of)
        state = self.devices.snapshot("dev_")
        state["residents"] = self.residents.to_array()
        state["unmonitored_since"] = self.unmonitored_since[:n_res].copy()
        owners = [self._device_resident.get(d or "", "") for d in self.devices.slots._id_of]
        state["dev_owner"] = np.array(owners, dtype=np.str_)
        return state

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        if "residents" not in state:
            return
        ids = np.asarray(state["residents"])
        self.residents = SlotMap.from_array(ids, max(64, len(ids)))
        while self.residents.capacity < len(ids):
            self.residents.capacity *= 2
        self.devices = DeviceTable(self.residents, self.config)
        self.devices.restore(state, "dev_")
        self.unmonitored_since = np.full(self.residents.capacity, -1, dtype=np.int64)
        since = np.asarray(state["unmonitored_since"], dtype=np.int64)
        self.unmonitored_since[: len(since)] = since
        self._device_resident = {
            d: o
            for d, o in zip(
                self.devices.slots.to_array().tolist(), np.asarray(state["dev_owner"]).tolist(), strict=True
            )
            if d
        }
