"""Inactivity from home sensors: silence against each home's own routine, learned online.

:class:`HomeActivityDetector` turns motion, contact, door, flush, appliance and bed/seat-pad events
into silence timers (kernels in :mod:`stream.kernels.home`). Every activity starts a new silence;
its context (resting: in bed, or seated or in the bedroom at night, or back from a night-time trip
to the toilet; seated: seat pad by day; bedroom: other activity in the bedroom by day; away: the
entrance door; in the bathroom: bathroom motion; otherwise active) and the local hours it runs into
choose the limit:

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
- conservative fixed limits until the home has ``learn_days`` of history;
- resting at night: "not up by the usual time" (NOT_UP) from the home's recent wake-up times.

A presence radar's ``presence`` is not movement: someone lying still under it for long is a reason
to alert, not to wait. It only ends an away silence (they came in without the door being seen) and
starts the first silence of a home.

A home whose activity sensors are all offline or silent is not inactive but unmonitored: its
inactivity alerts are held back (the supervisor reports UNMONITORED).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from devices.events import Event, Stream
from stream.detections import Detection, DetectionKind
from stream.kernels import home as k
from stream.slots import SlotMap
from stream.supervision import DeviceTable, SupervisionConfig

HOME_STREAMS = frozenset({Stream.MOTION, Stream.CONTACT, Stream.BED, Stream.SEAT, Stream.PRESENCE, Stream.VIBRATION})
KIND_OF_CODE = {
    k.K_INACTIVITY: DetectionKind.INACTIVITY,
    k.K_NOT_UP: DetectionKind.NOT_UP,
    k.K_BATHROOM: DetectionKind.BATHROOM_LONG,
    k.K_NIGHT_ABSENCE: DetectionKind.NIGHT_ABSENCE,
}
BATHROOM_NAMES = frozenset({"bathroom", "toilet", "wc", "restroom", "shower"})
BEDROOM_NAMES = frozenset({"bedroom", "bed"})
MIN_PRESENCE = 0.35
"""Default ``HomeConfig.min_presence``, chosen on synthetic homes with commuters only (seeds 0–3 of
``python -m lab.homes.eval --homes 12 --days 35 --inject 30``; 0 to 0.6 in steps of 0.05–0.1): the
knee, where false alerts stop falling (0.0435 → 0.0376 per home-day on average, 0.35 → 0.40 gains
nothing) while the mean delay has risen little (6206 → 6293 s; from 0.45 on it climbs fast).
Held-out seeds 7, 8, 21–23: ≤ 0.043 false alerts per home-day, mean delay ≤ 6950 s."""


@dataclass(frozen=True, slots=True)
class HomeConfig:
    """Parameters of the home-activity detector (seconds unless named otherwise).

    Learning: the elapsed length (≥ ``sample_min_s``) each silence reached in every local hour it
    spanned goes into log-spaced histograms up to ``hist_max_s`` (``hist_bins`` bins), per context
    (active, resting, seated, bedroom) and clock hour, faded by ``decay`` per day. ``Q_H`` is the
    silence this home has been in more than ``rate`` times per day (1/day) in the hours H−1..H+1
    (pooled with weight ``pool_w``, plus ``prior_count`` pseudo-samples at the fixed limit); the alert
    is due at the first moment the elapsed silence exceeds ``margin`` × ``Q_H`` of the hour it is in,
    between the context's floor and ceiling, once a home has ``learn_days`` of history and ≥
    ``min_count`` pooled samples. ``margin`` 1.6 (was 1.5 with start-hour limits): judged hour by
    hour, a silence meets the strictest hour it runs into, so the margin is a little wider. Until then
    ``active_fixed_s`` / ``seat_fixed_s`` / ``rest_fixed_s``; a silence not resting in bed that starts
    at night gets the resting limits with floor ``night_floor_s``. ``away_limit_s`` (0: never) after the entrance
    door; ``bath_limit_s`` after bathroom motion. Night = local hours [``night_start_h``,
    ``night_end_h``). NOT_UP at quantile ``wake_q`` of the last ``wake_buffer`` wake-ups (minutes after
    local midnight, ``wake_min_samples`` needed, else ``wake_default_min``) + ``wake_margin_min``,
    clamped to [``wake_floor_min``, ``wake_ceil_min``], and ≥ ``rest_min_s`` after the silence began.
    ``absence_s``: out of bed at night this long without activity → NIGHT_ABSENCE. ``utc_offset_min``: default local
    time offset of a home (minutes east of UTC).

    Minimum evidence: in a local hour around which the resident has been at home (not out through
    the entrance door) on fewer than ``min_presence`` × the faded days of history, the learned limit
    is at least ``margin ×`` the context's floor (0: off). The tail rate is per calendar day, so
    where a home is usually empty (a resident out at a day centre on weekdays) it is tiny whatever
    the resident does on the few days at home, and without this an ordinary two-hour quiet spell
    there alerts at the floor. Chosen on synthetic homes with commuters (seeds 0–3) and checked on
    held-out seeds; see :data:`MIN_PRESENCE`.
    """

    sample_min_s: float = 600.0
    hist_max_s: float = 36 * 3600.0
    hist_bins: int = 40
    decay: float = 0.97
    margin: float = 1.6
    rate: float = 0.1
    min_count: float = 0.0
    pool_w: float = 0.5
    prior_count: float = 0.5
    learn_days: float = 7.0
    active_fixed_s: float = 5 * 3600.0
    active_floor_s: float = 75 * 60.0
    active_ceil_s: float = 6 * 3600.0
    seat_fixed_s: float = 5 * 3600.0
    seat_floor_s: float = 75 * 60.0
    seat_ceil_s: float = 6 * 3600.0
    rest_fixed_s: float = 10 * 3600.0
    rest_floor_s: float = 3 * 3600.0
    rest_ceil_s: float = 14 * 3600.0
    night_floor_s: float = 6 * 3600.0
    away_limit_s: float = 0.0
    bath_limit_s: float = 60 * 60.0
    night_start_h: int = 20
    night_end_h: int = 6
    wake_default_min: int = 11 * 60
    wake_q: float = 0.9
    wake_margin_min: int = 90
    wake_floor_min: int = 7 * 60
    wake_ceil_min: int = 14 * 60
    wake_min_samples: int = 5
    wake_buffer: int = 14
    wake_window_lo_min: int = 4 * 60
    wake_window_hi_min: int = 14 * 60
    min_sleep_s: float = 3 * 3600.0
    absence_s: float = 60 * 60.0
    rest_min_s: float = 2 * 3600.0
    min_presence: float = MIN_PRESENCE
    utc_offset_min: int = 0
    supervision: SupervisionConfig = field(default_factory=SupervisionConfig)

    def __post_init__(self) -> None:
        if not 0 < self.sample_min_s < self.hist_max_s:
            raise ValueError("need 0 < sample_min_s < hist_max_s")
        if self.hist_bins < 2 or self.wake_buffer < 1:
            raise ValueError("hist_bins >= 2 and wake_buffer >= 1")
        if not (0 < self.decay <= 1 and 0 < self.wake_q <= 1 and self.margin > 0):
            raise ValueError("decay, wake_q in (0, 1]; margin > 0")
        if not (0 <= self.night_start_h < 24 and 0 <= self.night_end_h < 24):
            raise ValueError("night hours in 0..23")
        if self.rate <= 0 or self.min_count < 0 or not 0 <= self.min_presence <= 1:
            raise ValueError("rate > 0 per day; min_count >= 0; min_presence in [0, 1]")
        if not (
            self.active_floor_s <= self.active_ceil_s
            and self.rest_floor_s <= self.rest_ceil_s
            and self.seat_floor_s <= self.seat_ceil_s
            and self.night_floor_s <= self.rest_ceil_s
        ):
            raise ValueError("floors must not exceed ceilings")
        if not -14 * 60 <= self.utc_offset_min <= 14 * 60:
            raise ValueError("utc_offset_min out of range")

    def params(self) -> npt.NDArray[np.float64]:
        p = np.zeros(k.N_PARAMS, dtype=np.float64)
        p[k.P_SAMPLE_MIN_S] = self.sample_min_s
        p[k.P_HIST_MAX_S] = self.hist_max_s
        p[k.P_DECAY] = self.decay
        p[k.P_MARGIN] = self.margin
        p[k.P_MIN_COUNT] = self.min_count
        p[k.P_LEARN_S] = self.learn_days * 86400.0
        p[k.P_ACTIVE_FIXED_S] = self.active_fixed_s
        p[k.P_ACTIVE_FLOOR_S] = self.active_floor_s
        p[k.P_ACTIVE_CEIL_S] = self.active_ceil_s
        p[k.P_REST_FIXED_S] = self.rest_fixed_s
        p[k.P_REST_FLOOR_S] = self.rest_floor_s
        p[k.P_REST_CEIL_S] = self.rest_ceil_s
        p[k.P_AWAY_LIMIT_S] = self.away_limit_s
        p[k.P_BATH_LIMIT_S] = self.bath_limit_s
        p[k.P_NIGHT_START_H] = self.night_start_h
        p[k.P_NIGHT_END_H] = self.night_end_h
        p[k.P_WAKE_DEFAULT_MIN] = self.wake_default_min
        p[k.P_WAKE_Q] = self.wake_q
        p[k.P_WAKE_MARGIN_MIN] = self.wake_margin_min
        p[k.P_WAKE_FLOOR_MIN] = self.wake_floor_min
        p[k.P_WAKE_CEIL_MIN] = self.wake_ceil_min
        p[k.P_WAKE_MIN_SAMPLES] = self.wake_min_samples
        p[k.P_WAKE_WIN_LO_MIN] = self.wake_window_lo_min
        p[k.P_WAKE_WIN_HI_MIN] = self.wake_window_hi_min
        p[k.P_MIN_SLEEP_S] = self.min_sleep_s
        p[k.P_ABSENCE_S] = self.absence_s
        p[k.P_REST_MIN_S] = self.rest_min_s
        p[k.P_POOL_W] = self.pool_w
        p[k.P_PRIOR_COUNT] = self.prior_count
        p[k.P_RATE] = self.rate
        p[k.P_SEAT_FIXED_S] = self.seat_fixed_s
        p[k.P_SEAT_FLOOR_S] = self.seat_floor_s
        p[k.P_SEAT_CEIL_S] = self.seat_ceil_s
        p[k.P_NIGHT_FLOOR_S] = self.night_floor_s
        p[k.P_MIN_PRESENCE] = self.min_presence
        return p


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


def event_code(event: Event) -> tuple[int, int, int, int]:
    """``(code, value, room, pir)`` of one event for :func:`stream.kernels.home.home_process`."""
    values = event.values
    dtype = event.device_type
    location = event.location.lower()
    room = k.ROOM_BATH if location in BATHROOM_NAMES else k.ROOM_BED if location in BEDROOM_NAMES else k.ROOM_OTHER
    stream = event.stream
    if stream is Stream.MOTION:
        on = bool(values.get("occupancy", False))
        return (k.EV_ACTIVITY if on else k.EV_IGNORE), int(on), room, 1
    if stream is Stream.CONTACT:
        on = bool(values.get("open", False))
        return (k.EV_DOOR if dtype == "door" else k.EV_ACTIVITY), int(on), room, 0
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


class HomeActivityDetector:
    """INACTIVITY, NOT_UP, BATHROOM_LONG and NIGHT_ABSENCE per resident, from home sensors."""

    name = "home"

    def __init__(
        self,
        config: HomeConfig | None = None,
        *,
        utc_offset_min: int | None = None,
        offsets: Mapping[str, int] | None = None,
    ) -> None:
        self.config = config or HomeConfig()
        self.params = self.config.params()
        self.default_offset = int(self.config.utc_offset_min if utc_offset_min is None else utc_offset_min)
        self.offsets: dict[str, int] = dict(offsets or {})
        self.residents = SlotMap(64)
        self._alloc(self.residents.capacity)
        self.devices = DeviceTable(self.residents, self.config.supervision)
        self.suppressed = 0

    def _alloc(self, capacity: int) -> None:
        c = self.config
        self.si = k.new_state(capacity, self.default_offset)
        self.hist = k.new_hist(capacity, c.hist_bins)
        self.wake = np.zeros((capacity, c.wake_buffer), dtype=np.int32)

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

    def _register(self, events: Sequence[Event]) -> None:
        """Give new residents a slot, fresh state and their home's UTC offset."""
        before = len(self.residents._id_of)
        self.residents.slots(e.resident_id for e in events)
        self._ensure()
        for r in range(before, len(self.residents._id_of)):
            rid = self.residents.id_of(r) or ""
            self.si[r] = k.new_state(1, self.offsets.get(rid, self.default_offset))[0]
            self.hist[r] = 0.0
            self.wake[r] = 0

    def arrays(self, events: Sequence[Event]) -> EventArrays:
        """The home events of a batch as flat kernel arrays (one pass over the events)."""
        index = [i for i, e in enumerate(events) if e.stream in HOME_STREAMS]
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

    def _monitored(self, now_ms: int) -> npt.NDArray[np.uint8]:
        n_res = len(self.residents._id_of)
        monitored, _ = self.devices.health(max(1, n_res), now_ms)
        return monitored

    def process(self, events: Sequence[Event], now_ms: int) -> list[Detection]:
        relevant = [e for e in events if e.stream in HOME_STREAMS or e.stream is Stream.STATUS]
        if not relevant:
            return []
        self._register(relevant)
        self.devices.update(relevant)
        a = self.arrays(relevant)
        n_ev = a.res.shape[0]
        if n_ev == 0:
            return []
        out_i = np.zeros((2 * n_ev, 5), dtype=np.int64)
        out_f = np.zeros((2 * n_ev, 2), dtype=np.float64)
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
        return self._detections(out_i[:n], out_f[:n], now_ms)

    def advance(self, now_ms: int) -> list[Detection]:
        n_res = len(self.residents._id_of)
        if n_res == 0:
            return []
        out_i = np.zeros((2 * n_res, 5), dtype=np.int64)
        out_f = np.zeros((2 * n_res, 2), dtype=np.float64)
        n = k.home_advance(self.si, n_res, now_ms, self._monitored(now_ms), self.params, out_i, out_f)
        return self._detections(out_i[:n], out_f[:n], now_ms)

    def _detections(self, out_i: np.ndarray, out_f: np.ndarray, now_ms: int) -> list[Detection]:
        self.suppressed = int(np.count_nonzero(self.si[:, k.S_FIRED] == 2))
        result: list[Detection] = []
        for (r, code, start, due, learned), (thr, ctx) in zip(out_i.tolist(), out_f.tolist(), strict=True):
            resident = self.residents.id_of(r) or ""
            kind = KIND_OF_CODE[code]
            context = k.CTX_NAMES[int(ctx)]
            if kind is DetectionKind.NIGHT_ABSENCE:
                why = "out of bed at night and not back"
            elif kind is DetectionKind.NOT_UP:
                why = "still resting after the usual wake-up time" + (" (learned)" if learned else " (default)")
            elif kind is DetectionKind.BATHROOM_LONG:
                why = "in the bathroom longer than the limit"
            else:
                why = (
                    f"silence unusual for this home at this hour ({context})"
                    if learned
                    else (f"silence beyond the fixed limit ({context}; routine not learned yet)")
                )
            result.append(
                Detection(
                    resident_id=resident,
                    device_id="",
                    kind=kind,
                    ts_ms=start,
                    detected_ms=now_ms,
                    key=f"{kind.value}:{resident}:{start}",
                    details={
                        "silent_s": (now_ms - start) / 1000.0,
                        "threshold_s": thr,
                        "due_ms": due,
                        "context": context,
                        "learned": bool(learned),
                        "reason": why,
                    },
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
        if "residents" not in state:
            return
        ids = np.asarray(state["residents"])
        self.residents = SlotMap.from_array(ids, max(64, len(ids)))
        while self.residents.capacity < len(ids):
            self.residents.capacity *= 2
        self._alloc(self.residents.capacity)
        n = len(ids)
        si = np.asarray(state["state"], dtype=np.int64)
        hist = np.asarray(state["hist"], dtype=np.float32)
        self.si[:n, : si.shape[1]] = si  # a snapshot of an older layout: new columns start fresh
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
        self.wake[:n] = np.asarray(state["wake"], dtype=np.int32)
        self.devices = DeviceTable(self.residents, self.config.supervision)
        self.devices.restore(state, "dev_")
