"""The columnar state of a fleet's devices (:mod:`stream.kernels.supervision`), keyed by device id: when each
was last heard and last sensed, its power, battery and silence limit, and whom it belongs to, as the registry
binds it (:class:`Binding`, :meth:`DeviceTable.follow`). Device supervision
(:class:`stream.supervision.DeviceSupervisor`) and the home-activity detector each keep one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from devices.catalogue import ACTIVITY_STREAMS, device_type
from devices.events import Event, Stream
from stream.kernels import supervision as k
from stream.slots import SlotMap

if TYPE_CHECKING:
    from stream.supervision import SupervisionConfig


@dataclass(frozen=True, slots=True)
class Binding:
    """A live device as the registry binds it: to ``resident_id``, of type ``device_type``.

    ``heard_ms``: its last stored message (epoch ms; ``None``: unknown), where supervision starts its
    silence clock when it does not know the device yet (see :meth:`DeviceTable.follow`).
    """

    resident_id: str
    device_type: str
    heard_ms: int | None = None


class BoundDevice(Protocol):
    """What following the registry needs of a device record (``registry.store.DeviceRecord`` fits)."""

    @property
    def id(self) -> str: ...

    @property
    def resident_id(self) -> str | None: ...

    @property
    def type(self) -> str: ...


def bindings(devices: Iterable[BoundDevice], keep: Callable[[str], bool] | None = None) -> dict[str, Binding]:
    """The registry's ``devices`` that are bound to a resident (one ``keep`` keeps, if given), as
    :meth:`DeviceTable.follow` takes them."""
    return {
        d.id: Binding(d.resident_id, d.type) for d in devices if d.resident_id and (keep is None or keep(d.resident_id))
    }


def is_activity_sensor(event: Event) -> bool:
    return event.stream in ACTIVITY_STREAMS or device_type(event.device_type).activity


def is_activity_message(event: Event) -> bool:
    """Whether ``event`` is something an activity sensor sensed (not its status or heartbeat)."""
    return event.stream is not Stream.STATUS and is_activity_sensor(event)


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
        self.unheard: set[str] = set()
        """Devices watched since the registry named them (:meth:`adopt` with no stored message) and not heard
        since: their silence is supervised, but nothing was seen of them (no last-seen time, no state)."""
        self.dev = k.new_devices(self.slots.capacity)
        self.homes = k.new_homes(residents.capacity)

    def update(self, events: Sequence[Event]) -> list[tuple[Event, int, int]]:
        """Apply events (any streams); returns ``(event, code, start_ms)`` for OFFLINE / LOW_BATTERY."""
        if not events:
            return []
        if self.unheard:
            self.unheard.difference_update(e.device_id for e in events)
        count = len(events)
        slot = self.slots.slots([e.device_id for e in events])
        res = self.residents.slots([e.resident_id for e in events])
        self._fit()
        for i in np.flatnonzero(self.dev[slot, k.D_LIMIT_MS] == 0).tolist():  # catalogue facts, once per device
            event, d = events[i], int(slot[i])  # new, or restored from a snapshot without limits
            kind = device_type(event.device_type)
            mains_on_battery = kind.mains and self.dev[d, k.D_BATTERY] >= 0
            self.dev[d, k.D_ACTIVITY] = 1 if is_activity_sensor(event) else 0
            self.dev[d, k.D_CLASS] = 1 if kind.mains and not mains_on_battery else 0
            limit_ms = round(self.config.silence_limit_s(kind) * 1000.0)
            self.dev[d, k.D_LIMIT_MS] = -1 if mains_on_battery else limit_ms
        online_of, battery_of, status_of = [k.NO_VALUE] * count, [k.NO_VALUE] * count, [0] * count
        act_of = [0] * count
        stored: list[int] = []  # the broker's retained copies, sent again on subscribing: no news that a device lives
        for i, event in enumerate(events):
            if event.stream is Stream.STATUS:
                status_of[i], online_of[i], battery_of[i] = 1, _online(event), _battery(event)
            elif is_activity_message(event):
                act_of[i] = 1
            if event.values.get("retained"):
                stored.append(i)
        ts = np.array([e.ts_ms for e in events], dtype=np.int64)
        if stored:
            heard = self.dev[slot[stored], k.D_LAST]
            ts[stored] = np.where(heard >= 0, np.minimum(ts[stored], heard), ts[stored])
        online = np.array(online_of, dtype=np.int64)
        battery = np.array(battery_of, dtype=np.int64)
        is_status = np.array(status_of, dtype=np.int64)
        has_battery = battery >= 0
        if has_battery.any():  # a mains type on batteries: the battery limit
            mains = slot[has_battery][self.dev[slot[has_battery], k.D_CLASS] == 1]
            self.dev[mains, k.D_CLASS] = 0
            self.dev[mains, k.D_LIMIT_MS] = -1
        out = np.zeros((2 * count, 3), dtype=np.int64)
        is_act = np.array(act_of, dtype=np.int64)
        n = k.supervise_process(
            self.dev, slot, res, ts, online, battery, is_status, is_act, self.homes, self.params, out
        )
        return [(events[int(i)], int(code), int(start)) for i, code, start in out[:n].tolist()]

    def _fit(self) -> None:
        """Grow the device and home rows to the slot maps' capacities."""
        if self.dev.shape[0] < self.slots.capacity:
            grown = k.new_devices(self.slots.capacity)
            grown[: self.dev.shape[0]] = self.dev
            self.dev = grown
        if self.homes.shape[0] < self.residents.capacity:
            homes = k.new_homes(self.residents.capacity)
            homes[: self.homes.shape[0]] = self.homes
            self.homes = homes

    def follow(self, bound: Mapping[str, Binding], now_ms: int) -> None:
        """Agree with the registry's live devices ``bound`` (device id → :class:`Binding`).

        The gateway refuses a retired or replaced device's messages, so such a device can only look
        silent: one no longer bound (retired, replaced, unbound) is forgotten, or it would raise
        DEVICE_SILENT and leave its home UNMONITORED forever. One bound to another resident (moved) is
        filed under them, so its silence is said on the home that has it. One bound but unknown here (heard
        only after the last snapshot, or never) is watched from its last stored message
        (``Binding.heard_ms``) or else from ``now_ms`` (epoch ms), so a device that died in a crash still
        falls silent.
        """
        for device_id, d in self.slots.items():
            binding = bound.get(device_id)
            if binding is None:
                self.forget(device_id)
            elif self.owner(d) != binding.resident_id:
                self.refile(d, binding.resident_id)
        for device_id, binding in bound.items():
            if device_id not in self.slots:
                heard = now_ms if binding.heard_ms is None else binding.heard_ms
                self.adopt(device_id, binding.resident_id, binding.device_type, heard)
                if binding.heard_ms is None:
                    self.unheard.add(device_id)

    def owner(self, d: int) -> str | None:
        """The resident device slot ``d`` is filed under (``None``: none yet)."""
        r = int(self.dev[d, k.D_RES])
        return self.residents.id_of(r) if r >= 0 else None

    def forget(self, device_id: str) -> None:
        """Drop a device's row (its slot is reused); its home's activity stays as it was."""
        self.unheard.discard(device_id)
        d = self.slots.release(device_id)
        if d is None:
            return
        self.dev[d] = k.new_devices(1)[0]
        self.homes[self.homes[:, k.H_LAST_DEV] == d, k.H_LAST_DEV] = -1

    def refile(self, d: int, resident_id: str) -> None:
        """File device slot ``d`` under ``resident_id``. Its mute spells were learned in its old home, whose
        other sensors set them: its habit is learned again in the new one."""
        r, _ = self.residents.slot(resident_id)
        self._fit()
        self.homes[self.homes[:, k.H_LAST_DEV] == d, k.H_LAST_DEV] = -1
        self.dev[d, k.D_RES] = r
        self.dev[d, [k.D_FIRST_ACT, k.D_LAST_ACT]] = -1
        self.dev[d, [k.D_ACT_N, k.D_MUTE_MAX, k.D_QUIET_FIRED]] = 0

    def adopt(self, device_id: str, resident_id: str, device_type_name: str, heard_ms: int) -> None:
        """Watch a device not heard here yet as last heard at ``heard_ms`` (epoch ms), with its type's
        catalogue facts; its silence is supervised (the registry says it is in the home, so it should speak)."""
        d, _ = self.slots.slot(device_id)
        r, _ = self.residents.slot(resident_id)
        self._fit()
        kind = device_type(device_type_name)
        self.dev[d] = k.new_devices(1)[0]
        self.dev[d, k.D_RES] = r
        self.dev[d, k.D_LAST] = heard_ms
        self.dev[d, k.D_HEART] = 1
        self.dev[d, k.D_ACTIVITY] = 1 if kind.activity else 0
        self.dev[d, k.D_CLASS] = 1 if kind.mains else 0
        self.dev[d, k.D_LIMIT_MS] = round(self.config.silence_limit_s(kind) * 1000.0)

    def silence_limit_s(self, d: int) -> float:
        """The silence limit of device slot ``d`` (s), as the kernels apply it."""
        own = int(self.dev[d, k.D_LIMIT_MS])
        if own > 0:
            return own / 1000.0
        return float(self.params[k.P_SILENT_MAINS_S if self.dev[d, k.D_CLASS] == 1 else k.P_SILENT_BATTERY_S])

    def silent(self, now_ms: int) -> list[tuple[str, int, int]]:
        """Newly silent devices at ``now_ms``: ``(device_id, code, since_ms)``; ``code`` ``K_SILENT`` (since
        its last message) or ``K_QUIET`` (since its last activity message)."""
        n_dev = len(self.slots._id_of)
        out = np.zeros((max(1, 2 * n_dev), 3), dtype=np.int64)
        n = k.supervise_advance(self.dev, n_dev, now_ms, self.homes, self.params, out)
        return [(self.slots.id_of(int(d)) or "", int(code), int(start)) for d, code, start in out[:n].tolist()]

    def not_sensing(self, resident_slot: int) -> list[str]:
        """The activity sensors of resident slot ``resident_slot`` quiet beyond their habit (as of the last
        :meth:`silent`) and not sensing since."""
        n = len(self.slots._id_of)
        rows = self.dev[:n]
        found = np.flatnonzero((rows[:, k.D_RES] == resident_slot) & (rows[:, k.D_QUIET_FIRED] == 1))
        return [self.slots.id_of(int(d)) or "" for d in found.tolist()]

    def quiet_limit_s(self, d: int) -> float | None:
        """How long device slot ``d``'s home may report without it before it is quiet beyond habit
        (s; ``None`` until learned or when off)."""
        limit = int(k.quiet_limit_ms(self.dev, d, self.params))
        return limit / 1000.0 if limit >= 0 else None

    def mute_spell_s(self, d: int) -> float:
        """Device slot ``d``'s faded longest mute spell while its home's other sensors reported (s)."""
        return int(self.dev[d, k.D_MUTE_MAX]) / 1000.0

    def health(self, n_res: int, now_ms: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        """Per resident slot ``(monitored, since_ms)``, see :func:`stream.kernels.supervision.home_health`."""
        return k.home_health(self.dev, len(self.slots._id_of), n_res, now_ms, self.params)

    def snapshot(self, prefix: str) -> dict[str, np.ndarray]:
        n = len(self.slots._id_of)
        return {
            f"{prefix}ids": self.slots.to_array(),
            f"{prefix}state": self.dev[:n].copy(),
            f"{prefix}homes": self.homes[: len(self.residents._id_of)].copy(),
        }

    def restore(self, state: Mapping[str, np.ndarray], prefix: str) -> None:
        if f"{prefix}ids" not in state:
            return
        ids = np.asarray(state[f"{prefix}ids"])
        rows = np.asarray(state[f"{prefix}state"], dtype=np.int64)
        self.slots = SlotMap.from_array(ids, max(64, len(ids)))
        while self.slots.capacity < len(ids):
            self.slots.capacity *= 2
        self.dev = k.new_devices(self.slots.capacity)
        self.dev[: len(rows), : rows.shape[1]] = rows  # older snapshots lack the last columns
        self.homes = k.new_homes(max(self.residents.capacity, 1))
        if f"{prefix}homes" in state:  # older snapshots: the homes' latest activity is learned again
            homes = np.asarray(state[f"{prefix}homes"], dtype=np.int64)
            self.homes[: len(homes)] = homes
