"""The plain-Python reference twin of the home-activity kernels.

:class:`ReferenceHome` recomputes :func:`stream.kernels.home.home_process` / ``home_advance`` with
per-resident Python objects and NumPy rows (no Numba): same inputs, same detections. The tests
compare the two (``tests/stream/test_home_kernels.py``); :mod:`lab.homes.bench` times both.
One module of ~800 lines, as the kernel it mirrors is one (its docstring says why): a twin split
otherwise than its original is harder to read against it, rule by rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from stream.home import HomeConfig
from stream.kernels import home as k

HIST_INDEX = {k.CTX_ACTIVE: 0, k.CTX_REST: 1, k.CTX_SEATED: 2, k.CTX_BEDROOM: 3, k.CTX_ARRIVED: 0}
"""Learned contexts and their histogram rows (as :func:`stream.kernels.home.hist_index`)."""

Row = tuple[int, int, int, int, int, float, int]
"""A detection: (resident slot, kind code, start_ms, due_ms, learned, threshold_s, context)."""


@dataclass
class _Resident:
    offset: int
    hist: npt.NDArray[np.float32]
    wake: list[int] = field(default_factory=list)
    n_wake: int = 0
    beds: list[int] = field(default_factory=list)  # bed times, minutes after local noon
    n_bed: int = 0
    rest_since: int = -1
    door_last: int = -1
    door_in: int = k.DOOR_OUT  # the last passage: DOOR_OUT, DOOR_IN or DOOR_UNSURE (back soon after going out)
    door_open: bool = False
    arrived: int = -1
    enroll_wake: int = -1
    enroll_bed: int = -1
    first: int = -1
    last: int = -1
    ctx: int = k.CTX_ACTIVE
    deadline: int = k.NEVER
    kind: int = k.K_INACTIVITY
    fired: int = 0
    thr: int = 0
    night: bool = False
    learned: int = k.B_FIXED  # basis and reason flags of the deadline
    bed: int = k.PAD_FREE
    seat: int = k.PAD_FREE
    bed_room: int = 0
    seat_room: int = 0
    bed_on: int = 0
    seat_on: int = 0
    abs_deadline: int = k.NEVER
    abs_start: int = -1
    abs_out: int = 0  # bed pad let go at night: 1 not yet seen out of the bed's room, 2 seen up (abs_up)
    abs_up: int = 0
    day: int = -1
    expo: int = 0  # micro-days, as the kernel's fixed point
    motion_room: int = -1  # ROOM_* of the motion that began the silence, −1 none
    bath_unseen: int = 0  # exits from the bathroom no sensor saw, faded, × EXPO_SCALE
    trip: int = 0  # a night trip no pad armed: 1 out, 2 its timer ran out, 3 at the bedroom door
    trips_back: int = 0  # such trips back in the bedroom in time, faded, × EXPO_SCALE
    trips_out: int = 0  # such trips whose timer ran out, faded, × EXPO_SCALE
    bedroom_since: int = -1  # since when every activity has been in the bedroom, −1 not there
    abs_runouts: int = 0  # night-absence alerts the resident moved again after in time, faded, × EXPO_SCALE
    abs_ran_out: int = -1  # when tonight's night-absence alert's silence began, −1 none
    nights_traced: int = 0  # nights whose rest began in the bedroom or bed, faded, × EXPO_SCALE
    nights_untraced: int = 0  # nights whose rest began anywhere else, faded, × EXPO_SCALE
    rest_traced: bool = False  # tonight's rest has been in the bedroom or bed
    rest_first: int = -1  # when tonight's rest first began (kept while the clock restarts it), −1 none
    bath_at: int = 0  # the last activity in the bathroom, 0 none
    rest_bath: bool = False  # tonight's rest began right after the toilet
    nights_bath: int = 0  # untraced nights begun right after the toilet, faded, × EXPO_SCALE
    out_longest: int = 0  # the longest outing (out and back in through the entrance door), ms, faded


class ReferenceHome:
    """The home-activity kernels in plain Python: same inputs, same detections."""

    def __init__(self, config: HomeConfig, n_residents: int, offset_min: int = 0) -> None:
        self.c = config
        self.residents = [_Resident(offset_min, k.new_hist(1, config.hist_bins)[0]) for _ in range(n_residents)]
        self.log_ratio = math.log(config.hist_max_s / config.sample_min_s) / config.hist_bins

    # -- time of day ------------------------------------------------------------------------------
    def _hour(self, t: int, off: int) -> int:
        return ((t + off * 60_000) % 86_400_000) // 3_600_000

    def _minute(self, t: int, off: int) -> int:
        return ((t + off * 60_000) % 86_400_000) // 60_000

    def _night(self, h: int) -> bool:
        start, end = self.c.night_start_h, self.c.night_end_h
        return start <= h < end if start <= end else (h >= start or h < end)

    # -- learned limits ---------------------------------------------------------------------------
    def _bin(self, length_s: float) -> int:
        return min(max(int(math.log(length_s / self.c.sample_min_s) / self.log_ratio), 0), self.c.hist_bins - 1)

    def _learned(self, p: _Resident, hc: int, h: int, prior_s: float, days: float | None = None) -> float:
        """As ``learned_threshold``; ``days`` of budget, by default the resident's faded days."""
        rows = [p.hist[hc, (h - 1) % 24], p.hist[hc, h], p.hist[hc, (h + 1) % 24]]
        pooled = [0.0] * self.c.hist_bins
        total = 0.0
        for row, weight in zip(rows, (self.c.pool_w, 1.0, self.c.pool_w), strict=True):
            for b in range(self.c.hist_bins):
                v = weight * float(row[b])
                pooled[b] += v
                total += v
        if total < self.c.min_count:
            return -1.0
        if prior_s > 0 and self.c.prior_count > 0:
            pooled[self._bin(prior_s)] += self.c.prior_count
        budget = self.c.rate * (p.expo / k.EXPO_SCALE if days is None else days)
        acc = 0.0
        for b in range(self.c.hist_bins - 1, -1, -1):
            acc += pooled[b]
            if acc > budget:
                return self.c.margin * self.c.sample_min_s * math.exp((b + 1) * self.log_ratio)
        return self.c.margin * self.c.sample_min_s

    def _pooled_count(self, p: _Resident, hc: int, h: int) -> float:
        """Samples of row ``hc`` pooled around hour ``h``, without the prior (as ``pooled_count``)."""
        total = 0.0
        for dh, weight in zip((-1, 0, 1), (self.c.pool_w, 1.0, self.c.pool_w), strict=True):
            for b in range(self.c.hist_bins):
                total += weight * float(p.hist[hc, (h + dh) % 24, b])
        return total

    def _presence_days(self, p: _Resident, h: int) -> float:
        """Faded days at home around hour ``h`` (as ``presence_days``)."""
        row = p.hist[k.PRESENCE_ROW, :, 0]
        w = self.c.pool_w
        total = w * float(row[(h - 1) % 24]) + float(row[h]) + w * float(row[(h + 1) % 24])
        return total / (1.0 + 2.0 * w)

    def _add_presence(self, p: _Resident, start: int, end: int) -> None:
        """Hours at home by local hour (as ``_add_presence``; at most 48 hour segments)."""
        shift = p.offset * 60_000
        row = p.hist[k.PRESENCE_ROW, :, 0]
        t = start
        for _ in range(48):
            if t >= end:
                break
            seg_end = min(end, ((t + shift) // 3_600_000 + 1) * 3_600_000 - shift)
            h = self._hour(t, p.offset)
            row[h] = np.float32(float(row[h]) + (seg_end - t) / 3_600_000)
            t = seg_end

    def _add_span(self, p: _Resident, hc: int, start: int, end: int) -> None:
        """Elapsed silence at the end of each local hour ``[start, end)`` spans (as ``_add_span``)."""
        shift = p.offset * 60_000
        hour_end = ((start + shift) // 3_600_000 + 1) * 3_600_000 - shift
        for _ in range(int(self.c.hist_max_s / 3600.0) + 2):
            seg_end = min(end, hour_end)
            elapsed = seg_end - start
            if elapsed >= self.c.sample_min_s * 1000.0:
                row = p.hist[hc, self._hour(seg_end - 1, p.offset)]
                b = self._bin(elapsed / 1000.0)
                row[b] = np.float32(float(row[b]) + 1.0)
            if end <= hour_end:
                break
            hour_end += 3_600_000

    def _span_deadline(self, p: _Resident, hc: int, t0: int, prior_s: float, floor_s: float, ceil_s: float) -> int:
        """First moment past the floor at which the silence exceeds its hour's limit (``span_deadline``)."""
        shift = p.offset * 60_000
        end = t0 + int(ceil_s * 1000.0)
        tau = t0 + int(floor_s * 1000.0)
        while tau < end:
            h = self._hour(tau, p.offset)
            lim = self._learned(p, hc, h, prior_s)
            if lim < 0:
                return -1
            days = p.expo / k.EXPO_SCALE
            if hc != 0 and self._pooled_count(p, hc, h) < self.c.thin_factor * self.c.rate * days:
                active = self._learned(p, 0, h, prior_s)  # a thin context: no shorter than active
                if active < 0:
                    return -1
                lim = max(lim, active)
            if self._presence_days(p, h) < self.c.min_presence * days:
                lim = max(lim, self.c.margin * floor_s)
            hour_end = ((tau + shift) // 3_600_000 + 1) * 3_600_000 - shift
            cand = max(tau, t0 + int(lim * 1000.0))
            if cand < hour_end:
                return min(cand, end)
            tau = hour_end
        return end

    def _daytime_home(self, p: _Resident) -> float:
        """Faded hours at home in the daytime hours (as ``daytime_hours_home``)."""
        return sum(float(p.hist[k.PRESENCE_ROW, h, 0]) for h in range(24) if not self._evening(h))

    def _longest_daytime(self, p: _Resident, hc: int) -> float:
        """``margin ·`` the longest daytime silence of row ``hc`` seen (as ``longest_daytime``)."""
        hours = [h for h in range(24) if not self._evening(h)]
        return max([self.c.margin * self.c.sample_min_s] + [self._learned(p, hc, h, 0.0, days=0.0) for h in hours])

    def _early_deadline(
        self, p: _Resident, hc: int, t0: int, day_prior_s: float, prior_s: float, ceil_s: float
    ) -> tuple[int, int]:
        """The first weeks' deadline and basis: ``max(prior, margin · longest seen)`` hour by hour, the
        prior ``day_prior_s`` in the daytime hours (as ``early_deadline``)."""
        shift = p.offset * 60_000
        end = t0 + int(ceil_s * 1000.0)
        day_prior_s = min(day_prior_s, prior_s)
        tau = t0 + int(day_prior_s * 1000.0)
        while tau < end:
            h = self._hour(tau, p.offset)
            base = prior_s if self._evening(h) else day_prior_s
            from_home = tau > t0 + int(base * 1000.0) or base < prior_s  # carried past it, or this home's day
            seen = self._learned(p, hc, h, 0.0, days=0.0)  # the longest, × margin
            lim, basis = (seen, k.B_OBSERVED) if seen > base else (base, k.B_OBSERVED if from_home else k.B_FIXED)
            hour_end = ((tau + shift) // 3_600_000 + 1) * 3_600_000 - shift
            cand = max(tau, t0 + int(lim * 1000.0))
            if cand < hour_end:
                return min(cand, end), basis
            tau = hour_end
        return end, k.B_OBSERVED

    def _fade(self, p: _Resident, t: int) -> None:
        day = (t + p.offset * 60_000) // 86_400_000
        if p.day < 0:
            p.day, p.expo = day, int(k.EXPO_SCALE)
            return
        if day <= p.day:
            return
        factor, expo = 1.0, p.expo / k.EXPO_SCALE
        for _ in range(min(day - p.day, 3660)):
            factor *= self.c.decay
            expo = expo * self.c.decay + 1.0
        p.hist[...] = (p.hist.astype(np.float64) * factor).astype(np.float32)
        p.day, p.expo = day, int(expo * k.EXPO_SCALE)
        p.bath_unseen = int(p.bath_unseen * factor)
        p.trips_back = int(p.trips_back * factor)
        p.trips_out = int(p.trips_out * factor)
        p.abs_runouts = int(p.abs_runouts * factor)
        p.nights_traced = int(p.nights_traced * factor)
        p.nights_untraced = int(p.nights_untraced * factor)
        p.nights_bath = int(p.nights_bath * factor)
        p.out_longest = int(p.out_longest * factor)

    def _trip_from_bed(self, p: _Resident, t: int, where: int) -> bool:
        """The bathroom, or tonight's rest has lasted ``trip_rest_s`` (as ``_trip_from_bed``)."""
        return where == k.ROOM_BATH or p.rest_since < 0 or t - p.rest_since >= self.c.trip_rest_s * 1000.0

    def _bath_blind(self, p: _Resident) -> bool:
        """Exits from the bathroom no sensor saw, faded, ≥ ``bath_blind_n`` (as ``bath_blind``)."""
        return 0 < self.c.bath_blind_n <= p.bath_unseen / k.EXPO_SCALE

    def _trips_watched(self, p: _Resident) -> bool:
        """Night trips no pad armed come back to the bedroom in time here (as ``trips_watched``)."""
        back, out = p.trips_back / k.EXPO_SCALE, p.trips_out / k.EXPO_SCALE
        return 0 < self.c.trip_watch_n <= back and out <= self.c.trip_watch_share * (back + out)

    def _leaves_rest(self, p: _Resident, t: int, ev: int, where: int, motion: int) -> bool:
        """Leaving tonight's rest on a trip no pad announced (as ``_leaves_rest``)."""
        c = self.c
        if ev != k.EV_ACTIVITY or p.abs_out != 0 or p.bed == k.PAD_ON or c.trip_watch_n <= 0:
            return False
        if p.ctx != k.CTX_REST or not p.night or p.rest_since < 0:
            return False
        if p.bedroom_since < 0 or t - p.bedroom_since < c.trip_rest_s * 1000.0 or not self._up_at_night(p, t):
            return False
        return where != k.ROOM_BED or motion == 0

    @staticmethod
    def _moving_again(
        r: int, p: _Resident, t: int, where: int, monitored: npt.NDArray[np.uint8], out: list[Row]
    ) -> None:
        """The first activity after an alert of this silence, or of tonight's night absence (as ``_moving_again``)."""
        if p.fired == 1:
            out.append((r, k.K_MOVING, p.last, t, p.kind, (t - p.last) / 1000.0, where))
        if p.abs_ran_out >= 0 and monitored[r] == 1:
            out.append((r, k.K_MOVING, p.abs_ran_out, t, k.K_NIGHT_ABSENCE, (t - p.abs_ran_out) / 1000.0, where))

    def _seen_after_absence(self, p: _Resident, t: int, ev: int) -> None:
        """A night-absence alert the resident moved again after in time is counted (as ``_seen_after_absence``)."""
        if p.abs_ran_out < 0:
            return
        if ev != k.EV_DOOR and t - p.abs_ran_out <= self.c.absence_up_s * 1000.0:
            p.abs_runouts += int(k.EXPO_SCALE)
        p.abs_ran_out = -1

    def _just_in(self, p: _Resident, t: int) -> bool:
        """Within ``arrival_window_s`` of coming in at the entrance door (as ``_just_in``)."""
        return p.arrived >= 0 and t - p.arrived <= self.c.arrival_window_s * 1000

    def _trip_limit(self, p: _Resident) -> float:
        """``absence_s``, or ``absence_up_s`` where the timers have lately run out (as ``_trip_limit``)."""
        c = self.c
        if c.abs_runout_n > 0 and p.abs_runouts >= c.abs_runout_n * k.EXPO_SCALE:
            return max(c.absence_s, c.absence_up_s)
        return c.absence_s

    @staticmethod
    def _absence_from(p: _Resident, t: int, limit_s: float) -> None:
        """The night-absence timer from activity at ``t`` (as ``_absence_from``)."""
        p.abs_start, p.abs_deadline = t, t + int(limit_s * 1000.0)

    def _night_absence(self, p: _Resident, t: int, ev: int, on: int, where: int) -> None:
        """The night-absence timer after the bed pad let go at night (as ``_night_absence``)."""
        c = self.c
        in_bedroom = where == k.ROOM_BED and (p.bed_room == k.ROOM_BED or p.trip != 0)
        if not self._up_at_night(p, t):
            p.abs_out, p.abs_deadline, p.trip = 0, k.NEVER, 0
        elif (
            (ev == k.EV_SEAT and on == 1)  # sat down
            or (ev == k.EV_DOOR and p.door_in != k.DOOR_IN)  # out through the entrance door: away, as by day
            or (ev != k.EV_SEAT and p.seat == k.PAD_ON)  # seated, moving
        ):
            p.abs_deadline = k.NEVER
        elif ev not in (k.EV_DOOR, k.EV_SEAT) and in_bedroom:
            if p.trip == 3:  # still at the bedroom door
                self._absence_from(p, t, self._trip_limit(p))
                return
            p.abs_deadline = k.NEVER
            if p.trip != 0:  # back from a trip no pad armed
                if p.trip == 1:
                    p.trips_back += int(k.EXPO_SCALE)
                p.trip, p.abs_out = 0, 0
        else:
            if p.trip == 3:
                p.trip = 1
            if p.abs_out == 1:
                p.abs_out, p.abs_up = 2, t
            limit = self._trip_limit(p)
            if t - p.abs_up >= c.absence_trip_s * 1000.0:
                limit = max(limit, c.absence_up_s)
            if p.seat == k.PAD_STALE and where == p.seat_room:  # back in the armchair would not show
                limit = max(limit, c.absence_up_s)
            self._absence_from(p, t, limit)

    def _up_at_night(self, p: _Resident, t: int) -> bool:
        c = self.c
        h, m = self._hour(t, p.offset), self._minute(t, p.offset)
        if not self._night(h):
            return False
        early = c.night_end_h * 60
        if p.n_wake >= c.wake_min_samples:
            early = self._wake_edge(self._wake_deadline(p))
        elif p.enroll_wake >= 0:
            early = min(early, p.enroll_wake - c.wake_unsure_min)
        return h >= c.night_start_h or m < early

    def _before_wake(self, p: _Resident, t: int) -> bool:
        """Past the night hours, before the early edge of the learned wake-up; until the wake-ups are
        learned, of the "not up" minute known so far while tonight's rest goes on (as ``_before_wake``)."""
        c = self.c
        if self._night(self._hour(t, p.offset)):
            return False
        if p.n_wake < c.wake_min_samples:
            return p.rest_since >= 0 and not self._nap(p, t)
        return self._minute(t, p.offset) < self._wake_edge(self._wake_deadline(p))

    def _wake_edge(self, not_up_min: int) -> int:
        """The early edge of the usual wake-up from its "not up" minute (as ``_wake_edge_min``)."""
        return min(not_up_min - self.c.wake_margin_min - 60, 720)

    def _nap(self, p: _Resident, t: int) -> bool:
        """A resting silence by day before wake-ups are learned is a nap (as ``_nap``)."""
        return self._minute(t, p.offset) >= self._wake_edge(self._early_wake(p)[0])

    def _wake_deadline(self, p: _Resident) -> int:
        c = self.c
        if p.n_wake < c.wake_min_samples:
            return c.wake_default_min
        recent = sorted(p.wake)
        q = float(recent[max(math.ceil(c.wake_q * len(recent)), 1) - 1])
        return int(max(c.wake_floor_min, min(c.wake_ceil_min, q + c.wake_margin_min)))

    def _early_wake(self, p: _Resident) -> tuple[int, int]:
        """The "not up" minute before wake-ups are learned (as ``early_wake_min``)."""
        c = self.c
        m, basis = float(c.wake_default_min), k.B_FIXED
        if p.enroll_wake >= 0:
            m, basis = float(p.enroll_wake + c.wake_margin_min + c.wake_unsure_min), k.B_ENROLLED
        if p.wake:
            seen = float(max(p.wake) + c.wake_margin_min + c.wake_unsure_min)
            if seen > m:
                m, basis = seen, k.B_OBSERVED
        return int(max(c.wake_floor_min, min(c.wake_ceil_min, m))), basis

    def _bed_bound(self, p: _Resident, q: float, late: bool) -> tuple[int, int]:
        """The ``q`` quantile of the bed times, or the prior pushed out to the latest (``late``) or
        earliest seen, ± the margin (as ``_bed_bound_min``)."""
        c = self.c
        sign = 1 if late else -1
        if p.n_bed >= c.wake_min_samples and p.beds:
            recent = sorted(p.beds)
            v, basis = float(recent[max(math.ceil(q * len(recent)), 1) - 1]), k.B_LEARNED
        else:
            v, basis = float((c.bed_default_min - 720) % 1440), k.B_FIXED
            if p.enroll_bed >= 0:
                v, basis = float((p.enroll_bed - 720) % 1440), k.B_ENROLLED
            if p.beds:
                seen = float((max(p.beds) if late else min(p.beds)) + sign * c.wake_unsure_min)
                if sign * (seen - v) > 0:
                    v, basis = seen, k.B_OBSERVED
        return int(v + sign * c.bed_margin_min), basis

    def _bed_line(self, p: _Resident) -> tuple[int, int]:
        """Minutes after noon by which the resident is usually in the bedroom (as ``bed_line_min``)."""
        return self._bed_bound(p, self.c.bed_q, True)

    def _bed_edge(self, p: _Resident) -> int:
        """Minutes after noon from which a night-time silence may be sleep (as ``bed_edge_min``)."""
        return self._bed_bound(p, 1.0 - self.c.bed_q, False)[0]

    def _to_bed_unseen(self, p: _Resident, t: int, bath: bool, toilet: bool) -> bool:
        """Nights leave no trace here (or some do, after the toilet), ``t`` is past their early edge, and
        not a home that goes to bed from the toilet seen elsewhere first tonight (as ``_to_bed_unseen``)."""
        c = self.c
        if not c.untraced_nights:
            return False
        share = c.untraced_bath_share
        total = p.nights_untraced + p.nights_traced
        some = bath and share > 0 and p.nights_untraced > 0 and p.nights_untraced >= share * total
        if not (some or p.nights_untraced > p.nights_traced):
            return False
        if (
            not toilet
            and (p.rest_first < 0 or t - p.rest_first < c.trip_rest_s * 1000.0)
            and c.bed_bath_share > 0
            and p.nights_untraced >= k.BED_BATH_MIN_NIGHTS * k.EXPO_SCALE
            and p.nights_bath >= c.bed_bath_share * p.nights_untraced
        ):
            return False
        return self._past_bed_edge(p, t)

    def _past_bed_edge(self, p: _Resident, t: int) -> bool:
        """Past the early edge of the bed times (as ``_past_bed_edge``)."""
        return (self._minute(t, p.offset) - 720) % 1440 >= self._bed_edge(p)

    def _early_night(self, p: _Resident, t: int, where: int) -> bool:
        """Past the early edge of learned bed times, from ``bed_floor_min``, before the night hours; with no bed
        time yet, the bed pad occupied or activity in the bedroom from ``bed_floor_min`` (as the kernel)."""
        c = self.c
        if not c.early_nights:
            return False
        m = (self._minute(t, p.offset) - 720) % 1440
        if p.n_bed <= 0:  # no bed time yet: in bed on the pad or in the bedroom, from bed_floor_min
            in_bed = p.bed == k.PAD_ON or where == k.ROOM_BED
            return in_bed and c.bed_floor_min - 720 <= m < c.night_start_h * 60 - 720
        return c.bed_floor_min - 720 <= m < c.night_start_h * 60 - 720 and m >= self._bed_edge(p)

    def _evening(self, h: int) -> bool:
        return h >= self.c.evening_start_h or h < self.c.night_end_h

    def _start(self, p: _Resident, t: int, ctx: int, bath: bool, morning: bool) -> None:
        c = self.c
        h = self._hour(t, p.offset)
        p.last, p.ctx, p.fired, p.learned, p.night, p.kind = t, ctx, 0, k.B_FIXED, False, k.K_INACTIVITY
        if ctx == k.CTX_AWAY:
            limit = c.away_limit_s
            if p.door_in == k.DOOR_UNSURE and c.back_soon_ceil_s > 0:  # back in, or out again
                limit = max(c.arrival_limit_s, c.margin * p.out_longest / 1000)
                if p.out_longest <= 0 or p.first < 0 or t - p.first < c.learn_days * 86400 * 1000:
                    limit = max(limit, c.back_soon_prior_s)  # this resident's outings not known yet
                limit = min(limit, c.back_soon_ceil_s)
                p.learned = k.B_FIXED | k.W_BACK_SOON
            if limit <= 0:
                p.deadline, p.thr = k.NEVER, 0
                return
            p.deadline = t + int(limit * 1000)
        elif ctx == k.CTX_BATH:
            p.kind, limit = k.K_BATHROOM, c.bath_limit_s
            p.deadline = t + int(limit * 1000)
        elif ctx == k.CTX_REST and (self._night(h) or morning):
            p.kind, p.night = k.K_NOT_UP, True
            if p.n_wake >= c.wake_min_samples:
                wake_min, p.learned = self._wake_deadline(p), k.B_LEARNED
            else:
                wake_min, p.learned = self._early_wake(p)
            local = t + p.offset * 60_000
            wake_local = local - local % 86_400_000 + wake_min * 60_000
            if wake_local <= local:
                wake_local += 86_400_000
            deadline = wake_local - p.offset * 60_000
            if p.learned == k.B_FIXED and p.rest_since >= 0:
                deadline = max(deadline, p.rest_since + int(c.prior_sleep_s * 1000))
            if p.rest_since >= 0 and not p.rest_traced:
                p.learned |= k.W_UNTRACED
            deadline = max(deadline, t + int(c.rest_min_s * 1000))
            p.deadline = min(deadline, t + int(c.rest_ceil_s * 1000))
            limit = (p.deadline - t) / 1000
        else:
            if ctx == k.CTX_REST:
                fixed, floor, ceil = c.rest_fixed_s, c.rest_floor_s, c.rest_ceil_s
            elif ctx == k.CTX_SEATED:
                fixed, floor, ceil = c.seat_fixed_s, c.seat_floor_s, c.seat_ceil_s
            else:
                fixed, floor, ceil = c.active_fixed_s, c.active_floor_s, c.active_ceil_s
            outside_bedroom = ctx not in (k.CTX_REST, k.CTX_BEDROOM) and (not bath or c.evening_bath) and p.n_bed > 0
            evening = outside_bedroom and self._evening(h)
            night_like = ctx != k.CTX_REST and self._night(h) and not evening
            if night_like:
                fixed, floor, ceil = c.rest_fixed_s, c.night_floor_s, c.rest_ceil_s
            if evening:
                late = (self._minute(t, p.offset) - 720) % 1440 >= self._bed_line(p)[0]
                floor = min(max(floor, c.late_floor_s if late else c.evening_floor_s), ceil)
                if bath and c.evening_max_s > 0:
                    floor = min(max(floor, c.evening_max_s), ceil)
            limit = fixed
            p.deadline = t + int(limit * 1000)
            if p.first >= 0 and t - p.first >= c.learn_days * 86400 * 1000:
                due = self._span_deadline(p, HIST_INDEX[ctx], t, fixed, floor, ceil)
                if due > 0:
                    p.deadline, limit, p.learned = due, (due - t) / 1000, k.B_LEARNED
            elif not night_like and 0.0 < c.early_prior_s < fixed and (ctx != k.CTX_REST or self._nap(p, t)):
                known = min((t - p.first) / (c.learn_days * 86400.0 * 1000.0), 1.0)
                end_prior = min(c.margin * floor, c.early_prior_s)
                prior = c.early_prior_s - (c.early_prior_s - end_prior) * known
                if c.night_end_h <= self._hour(t, p.offset) < 12:
                    prior = min(prior, c.early_morning_s)
                prior = max(prior, floor)
                day_prior = prior  # watched a day: by day no more than margin · the longest up-and-about silence
                if c.early_evidence_h > 0 and ctx == k.CTX_ACTIVE and self._daytime_home(p) >= c.early_evidence_h:
                    day_prior = max(end_prior, floor, self._longest_daytime(p, HIST_INDEX[ctx]))
                p.deadline, p.learned = self._early_deadline(p, HIST_INDEX[ctx], t, day_prior, prior, fixed)
                limit = (p.deadline - t) / 1000
            sat_down = ctx == k.CTX_SEATED and self._just_in(p, t)
            if ctx == k.CTX_ARRIVED or sat_down:  # right after coming in (as ``_start_silence``)
                cap = t + int(c.arrival_limit_s * 1000)
                if cap < p.deadline:
                    p.deadline, limit, p.learned = cap, c.arrival_limit_s, k.B_FIXED | k.W_ARRIVED
            seat_allow = 0.0  # a home that has shown it sits through its evenings (as ``_start_silence``)
            shown = p.learned in (k.B_LEARNED, k.B_OBSERVED)
            if evening and ctx == k.CTX_SEATED and p.seat == k.PAD_ON and shown and c.evening_max_s > 0:
                seat_allow = min(limit, c.evening_seat_max_s)
                seat_allow = seat_allow if seat_allow > c.evening_max_s else 0.0
            if evening and p.learned != k.B_LEARNED:
                line, basis = self._bed_line(p)
                m0 = (self._minute(t, p.offset) - 720) % 1440
                if m0 < line:
                    wait = min(max(c.evening_floor_s, (line - m0) * 60.0), c.evening_ceil_s)
                else:
                    wait = c.late_floor_s
                if bath and c.evening_max_s > 0:
                    wait = max(wait, c.evening_max_s)
                wait = max(wait, seat_allow)
                cap = t + int(wait * 1000)
                if cap < p.deadline:
                    p.deadline, limit, p.learned = cap, (cap - t) / 1000, basis | k.W_EVENING
            if evening and c.evening_max_s > 0:
                cap_s = max(c.evening_max_s, seat_allow)
                cap = t + int(cap_s * 1000)
                if cap < p.deadline:
                    p.deadline, limit, p.learned = cap, cap_s, (p.learned & k.B_MASK) | k.W_EVENING_MAX
            if outside_bedroom and not evening and c.evening_max_s > 0:
                allow = c.evening_max_s  # a daytime silence that runs into the evening (as ``_start_silence``)
                if ctx == k.CTX_SEATED and p.seat == k.PAD_ON and shown:
                    allow = max(allow, min(limit, c.evening_seat_max_s))
                shift = p.offset * k.MIN_MS
                day = (t + shift) // k.DAY_MS * k.DAY_MS
                cap = day + c.evening_start_h * k.HOUR_MS - shift + int(allow * 1000)
                if cap < p.deadline:
                    p.deadline, limit, p.learned = cap, (cap - t) / 1000, (p.learned & k.B_MASK) | k.W_EVENING_MAX
        p.thr = int(limit)

    def _due(self, r: int, t: int, monitored: npt.NDArray[np.uint8], out: list[Row]) -> None:
        p = self.residents[r]
        if p.fired == 0 and p.deadline <= t:
            if monitored[r]:
                p.fired = 1
                out.append((r, p.kind, p.last, p.deadline, p.learned, float(p.thr), p.ctx))
            else:
                p.fired = 2
        if p.abs_deadline <= t:
            watched = True
            if p.trip != 0:  # a trip no pad armed ran out
                watched = self._trips_watched(p)
                if p.trip != 2:
                    p.trips_out += int(k.EXPO_SCALE)
                    p.trip = 2
            if watched:
                p.abs_ran_out = p.abs_start
            if monitored[r] and watched:
                thr = (p.abs_deadline - p.abs_start) / 1000.0
                out.append((r, k.K_NIGHT_ABSENCE, p.abs_start, p.abs_deadline, 0, thr, k.CTX_ACTIVE))
            p.abs_deadline = k.NEVER

    # -- the two entry points ---------------------------------------------------------------------
    def process(
        self,
        res: np.ndarray,
        ts: np.ndarray,
        code: np.ndarray,
        value: np.ndarray,
        room: np.ndarray,
        pir: np.ndarray,
        monitored: npt.NDArray[np.uint8],
    ) -> list[Row]:
        c = self.c
        out: list[Row] = []
        for r, t, ev, on, where, motion in zip(
            res.tolist(), ts.tolist(), code.tolist(), value.tolist(), room.tolist(), pir.tolist(), strict=True
        ):
            if ev == k.EV_IGNORE:
                continue
            p = self.residents[r]
            if ev == k.EV_MOTION_END:  # motion held until now where the silence began with it
                if p.last >= 0 and p.motion_room != where:
                    continue
                ev = k.EV_ACTIVITY
            if ev == k.EV_PRESENCE:  # someone there: ends an away silence or starts the first one
                if not on or (p.last >= 0 and p.ctx != k.CTX_AWAY):
                    continue
                ev = k.EV_ACTIVITY
            if ev in (k.EV_BED, k.EV_SEAT):  # a repeat, or a stale pad letting go: not activity
                state = p.bed if ev == k.EV_BED else p.seat
                first = on == 0 and p.last < 0  # getting up: monitoring began while they lay there
                if not first and ((on == 1 and state != k.PAD_FREE) or (on == 0 and state != k.PAD_ON)):
                    if on == 0:
                        if ev == k.EV_BED:
                            p.bed = k.PAD_FREE
                        else:
                            p.seat = k.PAD_FREE
                    elif ev == k.EV_SEAT and p.abs_deadline != k.NEVER and t >= p.last:
                        self._due(r, t, monitored, out)
                        p.abs_deadline = k.NEVER
                    continue
            if p.first < 0:
                p.first = t
            if t < p.last:
                continue
            self._due(r, t, monitored, out)
            self._moving_again(r, p, t, where, monitored, out)
            self._seen_after_absence(p, t, ev)
            self._fade(p, t)
            if ev == k.EV_BED:
                if on:
                    if p.bed_on < p.rest_since <= p.seat_on:  # the rest so far was on the seat pad
                        p.rest_since = t
                    p.bed, p.bed_room, p.bed_on, p.abs_deadline, p.abs_out = k.PAD_ON, where, t, k.NEVER, 0
                    p.trip = 0
                else:  # armed by the first activity out of the bed's room (as ``_night_absence``)
                    p.bed = k.PAD_FREE
                    p.abs_out = 1 if self._up_at_night(p, t) else 0
            elif ev == k.EV_SEAT:
                p.seat, p.seat_room, p.seat_on = (k.PAD_ON if on == 1 else k.PAD_FREE), where, t
            else:  # seen elsewhere: an occupied pad in another room is stale
                settled = k.PAD_SETTLE_MS
                if p.bed == k.PAD_ON and (ev == k.EV_DOOR or where != p.bed_room) and t - p.bed_on >= settled:
                    p.bed = k.PAD_STALE
                if p.seat == k.PAD_ON and (ev == k.EV_DOOR or where != p.seat_room) and t - p.seat_on >= settled:
                    p.seat = k.PAD_STALE
            if ev == k.EV_DOOR:  # a passage in (after a while away) or out
                closing = not on and p.door_open  # a door held open: the same passage
                if p.door_last < 0 or (t - p.door_last > c.door_pair_s * 1000 and not closing):
                    went_out = p.last >= 0 and p.ctx == k.CTX_AWAY
                    came_in = went_out and t - p.last >= c.away_min_s * 1000
                    unsure = went_out and not came_in and p.door_in == k.DOOR_OUT  # (back for the keys: out)
                    p.door_in = k.DOOR_IN if came_in else k.DOOR_UNSURE if unsure else k.DOOR_OUT
                    if came_in:
                        p.arrived = t
                p.door_last = t
                p.door_open = bool(on)
            leaving = self._leaves_rest(p, t, ev, where, motion)
            if leaving:  # a trip no pad announced, watched from here (the bedroom door: the timer from it)
                p.trip, p.abs_out = 1, 1
                if where == k.ROOM_BED:
                    p.trip, p.abs_out, p.abs_up = 3, 2, t
                    self._absence_from(p, t, self._trip_limit(p))
            if ev != k.EV_BED and p.abs_out != 0 and not (leaving and where == k.ROOM_BED):
                self._night_absence(p, t, ev, on, where)
            if where != k.ROOM_BED or ev == k.EV_DOOR:
                p.bedroom_since = -1
            elif p.bedroom_since < 0 or leaving:
                p.bedroom_since = t
            woke_unseen = False
            if p.last >= 0:
                gap_s = (t - p.last) / 1000
                after_toilet = p.last - p.bath_at <= k.BED_BATH_WINDOW_MS  # the silence began right after it
                daytime = not self._night(self._hour(p.last, p.offset))
                if p.motion_room == k.ROOM_BATH and where != k.ROOM_BATH and gap_s >= c.bath_unseen_s and daytime:
                    p.bath_unseen += int(k.EXPO_SCALE)  # out of the bathroom unseen (as ``bath_blind``)
                if p.ctx in HIST_INDEX:
                    self._add_span(p, HIST_INDEX[p.ctx], p.last, t)
                if p.ctx != k.CTX_AWAY or ev != k.EV_DOOR:
                    self._add_presence(p, p.last, t)
                elif p.door_in == k.DOOR_IN:  # back in from an outing
                    p.out_longest = max(p.out_longest, t - p.last)
                rested = p.ctx == k.CTX_REST and p.night
                began = p.rest_since if rested else p.last
                whole = began >= 0 and t - began >= c.full_night_s * 1000  # a whole night's sleep
                from_evening = self._evening(self._hour(p.last, p.offset))
                early_bed = (
                    c.early_nights
                    and (p.ctx == k.CTX_BEDROOM or (p.ctx == k.CTX_REST and not rested))  # or on the bed pad
                    and (from_evening or (whole and self._minute(p.last, p.offset) >= c.bed_floor_min))
                )
                unseen_night = (  # a night's sleep no rest context held (as the kernel)
                    c.untraced_nights
                    and p.ctx in (k.CTX_ACTIVE, k.CTX_SEATED, k.CTX_ARRIVED, k.CTX_BATH)
                    and from_evening
                )
                if (rested or early_bed or unseen_night) and gap_s >= c.min_sleep_s:
                    m = self._minute(t, p.offset)
                    lo = c.wake_early_lo_min if whole else c.wake_window_lo_min
                    if lo <= m < c.wake_window_hi_min:
                        if len(p.wake) >= c.wake_buffer:
                            p.wake.pop(0)
                        p.wake.append(m)
                        p.n_wake += 1
                        if began >= 0:
                            bed_m = (self._minute(began, p.offset) - 720) % 1440
                            if (c.bed_floor_min if whole else 18 * 60) - 720 <= bed_m < 960:
                                if len(p.beds) >= c.wake_buffer:
                                    p.beds.pop(0)
                                p.beds.append(bed_m)
                                p.n_bed += 1
                            if (rested and p.rest_traced) or early_bed:
                                p.nights_traced += int(k.EXPO_SCALE)
                            else:
                                p.nights_untraced += int(k.EXPO_SCALE)
                                if p.rest_bath if rested else after_toilet:
                                    p.nights_bath += int(k.EXPO_SCALE)
                if (  # a long evening silence ending at night where nights leave no trace (as the kernel)
                    unseen_night
                    and gap_s >= c.min_sleep_s
                    and self._night(self._hour(t, p.offset))
                    and p.rest_since < 0
                    and p.nights_untraced > p.nights_traced
                ):
                    p.rest_since, p.rest_traced, woke_unseen = p.last, False, True
                    p.rest_bath = after_toilet
                if (  # an early sleeper's night begun before the evening hours, up on a trip (as the kernel)
                    c.early_nights
                    and (p.ctx == k.CTX_BEDROOM or (p.ctx == k.CTX_REST and not rested))
                    and gap_s >= c.full_night_s
                    and self._night(self._hour(t, p.offset))
                    and p.rest_since < 0
                    and c.bed_floor_min <= self._minute(p.last, p.offset) < c.evening_start_h * 60
                ):
                    p.rest_since, p.rest_traced, woke_unseen = p.last, True, True
            # in the bathroom on a trip from bed, tonight's rest goes on (its door or flush next is the trip too)
            asleep = (p.ctx == k.CTX_REST and p.night) or (p.ctx == k.CTX_BATH and p.rest_since >= 0) or woke_unseen
            early = self._early_night(p, t, where)
            night_hours = self._night(self._hour(t, p.offset))
            night = night_hours or early
            window = ev != k.EV_DOOR and self._before_wake(p, t)
            if where == k.ROOM_BATH:
                p.bath_at = t
            toilet = t - p.bath_at <= k.BED_BATH_WINDOW_MS  # right after the toilet (as the kernel)
            rest_on = window and p.rest_since >= 0
            morning = window and (where == k.ROOM_BED or (rest_on and where == k.ROOM_BATH and motion == 0))
            if p.bed == k.PAD_ON:
                ctx = k.CTX_REST
            elif p.seat == k.PAD_ON:
                # dozing on the couch past the usual bed time, before the wake-up's early edge: a rest
                dozing = self._up_at_night(p, t) and (self._minute(t, p.offset) - 720) % 1440 >= self._bed_line(p)[0]
                ctx = k.CTX_REST if night and (p.n_bed == 0 or dozing) else k.CTX_SEATED
            elif ev == k.EV_DOOR:
                ctx = k.CTX_ARRIVED if p.door_in == k.DOOR_IN else k.CTX_AWAY
            elif where == k.ROOM_BED and not morning and self._just_in(p, t):
                ctx = k.CTX_ARRIVED  # straight to the bedroom from the door (as the kernel)
            elif (
                where == k.ROOM_BED
                and night
                and not morning
                and p.seat == k.PAD_STALE
                and p.n_bed > 0
                and not self._past_bed_edge(p, t)
            ):
                ctx = k.CTX_SEATED  # the bedroom before the nights begin, the seat pad stale (as the kernel)
            elif (where == k.ROOM_BED and night) or morning:
                ctx = k.CTX_REST
            elif (
                where == k.ROOM_BATH
                and motion == 1
                and p.bed == k.PAD_STALE
                and (rest_on or (asleep and self._up_at_night(p, t)))
            ):
                ctx = k.CTX_REST  # a trip from bed whose pad did not let go (as the kernel)
                morning = morning or rest_on
            elif where == k.ROOM_BATH and motion == 1 and not self._bath_blind(p):
                ctx = k.CTX_BATH
            elif asleep and self._up_at_night(p, t) and self._trip_from_bed(p, t, where):
                ctx = k.CTX_REST
            elif where == k.ROOM_BED and p.bed == k.PAD_STALE:
                ctx = k.CTX_REST  # a stale bed pad (as the kernel)
            elif p.seat == k.PAD_STALE:
                ctx = k.CTX_SEATED  # a seat pad that did not let go, the bedroom too (as the kernel)
            elif where == k.ROOM_BED:
                ctx = k.CTX_BEDROOM
            else:
                ctx = k.CTX_ACTIVE
            if ctx == k.CTX_ACTIVE and self._just_in(p, t):
                ctx = k.CTX_ARRIVED
            if ctx == k.CTX_ARRIVED and p.seat == k.PAD_STALE:
                ctx = k.CTX_SEATED  # the seat pad held while they were out (as the kernel)
            by_clock = (  # (the clock rule in the night hours only)
                ctx in (k.CTX_ACTIVE, k.CTX_SEATED)
                and night_hours
                and self._to_bed_unseen(p, t, where == k.ROOM_BATH, toilet)
            )
            if by_clock:
                ctx = k.CTX_REST  # going to bed told by the clock (as the kernel)
            spell = ctx == k.CTX_SEATED and night and asleep and self._trip_from_bed(p, t, where)
            if ctx == k.CTX_REST and (night or morning):
                young = not p.rest_traced and p.rest_since >= 0 and t - p.rest_since < c.trip_rest_s * 1000.0
                if p.rest_since < 0 or by_clock or young:
                    p.rest_since, p.rest_traced, p.rest_bath = t, False, toilet
                if p.bed == k.PAD_ON or where == k.ROOM_BED:
                    p.rest_traced = True
            elif ctx != k.CTX_BATH and not rest_on and not spell:
                p.rest_since = -1
            if p.rest_since < 0:
                p.rest_first = -1
            elif p.rest_first < 0 or p.rest_since < p.rest_first:
                p.rest_first = p.rest_since
            p.motion_room = where if motion == 1 else -1
            self._start(p, t, ctx, where == k.ROOM_BATH, morning or early)
        return out

    def advance(self, now_ms: int, monitored: npt.NDArray[np.uint8]) -> list[Row]:
        out: list[Row] = []
        for r, p in enumerate(self.residents):
            if p.last < 0 and p.abs_deadline == k.NEVER:
                continue
            self._due(r, now_ms, monitored, out)
        return out
