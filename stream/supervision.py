"""Device supervision: offline (last will), silent devices, low batteries, unmonitored homes.

A sensor can also go on checking in while it no longer senses (a door magnet knocked off, a PIR
covered, a pad unplugged): each activity sensor learns how long it is usually mute while the home's
other sensors report, and is DEVICE_SILENT ("quiet beyond habit") once the rest of the home has
reported for several times that long without it. Left alone, such a sensor turns the resident's
ordinary days into inactivity alarms (a dead entrance-door contact makes every outing a silence at
home), so the notice is for whoever maintains the home's sensors.

Kept apart from resident inactivity: a dead sensor is a maintenance problem (DEVICE_SILENT,
DEVICE_OFFLINE, LOW_BATTERY), and a home whose activity sensors are all down is UNMONITORED, never
"inactive". :class:`~stream.device_table.DeviceTable` holds the columnar per-device state; the
home-activity detector keeps its own table to know when to hold back inactivity alerts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from devices.catalogue import BATTERY_SILENCE_S, MAINS_SILENCE_S, DeviceType
from devices.events import Event
from stream.detections import Detection, DetectionKind
from stream.device_table import Binding, DeviceTable
from stream.kernels import supervision as k
from stream.slots import SlotMap, grow


@dataclass(frozen=True, slots=True)
class SupervisionConfig:
    """Limits of device supervision.

    A heartbeat-capable device (one that has sent a ``status`` message) unheard for longer than its
    type's silence limit (:mod:`devices.catalogue`) is DEVICE_SILENT. ``silent_battery_s`` /
    ``silent_mains_s`` (s), when set, replace the limit of every battery- / mains-powered device (by
    its type's power source; a device that reports a battery level counts as battery-powered), and
    are the limits of devices restored from a snapshot that had no per-device limit.
    ``low_battery_pct``: LOW_BATTERY below this (%); ``battery_clear_pct``: a new episode only after
    recovering to this (%).

    Quiet beyond habit (:mod:`stream.kernels.supervision`): an activity sensor whose last activity
    message is followed by ``quiet_factor`` × its longest mute spell (faded by ``quiet_decay`` per
    day), and at least ``quiet_floor_s``, of the home's other sensors reporting is DEVICE_SILENT;
    only once it has sent ``quiet_min_events`` activity messages over ``quiet_learn_days``
    (``quiet_factor`` 0: off). Chosen on synthetic homes where one sensor per home stops sensing
    between day 10 and day 25 (``python -m lab.homes.sensor_loss``), against false notices on the same
    homes intact and on van Kasteren's house A. Tuning seeds 0–6 (84 losses, 2,940 home-days intact):
    factor 3 noticed 81 after 53 h on average for 4 false notices (a front door unused for two or
    three days while the resident stayed in, a kettle); factor 4 80 after 68 h for none (a floor of
    48 h: no fewer false notices at factor 3). Checked after: held-out seeds 7, 8, 21–23 56 of 60
    after 72 h, 1 false notice; validation 40–46 81 of 84, 85 h, 2; fresh 30–36 82 of 84, 65 h, 1;
    house A none. Tried and not kept: mute spells counted on an "alive clock" that advances by at
    most 2 h per gap between the home's messages (so a day at work or a weekend away counts little):
    house A's lost sensors were noticed in 41–57 h instead of 115–186 h (its resident is out at work
    every weekday), but its bathroom door, unused for 80 h of ordinary life, was noticed falsely even at
    factor 6; wall time spent by the rest of the home is the sturdier measure.
    """

    silent_battery_s: float | None = None
    silent_mains_s: float | None = None
    low_battery_pct: float = 20.0
    battery_clear_pct: float = 30.0
    quiet_factor: float = 4.0
    quiet_floor_s: float = 24 * 3600.0
    quiet_learn_days: float = 7.0
    quiet_min_events: int = 20
    quiet_decay: float = 0.97

    def __post_init__(self) -> None:
        if any(limit is not None and not limit > 0 for limit in (self.silent_battery_s, self.silent_mains_s)):
            raise ValueError("silence limits must be positive seconds")
        if not 0 <= self.low_battery_pct <= self.battery_clear_pct <= 100:
            raise ValueError("need 0 <= low_battery_pct <= battery_clear_pct <= 100")
        quiet = (self.quiet_factor, self.quiet_floor_s, self.quiet_learn_days, self.quiet_min_events)
        if not all(math.isfinite(v) and v >= 0 for v in quiet) or not 0 < self.quiet_decay <= 1:
            raise ValueError(
                "quiet_factor, quiet_floor_s, quiet_learn_days, quiet_min_events >= 0; quiet_decay in (0, 1]"
            )

    def params(self) -> npt.NDArray[np.float64]:
        p = np.zeros(k.N_SUP_PARAMS, dtype=np.float64)
        p[k.P_SILENT_BATTERY_S] = BATTERY_SILENCE_S if self.silent_battery_s is None else self.silent_battery_s
        p[k.P_SILENT_MAINS_S] = MAINS_SILENCE_S if self.silent_mains_s is None else self.silent_mains_s
        p[k.P_LOW_PCT] = self.low_battery_pct
        p[k.P_CLEAR_PCT] = self.battery_clear_pct
        p[k.P_QUIET_FACTOR] = self.quiet_factor
        p[k.P_QUIET_FLOOR_S] = self.quiet_floor_s
        p[k.P_QUIET_LEARN_S] = self.quiet_learn_days * 86400.0
        p[k.P_QUIET_MIN_N] = self.quiet_min_events
        p[k.P_QUIET_DECAY] = self.quiet_decay
        return p

    def silence_limit_s(self, kind: DeviceType) -> float:
        """The silence limit of a device of type ``kind`` (s)."""
        override = self.silent_mains_s if kind.mains else self.silent_battery_s
        return kind.silence_limit_s if override is None else override


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """One device as supervision sees it.

    ``last_seen_ms``: its last message (epoch ms); ``online``: false after its last will until it is
    heard again; ``silent``: DEVICE_SILENT (unheard for longer than its silence limit, ``limit_s``);
    ``battery_pct``: its last battery level (%; a bare ``battery_low`` flag reads as
    :data:`~stream.device_table.BATTERY_LOW_PCT` /
    :data:`~stream.device_table.BATTERY_OK_PCT`), ``None`` if never reported; ``low_battery``:
    a LOW_BATTERY episode is open; ``activity``: it is one of the home's activity sensors;
    ``not_sensing``: an activity sensor quiet beyond its habit (DEVICE_SILENT ``device_quiet``) and
    not sensing since, though perhaps still heard; ``last_sensed_ms``: its last activity message
    (epoch ms; ``None``: none yet).
    """

    device_id: str
    resident_id: str
    last_seen_ms: int
    online: bool
    silent: bool
    battery_pct: int | None
    low_battery: bool
    activity: bool
    limit_s: float
    not_sensing: bool = False
    last_sensed_ms: int | None = None


class SupervisionState(Protocol):
    """Read-only view of device supervision for the API (:class:`DeviceSupervisor` provides it)."""

    def device_health(self, device_ids: Iterable[str]) -> dict[str, DeviceHealth]:
        """The devices among ``device_ids`` heard since the state began (others are absent)."""
        ...

    def unmonitored_since(self, resident_ids: Iterable[str]) -> dict[str, int]:
        """The residents among ``resident_ids`` now UNMONITORED, with since when (epoch ms)."""
        ...


class DeviceSupervisor:
    """DEVICE_OFFLINE, DEVICE_SILENT, LOW_BATTERY per device; UNMONITORED per resident.

    Also the :class:`SupervisionState` the console's overview reads, as of the last batch or tick.
    """

    name = "supervision"

    def __init__(self, config: SupervisionConfig | None = None) -> None:
        self.config = config or SupervisionConfig()
        self.residents = SlotMap(64)
        self.devices = DeviceTable(self.residents, self.config)
        self.unmonitored = np.full(self.residents.capacity, -1, dtype=np.int64)
        self._device_resident: dict[str, str] = {}

    def device_health(self, device_ids: Iterable[str]) -> dict[str, DeviceHealth]:
        table = self.devices
        out: dict[str, DeviceHealth] = {}
        for device_id in device_ids:
            d = table.slots.get(device_id)
            if d is None or table.dev[d, k.D_LAST] < 0 or device_id in table.unheard:
                continue
            row = table.dev[d].tolist()
            out[device_id] = DeviceHealth(
                device_id=device_id,
                resident_id=self._device_resident.get(device_id, ""),
                last_seen_ms=row[k.D_LAST],
                online=row[k.D_ONLINE] == 1,
                silent=row[k.D_ONLINE] == 1 and row[k.D_SILENT_FIRED] == 1,
                battery_pct=row[k.D_BATTERY] if row[k.D_BATTERY] >= 0 else None,
                low_battery=row[k.D_LOW_FIRED] == 1,
                activity=row[k.D_ACTIVITY] == 1,
                limit_s=table.silence_limit_s(d),
                not_sensing=row[k.D_QUIET_FIRED] == 1,
                last_sensed_ms=row[k.D_LAST_ACT] if row[k.D_LAST_ACT] >= 0 else None,
            )
        return out

    def unmonitored_since(self, resident_ids: Iterable[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for resident_id in resident_ids:
            r = self.residents.get(resident_id)
            if r is not None and r < len(self.unmonitored) and self.unmonitored[r] >= 0:
                out[resident_id] = int(self.unmonitored[r])
        return out

    def process(self, events: Sequence[Event], now_ms: int) -> list[Detection]:
        out: list[Detection] = []
        offline = False
        for event, code, start in self.devices.update(events):
            self._device_resident[event.device_id] = event.resident_id
            offline = offline or code == k.K_OFFLINE
            if code == k.K_OFFLINE:
                kind, key = DetectionKind.DEVICE_OFFLINE, f"device_offline:{event.device_id}:{start}"
                details: dict[str, object] = {"reason": "last will: device reported offline"}
            else:
                kind, key = DetectionKind.LOW_BATTERY, f"low_battery:{event.device_id}:{start}"
                details = {"battery_pct": event.values.get("battery"), "threshold_pct": self.config.low_battery_pct}
            out.append(Detection(event.resident_id, event.device_id, kind, start, now_ms, key, details=details))
        for event in events:  # the latest event's resident: a device moved home is filed under its new one
            self._device_resident[event.device_id] = event.resident_id
        # The fleet-wide health scan only when this batch can change a home's monitoring: a last will,
        # or news from a home now unmonitored (monitored again). Silences are found on the tick.
        if offline or self._touches_unmonitored(events):
            out.extend(self._unmonitored(now_ms))
        return out

    def follow(self, bound: Mapping[str, Binding], now_ms: int) -> None:
        """Agree with the registry's live devices (:meth:`~stream.device_table.DeviceTable.follow`): at start
        and after each registry change. A home left without activity sensors is monitored again at the next tick."""
        self.devices.follow(bound, now_ms)
        self._device_resident = {device_id: bound[device_id].resident_id for device_id, _ in self.devices.slots.items()}

    def _touches_unmonitored(self, events: Sequence[Event]) -> bool:
        self.unmonitored = grow(self.unmonitored, self.residents.capacity, -1)
        slots = self.residents.slots(e.resident_id for e in events)
        return bool((self.unmonitored[slots] >= 0).any())

    def advance(self, now_ms: int) -> list[Detection]:
        out: list[Detection] = []
        table = self.devices
        for device_id, code, last in table.silent(now_ms):
            d = table.slots.get(device_id)
            details: dict[str, object] = {"silent_s": (now_ms - last) / 1000.0}
            if code == k.K_QUIET:
                key = f"device_quiet:{device_id}:{last}"
                details |= {
                    "threshold_s": table.quiet_limit_s(d) if d is not None else None,
                    "longest_mute_s": table.mute_spell_s(d) if d is not None else None,
                    "reason": "senses nothing while the home's other sensors report, far longer than usual: "
                    "it may be knocked off, covered or unplugged",
                    "reason_zh": "该传感器长时间没有感应到任何活动，而家中其他传感器仍在正常上报，远超平时："
                    "可能已脱落、被遮挡或断电，请安排检修",
                }
            else:
                key = f"device_silent:{device_id}:{last}"
                details |= {
                    "threshold_s": table.silence_limit_s(d) if d is not None else None,
                    "reason": "no message for longer than the device type allows",
                }
            resident = self._device_resident.get(device_id, "")
            out.append(Detection(resident, device_id, DetectionKind.DEVICE_SILENT, last, now_ms, key, details=details))
        out.extend(self._unmonitored(now_ms))
        return out

    def _unmonitored(self, now_ms: int) -> list[Detection]:
        n_res = len(self.residents._id_of)
        if n_res == 0:
            return []
        self.unmonitored = grow(self.unmonitored, self.residents.capacity, -1)
        monitored, since = self.devices.health(n_res, now_ms)
        out: list[Detection] = []
        newly = np.flatnonzero((monitored == 0) & (self.unmonitored[:n_res] < 0))
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
        self.unmonitored[:n_res] = np.where(monitored == 0, since, -1)
        return out

    def snapshot(self) -> dict[str, np.ndarray]:
        n_res = len(self.residents._id_of)
        state = self.devices.snapshot("dev_")
        state["residents"] = self.residents.to_array()
        state["unmonitored_since"] = self.unmonitored[:n_res].copy()
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
        self.unmonitored = np.full(self.residents.capacity, -1, dtype=np.int64)
        since = np.asarray(state["unmonitored_since"], dtype=np.int64)
        self.unmonitored[: len(since)] = since
        self._device_resident = {
            d: o
            for d, o in zip(
                self.devices.slots.to_array().tolist(), np.asarray(state["dev_owner"]).tolist(), strict=True
            )
            if d
        }
