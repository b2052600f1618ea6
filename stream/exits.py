"""NIGHT_EXIT: a resident known to wander goes out through the entrance door at night and stays out.

For a resident with a night-exit watch in the archive (``night_watch_of``: the registry's record, a
window of local time such as 22:00–06:00), the entrance door opened or closed in the window starts a
short wait (``grace_s``, 10 minutes); activity inside the home after the door ends it (they only
opened it, or came back in). If nothing inside has moved when the wait runs out, NIGHT_EXIT is raised
at once (``rule``: ``door_in_watch``): someone should go and look, or call, while the resident is still
near. A resident who went out before the watch began and has not been seen inside since is raised when
it begins (``out_when_watch_began``): the watch says by when they should be home. The kernel and its
math are in :mod:`stream.kernels.exits`.

What counts as activity inside: motion, an inner door, a cupboard, the toilet flush, an appliance, a
vibration sensor, a pad becoming occupied. Not a radar's presence (it can hold "present" for a while
after someone has left its field), not a pad letting go (a sticky pad does so late), not a motion
sensor clearing. The first activity inside after a NIGHT_EXIT is the resident back inside: a
MOVING_AGAIN notice on that alert (:mod:`stream.notices`). Residents without a watch are not watched,
whatever their doors do: going out at night is no alarm for most people (the home detector treats it
as being away). A home without an entrance-door contact cannot be watched this way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone

import numpy as np

from devices.events import Event, Stream
from stream.detections import Detection, DetectionKind
from stream.kernels import exits as x
from stream.notices import moving_again
from stream.slots import SlotMap, grow

Watch = tuple[int, int]
"""A night-exit watch: from and until (exclusive) in minutes after local midnight; ``from > until``
crosses midnight (22:00–06:00 is ``(1320, 360)``)."""

WATCH_REFRESH_MS = 3_600_000
"""How often (ms of stream time) the watches of the residents seen are asked again (``night_watch_of``)."""

log = logging.getLogger("eldercare.stream")


def exit_code(event: Event) -> int:
    """What one event says of where the resident is (:data:`stream.kernels.exits.XE_*`)."""
    stream, values = event.stream, event.values
    if stream is Stream.CONTACT:
        return x.XE_DOOR if event.device_type == "door" else x.XE_INSIDE
    if stream is Stream.MOTION:
        return x.XE_INSIDE if bool(values.get("occupancy", False)) else x.XE_NONE
    if stream is Stream.BED or stream is Stream.SEAT:  # a pad letting go: not evidence (a sticky one does late)
        return x.XE_INSIDE if bool(values.get("occupied", False)) else x.XE_NONE
    if stream is Stream.VIBRATION:
        return x.XE_INSIDE
    return x.XE_NONE


def watch_text(watch: Watch) -> str:
    """``(1320, 360)`` → ``"22:00-06:00"``."""
    return "-".join(f"{m // 60:02d}:{m % 60:02d}" for m in watch)


def _check_watch(watch: Watch) -> Watch:
    start, end = watch
    for value in (start, end):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < x.DAY_MIN:
            raise ValueError(f"a watch is minutes after local midnight, 0..1439 (got {watch!r})")
    if start == end:
        raise ValueError(f"a watch needs a start and an end that differ (got {watch!r})")
    return start, end


class NightExitDetector:
    """NIGHT_EXIT per resident with a night-exit watch, from the entrance door and activity inside.

    Only watched residents take a row of state; another's events cost a set lookup. A resident watched
    afresh starts with nothing known (what passed while unwatched was not followed)."""

    name = "exits"

    def __init__(
        self,
        *,
        grace_s: float = 600.0,
        utc_offset_min: int = 0,
        night_watch_of: Callable[[str], Watch | None] | None = None,
    ) -> None:
        if not 60.0 <= grace_s <= 3600.0:
            raise ValueError(f"grace_s must be 60..3600 s (got {grace_s!r})")
        self.grace_ms = int(grace_s * 1000)
        self.offset = int(utc_offset_min)
        self.night_watch_of = night_watch_of
        """The archive's watch of a resident (the registry's ``night_watch_of``), asked when a resident
        is first seen and every ``WATCH_REFRESH_MS`` after; None: only :meth:`set_watch`."""
        self.watches: dict[str, Watch | None] = {}
        self._asked_ms: int | None = None
        self.residents = SlotMap(64)
        self.state = x.new_exit_state(self.residents.capacity, self.offset)
        self._doors: dict[str, str] = {}  # resident → the entrance door's device id, as last seen

    def set_watch(self, resident_id: str, watch: Watch | None) -> None:
        """Watch one resident's nights (``(from, until)`` minutes after local midnight), or no longer (None)."""
        watch = None if watch is None else _check_watch(watch)
        before = self.watches.get(resident_id)
        self.watches[resident_id] = watch
        if watch is not None and before is None:  # watched afresh: what passed unwatched is not known
            fresh, _ = self.residents.slot(resident_id)
            self.state = grow(self.state, self.residents.capacity, -1)
            self.state[fresh] = x.new_exit_state(1, self.offset)[0]
        slot = self.residents.get(resident_id)
        if slot is not None:
            self.state[slot, x.X_FROM], self.state[slot, x.X_TO] = watch or (-1, -1)

    def _ask(self, resident_id: str) -> None:
        """Take the archive's watch of one resident; a value it should never hold is logged and left out."""
        assert self.night_watch_of is not None
        try:
            watch = self.night_watch_of(resident_id)
            if watch != self.watches.get(resident_id) or resident_id not in self.watches:
                self.set_watch(resident_id, watch)
        except (TypeError, ValueError) as error:
            self.watches.setdefault(resident_id, None)  # asked: not asked again before the hour
            log.warning("night-exit watch left out", extra={"resident_id": resident_id, "error": str(error)[:200]})

    def _watched(self, events: Sequence[Event]) -> set[str]:
        """The residents of ``events`` with a watch, asking the archive of those not asked yet."""
        ids = {e.resident_id for e in events}
        if self.night_watch_of is not None:
            for rid in ids - self.watches.keys():
                self._ask(rid)
        watches = self.watches
        return {rid for rid in ids if watches.get(rid) is not None}

    def _refresh(self, now_ms: int) -> None:
        if self.night_watch_of is None:
            return
        asked = self._asked_ms
        if asked is not None and 0 <= now_ms - asked < WATCH_REFRESH_MS:
            return
        self._asked_ms = now_ms
        for rid in list(self.watches):
            self._ask(rid)

    def process(self, events: Sequence[Event], now_ms: int) -> list[Detection]:
        watched = self._watched(events)
        if not watched:
            return []
        coded = [(e, c) for e in events if e.resident_id in watched and (c := exit_code(e)) != x.XE_NONE]
        if not coded:
            return []
        for event, code in coded:
            if code == x.XE_DOOR:
                self._doors[event.resident_id] = event.device_id
        res = self.residents.slots([e.resident_id for e, _ in coded])
        ts = np.fromiter((e.ts_ms for e, _ in coded), dtype=np.int64, count=len(coded))
        codes = np.fromiter((c for _, c in coded), dtype=np.int64, count=len(coded))
        out = np.zeros((2 * len(coded), 5), dtype=np.int64)
        n = x.exits_process(self.state, res, ts, codes, self.grace_ms, out)

        def event_at(r: int, t: int) -> Event | None:
            """The activity inside of slot ``r`` at ``t`` that ended a told night out."""
            hits = np.flatnonzero((res == r) & (ts == t) & (codes == x.XE_INSIDE))
            return coded[int(hits[0])][0] if hits.size else None

        return self._detections(out[:n], now_ms, event_at)

    def advance(self, now_ms: int) -> list[Detection]:
        self._refresh(now_ms)  # also while nobody is watched: a watch newly set in the archive is taken
        n_res = len(self.residents._id_of)
        if n_res == 0:
            return []
        out = np.zeros((n_res, 5), dtype=np.int64)
        n = x.exits_advance(self.state, n_res, now_ms, self.grace_ms, out)
        return self._detections(out[:n], now_ms)

    def _local(self, ms: int, offset_min: int) -> str:
        zone = timezone(timedelta(minutes=offset_min))
        return datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).strftime("%H:%M")

    def _detections(
        self, rows: np.ndarray, now_ms: int, event_at: Callable[[int, int], Event | None] | None = None
    ) -> list[Detection]:
        found: list[Detection] = []
        for r, exit_ms, due_ms, door_ms, inside_ms in rows.tolist():
            resident = self.residents.id_of(r) or ""
            if due_ms == x.BACK:  # back inside after the NIGHT_EXIT: a notice on it (``event_at`` finds the event)
                event = event_at(r, inside_ms) if event_at is not None else None
                if event is not None:
                    found.append(moving_again(resident, DetectionKind.NIGHT_EXIT, exit_ms, event, now_ms))
                continue
            offset = int(self.state[r, x.X_OFFSET])
            watch = (int(self.state[r, x.X_FROM]), int(self.state[r, x.X_TO]))
            minutes = self.grace_ms // 60_000
            at_night = x.in_watch(exit_ms, offset, *watch) or x.in_watch(door_ms, offset, *watch)
            if at_night:
                reason = (
                    f"the entrance door opened at {self._local(exit_ms, offset)}, in the night-exit watch "
                    f"({watch_text(watch)}), and nothing inside has moved in the {minutes} min since: the "
                    "resident may have gone out"
                )
            else:
                reason = (
                    f"out through the entrance door since {self._local(exit_ms, offset)} and nothing inside has "
                    f"moved since, when the night-exit watch ({watch_text(watch)}) began: not back home"
                )
            details: dict[str, object] = {
                "exit_ms": exit_ms,
                "door_ms": door_ms,
                "last_inside_ms": None if inside_ms < 0 else inside_ms,
                "grace_s": self.grace_ms / 1000.0,
                "watch": watch_text(watch),
                "rule": "door_in_watch" if at_night else "out_when_watch_began",
                "reason": reason,
            }
            key = f"{DetectionKind.NIGHT_EXIT.value}:{resident}:{exit_ms}"
            device = self._doors.get(resident, "")
            found.append(Detection(resident, device, DetectionKind.NIGHT_EXIT, exit_ms, now_ms, key, details=details))
        return found

    def snapshot(self) -> dict[str, np.ndarray]:
        n = len(self.residents._id_of)
        return {"residents": self.residents.to_array(), "state": self.state[:n].copy()}

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        residents = SlotMap.from_snapshot(state, "residents")
        if residents is None:
            return
        self.residents = residents
        self.state = x.new_exit_state(residents.capacity, self.offset)
        n = len(residents._id_of)
        self.state[:n] = np.asarray(state["state"], dtype=np.int64)
        for r in range(n):
            rid = residents.id_of(r)
            if rid is None:
                continue
            if rid in self.watches:  # set before the restore: it wins over the snapshot's
                self.state[r, x.X_FROM], self.state[r, x.X_TO] = self.watches[rid] or (-1, -1)
            else:  # the snapshot's, so the archive's same watch asked again does not start the resident afresh
                start, end = int(self.state[r, x.X_FROM]), int(self.state[r, x.X_TO])
                self.watches[rid] = None if start < 0 else (start, end)
