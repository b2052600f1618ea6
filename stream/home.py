"""Inactivity from home sensors: silence against each home's own routine, learned online.

:class:`HomeActivityDetector` turns motion, contact, door, flush, appliance and bed/seat-pad events
into silence timers (kernels in :mod:`stream.kernels.home`). Every activity starts a new silence;
its context (resting: in bed, or seated or in the bedroom at night, or on a night-time trip from
bed: the bathroom, or another room once tonight's rest has lasted ``trip_rest_s``; seated: seat pad
by day; bedroom: other activity in the bedroom by day; away: the entrance door; in the bathroom:
bathroom motion; otherwise active) and the local hours it runs into choose the limit:

- learned: the silence is judged against every local hour it runs into, not only the hour it began
  in: it alerts at the first moment its elapsed length exceeds ``margin ×`` the silence this home
  has been in more than ``rate`` times a day while the clock was in that hour (day-faded counts over
  day-faded days of history; each completed silence counts in every hour it spanned, with the length
  it had reached there). So a silence that starts in a quiet hour but runs into hours where the home
  is rarely that quiet alerts there, and one that runs into the usual nap does not; all computed
  when the silence starts, from the history so far. Between a floor and a ceiling;
- minimum evidence: where the resident is seldom at home at an hour (out at a day centre most
  weekdays), those few days cannot show that a two-hour quiet spell there is ordinary and the
  per-day tail rate is tiny, so the limit would drop to the floor and an ordinary quiet afternoon at
  home would alert; there the limit stays at least ``margin ×`` the floor (``min_presence``);
- thin contexts: where the resident is seldom in a context around an hour (a wardrobe door by day
  in a home with contacts only, then an afternoon unseen in the living room), its few silences cannot
  show what is unusual there either: the limit is no shorter than the active one (``thin_factor``);
- before the home has ``learn_days`` of history, a daytime silence is due at the population prior
  ``early_prior_s`` (4 h on day 0, narrowing to ``margin ×`` the floor by ``learn_days``), or at
  ``margin ×`` the longest silence the home has shown around that hour so far when that is longer
  (``basis`` ``population`` / ``observed``), never later than the fixed limits;
- resting at night: "not up by the usual time" (NOT_UP) from the home's recent wake-up times; the
  night lasts until the early edge of the usual wake-up, not a fixed hour: back in bed from the
  toilet at 06:20 before an 08:00 wake-up is still the night;

- first weeks: until the wake-ups are learned, "not up" waits for the population prior (11:00, and
  a night of up to 12 h), the archive's usual wake-up (``routine_of``, the registry's record of the
  resident, asked when a resident is first seen and every hour after; or
  :meth:`HomeActivityDetector.set_routine`), or
  the latest of the few wake-ups seen; the alert's ``details["basis"]`` says which (``population``,
  ``enrolled``, ``observed``, ``learned``); and the night lasts until that minute's early edge (back
  in the bedroom from the toilet at 06:15 on the first morning, a late sleeper is still asleep);
- a sensor of the home that senses nothing lately (quiet beyond habit, :mod:`stream.supervision`):
  an alert names it in ``details["not_sensing"]`` and its reason, as the silence may be the
  sensor's (a dead entrance door makes an outing look like a silence at home);
- a pad that still says "occupied" though the resident was seen elsewhere since (stale: sticky, or
  it did not let go) is named in ``details["stale_pads"]`` (``bed``, ``seat``) and the reason: the
  silence was judged as if the resident might be back on it unseen, and the pad may need seeing to
  (one that keeps letting go long after the resident left it is reported: :mod:`stream.pads`);
- evening: once going to bed has left a trace in the bedroom, an evening silence that starts
  elsewhere (the bathroom included: the toilet before bed is followed by the bedroom) is not taken
  for sleep: its own context's limits (floor ``evening_floor_s``), and before those are learned, due
  by the usual bed time (learned, enrolled or the population prior); never later than
  ``evening_max_s`` after it began, and right after the toilet at that allowance;
- arrivals: a silence right after coming in through the entrance door (or after sitting down at
  once) is due after at most ``arrival_limit_s``;
- a bathroom left unseen: where bathroom motion has lately been followed by a quarter of an hour of
  nothing and then activity elsewhere (no door contact or hall sensor saw the resident leave),
  bathroom motion is no sign of someone still in there: the active limits, not BATHROOM_LONG's hour;
- motion held: a motion sensor clearing saw motion until then, so where the silence began with that
  room's motion it begins at the clearing (a retriggerable PIR, motion logged as intervals); in a
  room the resident has since left a clearing is no sign of them;
- pressure pads: only a change is activity; a pad still "occupied" while the resident is seen in
  another room is stale until it lets go.

A presence radar's ``presence`` is not movement: someone lying still under it for long is a reason
to alert, not to wait. It only ends an away silence (they came in without the door being seen) and
starts the first silence of a home.

A home whose activity sensors are all offline or silent is not inactive but unmonitored: its
inactivity alerts are held back (the supervisor reports UNMONITORED).

The first activity after an alert (the silence that alerted ends, or tonight's night absence does) is
a MOVING_AGAIN notice on that alert (:func:`moving_again`: when, the device, where, after how long),
not an alert: whoever took the alert hears that the resident moves, and calls to hear how they are.

The parameters of all this are :class:`~stream.home_config.HomeConfig`'s; how they were chosen is
``lab/homes/RECORD.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from devices.catalogue import ACTIVITY_STREAMS
from devices.events import Event, Stream
from stream.detections import Detection, DetectionKind
from stream.device_table import Binding, DeviceTable
from stream.home_config import HomeConfig
from stream.home_reasons import BASIS_NAMES, BED_BASIS, RULE_REASONS, WAKE_BASIS, rule_of
from stream.kernels import home as k
from stream.notices import moving_again
from stream.pads import stale_pads, stuck_pads
from stream.rooms import room_code
from stream.slots import SlotMap

KIND_OF_CODE = {
    k.K_INACTIVITY: DetectionKind.INACTIVITY,
    k.K_NOT_UP: DetectionKind.NOT_UP,
    k.K_BATHROOM: DetectionKind.BATHROOM_LONG,
    k.K_NIGHT_ABSENCE: DetectionKind.NIGHT_ABSENCE,
}


@dataclass(frozen=True, slots=True)
class EventArrays:
    """A batch of home events as flat arrays (the kernel's input); ``index`` maps back to events."""

    index: npt.NDArray[np.int64]
    res: npt.NDArray[np.int64]
    ts: npt.NDArray[np.int64]
    code: npt.NDArray[np.int64]
    value: npt.NDArray[np.int64]
    room: npt.NDArray[np.int64]
    pir: npt.NDArray[np.int64]


ENTRANCE_DOOR_TYPE = "door"
"""The device type read as the entrance door (``EV_DOOR``): its passages are going out and coming in."""


def event_code(event: Event) -> tuple[int, int, int, int]:
    """``(code, value, room, pir)`` of one event for :func:`stream.kernels.home.home_process`."""
    values = event.values
    dtype = event.device_type
    room = room_code(event.location)
    stream = event.stream
    if stream is Stream.MOTION:
        on = bool(values.get("occupancy", False))
        return (k.EV_ACTIVITY if on else k.EV_MOTION_END), int(on), room, 1
    if stream is Stream.CONTACT:
        on = bool(values.get("open", False))
        return (k.EV_DOOR if dtype == ENTRANCE_DOOR_TYPE else k.EV_ACTIVITY), int(on), room, 0
    if stream is Stream.PRESENCE:
        return k.EV_PRESENCE, int(bool(values.get("present", False))), room, 0
    if stream is Stream.VIBRATION:  # a sensor on furniture or a door that someone moved
        return k.EV_ACTIVITY, 1, room, 0
    if stream is Stream.BED or stream is Stream.SEAT:
        if "occupied" not in values:
            return k.EV_IGNORE, 0, room, 0
        on = bool(values["occupied"])
        return (k.EV_BED if stream is Stream.BED else k.EV_SEAT), int(on), room, 0
    return k.EV_IGNORE, 0, room, 0


MONITORED_REUSE_MS = 1000
"""How long (ms of stream time) a batch may reuse the last answer to "which homes are monitored"."""

ROUTINE_REFRESH_MS = 3_600_000
"""How often (ms of stream time) the residents' enrolled routines are asked again (``routine_of``): an
archive edit reaches a home already seen within the hour (a worker's registry reloads on its own)."""

Routine = tuple[int | None, int | None]
"""A resident's usual wake-up and bed time as the archive records them, minutes after local midnight
(``None``: not recorded)."""

log = logging.getLogger("eldercare.stream")


class HomeActivityDetector:
    """INACTIVITY, NOT_UP, BATHROOM_LONG and NIGHT_ABSENCE per resident, from home sensors."""

    name = "home"

    def __init__(
        self,
        config: HomeConfig | None = None,
        *,
        utc_offset_min: int | None = None,
        offsets: Mapping[str, int] | None = None,
        routine_of: Callable[[str], Routine | None] | None = None,
    ) -> None:
        self.config = config or HomeConfig()
        self.routine_of = routine_of
        """The archive's routine of a resident (the registry's ``routine_of``), asked when a resident is
        first seen and every ``ROUTINE_REFRESH_MS`` after; None: only :meth:`set_routine`."""
        self._routines_asked_ms: int | None = None
        self.params = self.config.params()
        self.default_offset = int(self.config.utc_offset_min if utc_offset_min is None else utc_offset_min)
        self.offsets: dict[str, int] = dict(offsets or {})
        self.routines: dict[str, tuple[int, int]] = {}
        self.residents = SlotMap(64)
        self._alloc(self.residents.capacity)
        self.devices = DeviceTable(self.residents, self.config.supervision)
        self.suppressed = 0
        self._monitored_cache: tuple[int, npt.NDArray[np.uint8]] | None = None
        self._pads: dict[tuple[str, str], str] = {}  # (resident, "bed" / "seat") → the pad's device id

    def _alloc(self, capacity: int) -> None:
        c = self.config
        self.si = k.new_state(capacity, self.default_offset)
        self.hist = k.new_hist(capacity, c.hist_bins)
        self.wake = k.new_rings(capacity, c.wake_buffer)

    def _ensure(self) -> None:
        cap = self.residents.capacity
        old = self.si.shape[0]
        if old >= cap:
            return
        si, hist, wake = self.si, self.hist, self.wake
        self._alloc(cap)
        self.si[:old] = si
        self.hist[:old] = hist
        self.wake[:old] = wake

    def set_utc_offset(self, resident_id: str, minutes: int) -> None:
        """The local time of one home (minutes east of UTC); applies from its next silence."""
        self.offsets[resident_id] = int(minutes)
        slot = self.residents.get(resident_id)
        if slot is not None:
            self.si[slot, k.S_OFFSET] = int(minutes)

    def set_routine(self, resident_id: str, *, wake_min: int | None = None, bed_min: int | None = None) -> None:
        """What the archive says of one resident's day: usual wake-up and bed time (minutes after local
        midnight, ``None``: unknown). Used until the home's own routine is learned, and named in the
        alert's details (``basis``: ``enrolled``)."""
        for name, value in (("wake_min", wake_min), ("bed_min", bed_min)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1440):
                raise ValueError(f"{name} must be minutes after local midnight, 0..1439 (got {value!r})")
        routine = (-1 if wake_min is None else wake_min, -1 if bed_min is None else bed_min)
        self.routines[resident_id] = routine
        slot = self.residents.get(resident_id)
        if slot is not None:
            self.si[slot, k.S_ENROLL_WAKE], self.si[slot, k.S_ENROLL_BED] = routine

    def _register(self, events: Sequence[Event]) -> None:
        """Give new residents a slot, fresh state and their home's UTC offset (all of a batch's at once)."""
        residents = self.residents
        new = list(dict.fromkeys(e.resident_id for e in events if e.resident_id not in residents))
        if not new:
            return
        slots = residents.slots(new)
        self._ensure()
        self.si[slots] = k.new_state(len(new), self.default_offset)
        self.hist[slots] = 0.0
        self.wake[slots] = 0
        if self.routine_of is not None:
            for rid in new:
                self._ask_routine(rid)
        offsets, routines = self.offsets, self.routines
        for slot, rid in zip(slots.tolist(), new, strict=True):
            if (offset := offsets.get(rid)) is not None:
                self.si[slot, k.S_OFFSET] = offset
            if (routine := routines.get(rid)) is not None:
                self.si[slot, k.S_ENROLL_WAKE], self.si[slot, k.S_ENROLL_BED] = routine

    def _ask_routine(self, resident_id: str) -> None:
        """Take the archive's routine of one resident (``routine_of``) when it differs from the one held.
        A value the archive should never hold is logged and left out: no record may stop the stream."""
        assert self.routine_of is not None
        try:
            wake_min, bed_min = self.routine_of(resident_id) or (None, None)
            held = self.routines.get(resident_id)
            wanted = (-1 if wake_min is None else wake_min, -1 if bed_min is None else bed_min)
            if held != wanted and (held is not None or wanted != (-1, -1)):
                self.set_routine(resident_id, wake_min=wake_min, bed_min=bed_min)
        except (TypeError, ValueError) as error:
            log.warning(
                "resident's enrolled routine left out", extra={"resident_id": resident_id, "error": str(error)[:200]}
            )

    def _refresh_routines(self, now_ms: int) -> None:
        """Every ``ROUTINE_REFRESH_MS`` of stream time, the archive's routines of the residents seen."""
        if self.routine_of is None:
            return
        asked = self._routines_asked_ms
        if asked is not None and 0 <= now_ms - asked < ROUTINE_REFRESH_MS:
            return
        self._routines_asked_ms = now_ms
        for rid, _ in self.residents.items():
            self._ask_routine(rid)

    def reserve(self, residents: int) -> None:
        """Room for ``residents`` in the state arrays now, so they are not grown (and copied, some 19 KB
        a resident) as residents first appear: a restart under a broker's backlog meets them all at once."""
        while self.residents.capacity < residents:
            self.residents.capacity *= 2
        self._ensure()

    def follow(self, bound: Mapping[str, Binding], now_ms: int) -> None:
        """Agree with the registry's live devices (:meth:`stream.supervision.DeviceTable.follow`) on those this
        detector has heard: a retired, replaced or unbound one no longer keeps its home monitored or not, a
        moved one counts for the home that has it. One not heard yet is left to speak first (a home's
        monitoring rests on sensors seen working)."""
        heard = {
            device_id: binding for device_id, binding in bound.items() if self.devices.slots.get(device_id) is not None
        }
        self.devices.follow(heard, now_ms)
        self._monitored_cache = None

    def arrays(self, events: Sequence[Event]) -> EventArrays:
        """The home events of a batch as flat kernel arrays (one pass over the events)."""
        index = [i for i, e in enumerate(events) if e.stream in ACTIVITY_STREAMS]
        chosen = [events[i] for i in index]
        self._register(chosen)
        codes = np.array([event_code(e) for e in chosen], dtype=np.int64).reshape(-1, 4)
        return EventArrays(
            index=np.array(index, dtype=np.int64),
            res=self.residents.slots(e.resident_id for e in chosen) if chosen else np.zeros(0, dtype=np.int64),
            ts=np.fromiter((e.ts_ms for e in chosen), dtype=np.int64, count=len(chosen)),
            code=np.ascontiguousarray(codes[:, 0]),
            value=np.ascontiguousarray(codes[:, 1]),
            room=np.ascontiguousarray(codes[:, 2]),
            pir=np.ascontiguousarray(codes[:, 3]),
        )

    def _monitored(self, now_ms: int, fresh: bool = False) -> npt.NDArray[np.uint8]:
        """Which homes have a working activity sensor. A batch reuses the last answer for up to
        ``MONITORED_REUSE_MS`` (a scan of every device per batch costs what the fleet has, not what
        the batch brings); the tick (``fresh``) and a new resident always scan."""
        n_res = max(1, len(self.residents._id_of))
        cached = self._monitored_cache
        if (
            not fresh
            and cached is not None
            and cached[1].shape[0] == n_res
            and 0 <= now_ms - cached[0] < MONITORED_REUSE_MS
        ):
            return cached[1]
        monitored, _ = self.devices.health(n_res, now_ms)
        self._monitored_cache = (now_ms, monitored)
        return monitored

    def process(self, events: Sequence[Event], now_ms: int) -> list[Detection]:
        relevant = [e for e in events if e.stream in ACTIVITY_STREAMS or e.stream is Stream.STATUS]
        if not relevant:
            return []
        self._register(relevant)
        self.devices.update(relevant)
        a = self.arrays(relevant)
        n_ev = a.res.shape[0]
        if n_ev == 0:
            return []
        pad_events = np.flatnonzero((a.code == k.EV_BED) | (a.code == k.EV_SEAT))
        for i in pad_events.tolist():
            event = relevant[int(a.index[i])]
            self._pads[(event.resident_id, "bed" if a.code[i] == k.EV_BED else "seat")] = event.device_id
        out_i = np.zeros((k.OUT_ROWS_PER_EVENT * n_ev, 5), dtype=np.int64)
        out_f = np.zeros((k.OUT_ROWS_PER_EVENT * n_ev, 2), dtype=np.float64)
        monitored = self._monitored(now_ms)
        n = k.home_process(
            self.si,
            self.hist,
            self.wake,
            a.res,
            a.ts,
            a.code,
            a.value,
            a.room,
            a.pir,
            monitored,
            self.params,
            out_i,
            out_f,
        )
        rows = np.unique(a.res[pad_events])
        stuck = stuck_pads(self.si, rows, self.residents.id_of, self._pads, self.config.pad_late_n, now_ms)

        def event_at(r: int, t: int) -> Event | None:
            """The event of slot ``r`` at ``t`` that the kernel took for the resident moving again."""
            hits = np.flatnonzero((a.res == r) & (a.ts == t) & (a.code != k.EV_IGNORE))
            return relevant[int(a.index[hits[0]])] if hits.size else None

        return self._detections(out_i[:n], out_f[:n], now_ms, event_at) + stuck

    def advance(self, now_ms: int) -> list[Detection]:
        n_res = len(self.residents._id_of)
        if n_res == 0:
            return []
        self._refresh_routines(now_ms)
        out_i = np.zeros((2 * n_res, 5), dtype=np.int64)
        out_f = np.zeros((2 * n_res, 2), dtype=np.float64)
        # Every tick, as the supervisor does: a spell noticed is then marked, so that it is not learned as a
        # habit, and this table names the same sensors not sensing as the supervisor's.
        self.devices.silent(now_ms)
        n = k.home_advance(self.si, n_res, now_ms, self._monitored(now_ms, fresh=True), self.params, out_i, out_f)
        return self._detections(out_i[:n], out_f[:n], now_ms)

    def _detections(
        self,
        out_i: np.ndarray,
        out_f: np.ndarray,
        now_ms: int,
        event_at: Callable[[int, int], Event | None] | None = None,
    ) -> list[Detection]:
        self.suppressed = int(np.count_nonzero(self.si[:, k.S_FIRED] == 2))
        result: list[Detection] = []
        for (r, code, start, due, flags), (thr, ctx) in zip(out_i.tolist(), out_f.tolist(), strict=True):
            resident = self.residents.id_of(r) or ""
            if code == k.K_MOVING:  # (only an event ends a silence: ``event_at`` finds it)
                event = event_at(r, due) if event_at is not None else None
                if event is not None:
                    result.append(moving_again(resident, KIND_OF_CODE[flags], start, event, now_ms))
                continue
            kind = KIND_OF_CODE[code]
            context = k.CTX_NAMES[int(ctx)]
            basis = BASIS_NAMES[flags & k.B_MASK]
            learned = basis == "learned"
            rule = rule_of(kind, flags, basis)
            why = RULE_REASONS[rule].format(context=context, wake=WAKE_BASIS[basis], bed=BED_BASIS[basis])
            details: dict[str, object] = {
                "silent_s": (now_ms - start) / 1000.0,
                "threshold_s": thr,
                "due_ms": due,
                "context": context,
                "learned": learned,
                "basis": basis,
                "rule": rule,
                "reason": why,
            }
            quiet = self.devices.not_sensing(r)
            if quiet:  # the silence may be a sensor's, not the resident's: say so to whoever takes it
                details["not_sensing"] = quiet
                details["reason"] = f"{why}; sensing nothing lately: {', '.join(quiet)} (a sensor fault?)"
            stale = stale_pads(self.si, r)
            if stale:  # its "occupied" is not believed: say so, and that the pad may need seeing to
                details["stale_pads"] = stale
                pads = " and ".join(f"the {pad} pad" for pad in stale)
                details["reason"] = (
                    f"{details['reason']}; {pads} still says occupied though the resident was seen elsewhere "
                    "since (it may not let go: check it)"
                )
            result.append(
                Detection(
                    resident_id=resident,
                    device_id="",
                    kind=kind,
                    ts_ms=start,
                    detected_ms=now_ms,
                    key=f"{kind.value}:{resident}:{start}",
                    details=details,
                )
            )
        return result

    def snapshot(self) -> dict[str, np.ndarray]:
        n = len(self.residents._id_of)
        state = self.devices.snapshot("dev_")
        state.update(
            {
                "residents": self.residents.to_array(),
                "state": self.si[:n].copy(),
                "hist": self.hist[:n].copy(),
                "wake": self.wake[:n].copy(),
            }
        )
        return state

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        residents = SlotMap.from_snapshot(state, "residents")
        if residents is None:
            return
        self.residents = residents
        self._alloc(residents.capacity)
        n = len(residents._id_of)
        si = np.asarray(state["state"], dtype=np.int64)
        hist = np.asarray(state["hist"], dtype=np.float32)
        self.si[:n, : si.shape[1]] = si  # a snapshot of an older layout: new columns start fresh
        if si.shape[1] <= k.S_REST_TRACED:  # from before nights were told traced or not: a rest under
            self.si[:n, k.S_REST_TRACED] = 1  # way is taken for one seen in the bedroom, as it was then
        # an older snapshot: fewer learned contexts (the bedroom row starts empty) and start-hour
        # histograms, which fade out by ``decay`` as the elapsed-by-hour counts build up
        self.hist[:n, : hist.shape[1]] = hist
        if hist.shape[1] <= k.PRESENCE_ROW:
            # no presence row yet: restore as full presence (at home every day of the faded history,
            # or of the learning period when even that is missing), so the minimum-evidence rule does
            # not switch on at once; the real presence builds up as the full one fades
            days = self.si[:n, k.S_EXPO] / k.EXPO_SCALE
            days = np.where(days > 0, days, self.config.learn_days)
            self.hist[:n, k.PRESENCE_ROW, :, 0] = days[:, None]
        wake = np.asarray(state["wake"], dtype=np.int32)
        self.wake[:n, : wake.shape[1]] = wake  # an older snapshot has no bed-time ring: it starts empty
        for r in range(n):
            rid = self.residents.id_of(r) or ""
            if rid in self.routines:
                self.si[r, k.S_ENROLL_WAKE], self.si[r, k.S_ENROLL_BED] = self.routines[rid]
        self.devices = DeviceTable(self.residents, self.config.supervision)
        self.devices.restore(state, "dev_")
        self._monitored_cache = None
