"""The home-activity detector's parameters (:mod:`stream.home`): what each limit, rate and window
means, and their packing into the kernel's parameter vector (:mod:`stream.kernels.home`, ``P_*``).
How each default was chosen: ``lab/homes/RECORD.md``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt

from stream.kernels import home as k
from stream.supervision import SupervisionConfig

MIN_PRESENCE = 0.35
"""Default ``HomeConfig.min_presence``, chosen on synthetic homes with commuters only (seeds 0–3 of
``python -m lab.homes.eval --homes 12 --days 35 --inject 30``; 0 to 0.6 in steps of 0.05–0.1): the
knee, where false alerts stop falling (0.0435 → 0.0376 per home-day on average, 0.35 → 0.40 gains
nothing) while the mean delay has risen little (6206 → 6293 s; from 0.45 on it climbs fast).
Held-out seeds 7, 8, 21–23: ≤ 0.043 false alerts per home-day, mean delay ≤ 6950 s."""


@dataclass(frozen=True, slots=True)
class HomeConfig:
    """Parameters of the home-activity detector (seconds unless named otherwise: ``_min`` minutes, after
    local midnight for a time of day; ``_h`` a local hour; ``_n`` a count faded by ``decay`` per day; ``_share``
    a fraction). The rules they tune are :mod:`stream.kernels.home`'s docstring; how each default was chosen,
    with the figures measured for it and what was tried and not kept, is ``lab/homes/RECORD.md``. Each was
    chosen on synthetic seeds and checked on seeds, layouts and a real home it was not chosen on
    (``python -m lab.homes.eval``, ``eldercare replay homes``).
    """

    sample_min_s: float = 600.0
    """Shortest silence the histograms learn (s): their first bin."""
    hist_max_s: float = 36 * 3600.0
    """Longest silence the histograms hold (s)."""
    hist_bins: int = 40
    """Log-spaced bins between ``sample_min_s`` and ``hist_max_s``."""
    decay: float = 0.97
    """Fading of every learned count per local day; the faded days of history fade alike, so counts per faded day are
    rates."""
    margin: float = 1.6
    """A silence is unusual at ``margin × Q_H``, ``Q_H`` the silence this home has been in more than ``rate`` times a
    day around local hour ``H``; judged hour by hour as it runs on."""
    rate: float = 0.1
    """How many silences a day (around an hour) may be longer than ``Q_H``."""
    min_count: float = 0.0
    """Fewest pooled samples for a learned limit (0: any)."""
    pool_w: float = 0.5
    """Weight of the hours ``H−1`` and ``H+1`` pooled with ``H``."""
    prior_count: float = 0.5
    """Pseudo-samples at the context's fixed limit added to each pooled hour."""
    learn_days: float = 7.0
    """Days of history before learned limits replace the first days' priors."""
    active_fixed_s: float = 5 * 3600.0
    """Up and about: the limit before anything is learned (and the most the first days' prior may give)."""
    active_floor_s: float = 85 * 60.0
    """... the shortest learned limit."""
    active_ceil_s: float = 6 * 3600.0
    """... the longest learned limit."""
    seat_fixed_s: float = 5 * 3600.0
    """Seated (the seat pad occupied, or stale: back in the chair would not show): as ``active_fixed_s``."""
    seat_floor_s: float = 85 * 60.0
    """... as ``active_floor_s``."""
    seat_ceil_s: float = 6 * 3600.0
    """... as ``active_ceil_s``."""
    rest_fixed_s: float = 10 * 3600.0
    """Resting by day (the bed pad, a nap): as ``active_fixed_s``."""
    rest_floor_s: float = 3 * 3600.0
    """... as ``active_floor_s``."""
    rest_ceil_s: float = 14 * 3600.0
    """... as ``active_ceil_s``; also the latest NOT_UP after a night's rest began."""
    night_floor_s: float = 6 * 3600.0
    """A silence that starts at night outside a rest: the resting limits with this floor."""
    away_limit_s: float = 0.0
    """Out through the entrance door: due after this long (0: never; a time out is no silence)."""
    bath_limit_s: float = 60 * 60.0
    """After bathroom motion: BATHROOM_LONG after this long."""
    night_start_h: int = 20
    """Night hours ``[night_start_h, night_end_h)``, local."""
    night_end_h: int = 6
    """... their end."""
    wake_default_min: int = 11 * 60
    """NOT_UP before ``wake_min_samples`` wake-ups are known: this local minute (the population prior; see
    ``prior_sleep_s`` and ``wake_unsure_min``)."""
    wake_q: float = 0.9
    """NOT_UP at quantile ``wake_q`` of the last ``wake_buffer`` wake-ups + ``wake_margin_min``."""
    wake_margin_min: int = 90
    """... that margin."""
    wake_floor_min: int = 7 * 60
    """NOT_UP never before this local minute ..."""
    wake_ceil_min: int = 16 * 60
    """... nor after this one."""
    wake_min_samples: int = 5
    """Wake-ups needed before they are used."""
    wake_buffer: int = 14
    """Wake-ups (and bed times) kept."""
    wake_window_lo_min: int = 4 * 60
    """A rest ending in ``[wake_window_lo_min, wake_window_hi_min)`` local is a wake-up ..."""
    wake_window_hi_min: int = 16 * 60
    """... and its start the night's bed time."""
    min_sleep_s: float = 3 * 3600.0
    """... once it has lasted this long."""
    wake_early_lo_min: int = 3 * 60
    """A whole night's sleep (``full_night_s``) may end from this local minute."""
    full_night_s: float = 7 * 3600.0
    """A rest this long since its bed time is a whole night's sleep."""
    bed_floor_min: int = 17 * 60
    """A night begun in the bedroom or on the bed pad from this local minute may be learned as one; the night's early
    edge is never before it."""
    absence_s: float = 60 * 60.0
    """Out of bed at night without activity this long: NIGHT_ABSENCE (armed by activity out of the bed's room; back in
    the bedroom, on a seat pad or out through the entrance door stops it)."""
    absence_trip_s: float = 30 * 60.0
    """Up at night this long: a sleepless spell, not a trip (0: off) ..."""
    absence_up_s: float = 3 * 3600.0
    """... whose limit is this."""
    rest_min_s: float = 2 * 3600.0
    """NOT_UP no sooner than this after the rest began."""
    min_presence: float = MIN_PRESENCE
    """Around an hour in which the resident has been at home on fewer than this share of the faded days, the learned
    limit is at least ``margin ×`` the floor (0: off); see :data:`MIN_PRESENCE`."""
    evening_start_h: int = 19
    """Evening: from this local hour to the night's end, once a bed time is known. An evening silence outside the
    bedroom ..."""
    evening_floor_s: float = 135 * 60.0
    """... is due no sooner than this ..."""
    late_floor_s: float = 3 * 3600.0
    """... or this, when it starts past the usual bed time ..."""
    evening_ceil_s: float = 3 * 3600.0
    """... and, before the home's evenings are learned, by the usual bed time but no later than this ..."""
    evening_bath: bool = True
    """... (True: right after the toilet too, which may be followed by bed unseen; False: the toilet is a trace of
    going to bed) ..."""
    evening_max_s: float = 3 * 3600.0
    """... and in any case at most this long after it began, or after the evening began for a daytime silence that runs
    into it (0: no cap)."""
    evening_seat_max_s: float = 4.5 * 3600.0
    """A seated evening silence (the pad occupied now) may last up to this when the home's learned seated limit is
    longer than ``evening_max_s`` (0: the cap holds)."""
    trip_watch_n: float = 5.0
    """A night trip no bed pad announced alerts only in a home where this many trips (faded) came back to the bedroom
    in time (0: off) ..."""
    trip_watch_share: float = 0.1
    """... and at most this share ran out."""
    trip_rest_s: float = 45 * 60.0
    """Tonight's rest has lasted this long: activity in another room is a trip from bed, not the evening going on (0:
    always)."""
    abs_runout_n: float = 1.2
    """Night absences followed by the resident moving again within ``absence_up_s`` this often (faded): every trip is
    given ``absence_up_s`` (0: off)."""
    untraced_nights: bool = True
    """A home whose nights leave no bedroom trace learns them from the night's silence and goes to bed by the clock
    past their early edge."""
    untraced_bath_share: float = 0.1
    """... from this share of untraced nights a silence after the toilet past that edge is the night (0: only a
    majority)."""
    bed_bath_share: float = 0.9
    """... and where this share of them began at the toilet, only the toilet goes to bed by the clock (0: off)."""
    early_nights: bool = True
    """Past the early edge of the learned bed times the night begins before ``night_start_h``."""
    thin_factor: float = 2.0
    """A context with fewer samples around an hour than this × ``rate`` × the faded days gets at least the active limit
    (0: off)."""
    pad_late_n: float = 5.0
    """A pad that let go an hour or more after the resident was seen elsewhere this many times (faded) is reported
    PAD_STUCK (0: off)."""
    early_prior_s: float = 4 * 3600.0
    """Before ``learn_days``: the population prior of a daytime silence, narrowing to ``margin ×`` the floor, widened
    by the longest silences seen (0: the fixed limits)."""
    early_morning_s: float = 3 * 3600.0
    """... at most this for one that starts in the morning."""
    early_evidence_h: float = 12.0
    """... and once the resident has been home this many daytime hours, at most ``margin ×`` the longest daytime
    silence seen (0: off)."""
    bath_unseen_s: float = 15 * 60.0
    """A daytime silence begun with bathroom motion this long that ends elsewhere is an exit no sensor saw ..."""
    bath_blind_n: float = 0.9
    """... and with this many (faded), bathroom motion gets the active limits, not ``bath_limit_s`` (0: off)."""
    bed_default_min: int = 23 * 60
    """The usual bed time before one is learned or enrolled (local minute)."""
    bed_q: float = 0.9
    """The usual bed time: this quantile of the bed times learned ..."""
    bed_margin_min: int = 60
    """... + this margin."""
    arrival_limit_s: float = 3 * 3600.0
    """Right after coming in (or sitting down, or in the bedroom, within ``arrival_window_s`` of the door): due at most
    this long after."""
    arrival_window_s: float = 5 * 60.0
    """... that window."""
    away_min_s: float = 30 * 60.0
    """A passage through the entrance door this long after going out is coming in; sooner, back soon (in, or out
    again)."""
    door_pair_s: float = 60.0
    """Entrance-door events this close are one passage."""
    prior_sleep_s: float = 12 * 3600.0
    """Before the wake-ups are learned: NOT_UP no sooner than this after going to bed."""
    back_soon_ceil_s: float = 24 * 3600.0
    """A silence after a passage back soon after going out is due at ``margin ×`` the longest outing lately, at most
    this long after (0: never due) ..."""
    back_soon_prior_s: float = 8 * 3600.0
    """... and at least this long before this home's outings are known."""
    wake_unsure_min: int = 60
    """An enrolled wake-up, or the few seen, is this unsure: NOT_UP that much later, the night over that much
    earlier."""
    utc_offset_min: int = 0
    """The home's default local time offset (minutes east of UTC)."""
    supervision: SupervisionConfig = field(default_factory=SupervisionConfig)
    """Device supervision (:class:`stream.supervision.SupervisionConfig`)."""

    def __post_init__(self) -> None:
        for name in (f.name for f in fields(self)):
            value = getattr(self, name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, not {value!r}")
        if min(self.early_prior_s, self.early_evidence_h, self.absence_trip_s) < 0:
            raise ValueError("early_prior_s, early_evidence_h, absence_trip_s >= 0 (0: off)")
        if min(self.absence_s, self.absence_up_s) <= 0:
            raise ValueError("absence_s, absence_up_s > 0")
        if self.early_morning_s <= 0:
            raise ValueError("early_morning_s must be > 0 (early_prior_s or more: no separate morning prior)")
        if self.trip_watch_n < 0 or not 0 <= self.trip_watch_share <= 1:
            raise ValueError("trip_watch_n >= 0 (0: off); trip_watch_share in [0, 1]")
        if self.abs_runout_n < 0:
            raise ValueError("abs_runout_n >= 0 (0: off)")
        if not self.pad_late_n >= 0:
            raise ValueError("pad_late_n >= 0 (0: off)")
        if min(self.back_soon_ceil_s, self.back_soon_prior_s) < 0:
            raise ValueError("back_soon_ceil_s, back_soon_prior_s >= 0 (ceil 0: never due, the rule before)")
        if self.bath_blind_n < 0 or self.bath_unseen_s <= 0:
            raise ValueError("bath_blind_n >= 0 (0: off); bath_unseen_s > 0")
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
        if not (0 <= self.evening_start_h < 24 and 0 <= self.bed_default_min < 1440 and 0 < self.bed_q <= 1):
            raise ValueError("evening_start_h in 0..23, bed_default_min in 0..1439, bed_q in (0, 1]")
        if min(self.evening_floor_s, self.late_floor_s, self.arrival_limit_s, self.prior_sleep_s) <= 0:
            raise ValueError("evening_floor_s, late_floor_s, arrival_limit_s and prior_sleep_s must be > 0")
        if min(self.evening_max_s, self.evening_seat_max_s, self.trip_rest_s, self.thin_factor) < 0:
            raise ValueError("evening_max_s, evening_seat_max_s, trip_rest_s and thin_factor must be >= 0 (0: off)")
        if not (0 <= self.wake_early_lo_min <= self.wake_window_lo_min and 12 * 60 <= self.bed_floor_min <= 18 * 60):
            raise ValueError("wake_early_lo_min in 0..wake_window_lo_min, bed_floor_min in 12:00..18:00")
        if self.full_night_s <= 0:
            raise ValueError("full_night_s must be > 0")
        if not (0 <= self.untraced_bath_share <= 1 and 0 <= self.bed_bath_share <= 1):
            raise ValueError("untraced_bath_share and bed_bath_share in [0, 1] (0: off)")
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
        p[k.P_WAKE_EARLY_LO_MIN] = self.wake_early_lo_min
        p[k.P_FULL_NIGHT_S] = self.full_night_s
        p[k.P_BED_FLOOR_MIN] = self.bed_floor_min
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
        p[k.P_EVENING_START_H] = self.evening_start_h
        p[k.P_EVENING_FLOOR_S] = self.evening_floor_s
        p[k.P_BED_DEFAULT_MIN] = self.bed_default_min
        p[k.P_BED_Q] = self.bed_q
        p[k.P_BED_MARGIN_MIN] = self.bed_margin_min
        p[k.P_ARRIVAL_LIMIT_S] = self.arrival_limit_s
        p[k.P_ARRIVAL_WINDOW_S] = self.arrival_window_s
        p[k.P_AWAY_MIN_S] = self.away_min_s
        p[k.P_DOOR_PAIR_S] = self.door_pair_s
        p[k.P_PRIOR_SLEEP_S] = self.prior_sleep_s
        p[k.P_WAKE_UNSURE_MIN] = self.wake_unsure_min
        p[k.P_LATE_FLOOR_S] = self.late_floor_s
        p[k.P_EVENING_CEIL_S] = self.evening_ceil_s
        p[k.P_EVENING_BATH] = 1.0 if self.evening_bath else 0.0
        p[k.P_EVENING_MAX_S] = self.evening_max_s
        p[k.P_TRIP_REST_S] = self.trip_rest_s
        p[k.P_THIN_FACTOR] = self.thin_factor
        p[k.P_ABSENCE_TRIP_S] = self.absence_trip_s
        p[k.P_ABSENCE_UP_S] = self.absence_up_s
        p[k.P_EARLY_PRIOR_S] = self.early_prior_s
        p[k.P_EARLY_MORNING_S] = self.early_morning_s
        p[k.P_EARLY_EVIDENCE_H] = self.early_evidence_h
        p[k.P_EVENING_SEAT_MAX_S] = self.evening_seat_max_s
        p[k.P_TRIP_WATCH_N] = self.trip_watch_n
        p[k.P_TRIP_WATCH_SHARE] = self.trip_watch_share
        p[k.P_ABS_RUNOUT_N] = self.abs_runout_n
        p[k.P_UNTRACED_NIGHTS] = 1.0 if self.untraced_nights else 0.0
        p[k.P_UNTRACED_BATH_SHARE] = self.untraced_bath_share
        p[k.P_BED_BATH_SHARE] = self.bed_bath_share
        p[k.P_EARLY_NIGHTS] = 1.0 if self.early_nights else 0.0
        p[k.P_BATH_UNSEEN_S] = self.bath_unseen_s
        p[k.P_BATH_BLIND_N] = self.bath_blind_n
        p[k.P_BACK_SOON_CEIL_S] = self.back_soon_ceil_s
        p[k.P_BACK_SOON_PRIOR_S] = self.back_soon_prior_s
        return p
