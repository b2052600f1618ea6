"""Home-activity kernel benchmark, with the plain-Python reference twin of the kernels.

:class:`ReferenceHome` recomputes :func:`stream.kernels.home.home_process` / ``home_advance`` with
per-resident Python objects and NumPy rows (no Numba); the tests compare it with the kernels and
:func:`measure_home` reports both throughputs on one core in the same run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from stream.home import HomeConfig
from stream.kernels import home as k

HIST_INDEX = {k.CTX_ACTIVE: 0, k.CTX_REST: 1, k.CTX_SEATED: 2, k.CTX_BEDROOM: 3}
"""Learned contexts and their histogram rows (as :func:`stream.kernels.home.hist_index`)."""

Row = tuple[int, int, int, int, int, float, int]
"""A detection: (resident slot, kind code, start_ms, due_ms, learned, threshold_s, context)."""


@dataclass
class _Resident:
    offset: int
    hist: npt.NDArray[np.float32]
    wake: list[int] = field(default_factory=list)
    n_wake: int = 0
    first: int = -1
    last: int = -1
    ctx: int = k.CTX_ACTIVE
    deadline: int = k.NEVER
    kind: int = k.K_INACTIVITY
    fired: int = 0
    thr: int = 0
    night: bool = False
    learned: bool = False
    bed: bool = False
    seat: bool = False
    abs_deadline: int = k.NEVER
    abs_start: int = -1
    day: int = -1
    expo: int = 0  # micro-days, as the kernel's fixed point


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

    def _learned(self, p: _Resident, hc: int, h: int, prior_s: float) -> float:
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
        budget = self.c.rate * (p.expo / k.EXPO_SCALE)
        acc = 0.0
        for b in range(self.c.hist_bins - 1, -1, -1):
            acc += pooled[b]
            if acc > budget:
                return self.c.margin * self.c.sample_min_s * math.exp((b + 1) * self.log_ratio)
        return self.c.margin * self.c.sample_min_s

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
            lim = self._learned(p, hc, self._hour(tau, p.offset), prior_s)
            if lim < 0:
                return -1
            if self._presence_days(p, self._hour(tau, p.offset)) < self.c.min_presence * (p.expo / k.EXPO_SCALE):
                lim = max(lim, self.c.margin * floor_s)
            hour_end = ((tau + shift) // 3_600_000 + 1) * 3_600_000 - shift
            cand = max(tau, t0 + int(lim * 1000.0))
            if cand < hour_end:
                return min(cand, end)
            tau = hour_end
        return end

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

    def _up_at_night(self, p: _Resident, t: int) -> bool:
        c = self.c
        h, m = self._hour(t, p.offset), self._minute(t, p.offset)
        if not self._night(h):
            return False
        early = c.night_end_h * 60
        if p.n_wake >= c.wake_min_samples:
            early = self._wake_deadline(p) - c.wake_margin_min - 60
        return h >= c.night_start_h or m < early

    def _wake_deadline(self, p: _Resident) -> int:
        c = self.c
        if p.n_wake < c.wake_min_samples:
            return c.wake_default_min
        recent = sorted(p.wake)
        q = float(recent[max(math.ceil(c.wake_q * len(recent)), 1) - 1])
        return int(max(c.wake_floor_min, min(c.wake_ceil_min, q + c.wake_margin_min)))

    def _start(self, p: _Resident, t: int, ctx: int) -> None:
        c = self.c
        h = self._hour(t, p.offset)
        p.last, p.ctx, p.fired, p.learned, p.night, p.kind = t, ctx, 0, False, False, k.K_INACTIVITY
        if ctx == k.CTX_AWAY:
            if c.away_limit_s <= 0:
                p.deadline, p.thr = k.NEVER, 0
                return
            limit = c.away_limit_s
            p.deadline = t + int(limit * 1000)
        elif ctx == k.CTX_BATH:
            p.kind, limit = k.K_BATHROOM, c.bath_limit_s
            p.deadline = t + int(limit * 1000)
        elif ctx == k.CTX_REST and self._night(h):
            p.kind, p.night = k.K_NOT_UP, True
            wake_min = self._wake_deadline(p)
            local = t + p.offset * 60_000
            wake_local = local - local % 86_400_000 + wake_min * 60_000
            if wake_local <= local:
                wake_local += 86_400_000
            deadline = max(wake_local - p.offset * 60_000, t + int(c.rest_min_s * 1000))
            p.deadline = min(deadline, t + int(c.rest_ceil_s * 1000))
            limit = (p.deadline - t) / 1000
            p.learned = p.n_wake >= c.wake_min_samples
        else:
            if ctx == k.CTX_REST:
                fixed, floor, ceil = c.rest_fixed_s, c.rest_floor_s, c.rest_ceil_s
            elif ctx == k.CTX_SEATED:
                fixed, floor, ceil = c.seat_fixed_s, c.seat_floor_s, c.seat_ceil_s
            else:
                fixed, floor, ceil = c.active_fixed_s, c.active_floor_s, c.active_ceil_s
            if ctx != k.CTX_REST and self._night(h):
                fixed, floor, ceil = c.rest_fixed_s, c.night_floor_s, c.rest_ceil_s
            limit = fixed
            p.deadline = t + int(limit * 1000)
            if p.first >= 0 and t - p.first >= c.learn_days * 86400 * 1000:
                due = self._span_deadline(p, HIST_INDEX[ctx], t, fixed, floor, ceil)
                if due > 0:
                    p.deadline, limit, p.learned = due, (due - t) / 1000, True
        p.thr = int(limit)

    def _due(self, r: int, t: int, monitored: npt.NDArray[np.uint8], out: list[Row]) -> None:
        p = self.residents[r]
        if p.fired == 0 and p.deadline <= t:
            if monitored[r]:
                p.fired = 1
                out.append((r, p.kind, p.last, p.deadline, int(p.learned), float(p.thr), p.ctx))
            else:
                p.fired = 2
        if p.abs_deadline <= t:
            if monitored[r]:
                out.append((r, k.K_NIGHT_ABSENCE, p.abs_start, p.abs_deadline, 0, self.c.absence_s, k.CTX_ACTIVE))
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
            if ev == k.EV_PRESENCE:  # someone there: ends an away silence or starts the first one
                if not on or (p.last >= 0 and p.ctx != k.CTX_AWAY):
                    continue
                ev = k.EV_ACTIVITY
            if p.first < 0:
                p.first = t
            if t < p.last:
                continue
            self._due(r, t, monitored, out)
            self._fade(p, t)
            if ev == k.EV_BED:
                if on:
                    p.bed, p.abs_deadline = True, k.NEVER
                elif p.bed:
                    p.bed = False
                    if self._up_at_night(p, t):
                        p.abs_start, p.abs_deadline = t, t + int(c.absence_s * 1000)
            elif ev == k.EV_SEAT:
                p.seat = on == 1
            if ev != k.EV_BED and p.abs_deadline != k.NEVER:
                if ev == k.EV_SEAT and on == 1:
                    p.abs_deadline = k.NEVER
                elif self._up_at_night(p, t):
                    p.abs_start, p.abs_deadline = t, t + int(c.absence_s * 1000)
                else:
                    p.abs_deadline = k.NEVER
            if p.last >= 0:
                gap_s = (t - p.last) / 1000
                if p.ctx in HIST_INDEX:
                    self._add_span(p, HIST_INDEX[p.ctx], p.last, t)
                if p.ctx != k.CTX_AWAY or ev != k.EV_DOOR:
                    self._add_presence(p, p.last, t)
                if p.ctx == k.CTX_REST and p.night and gap_s >= c.min_sleep_s:
                    m = self._minute(t, p.offset)
                    if c.wake_window_lo_min <= m < c.wake_window_hi_min:
                        if len(p.wake) >= c.wake_buffer:
                            p.wake.pop(0)
                        p.wake.append(m)
                        p.n_wake += 1
            asleep = p.ctx == k.CTX_REST and p.night
            if p.bed:
                ctx = k.CTX_REST
            elif p.seat:
                ctx = k.CTX_REST if self._night(self._hour(t, p.offset)) else k.CTX_SEATED
            elif ev == k.EV_DOOR:
                ctx = k.CTX_AWAY
            elif where == k.ROOM_BED and self._night(self._hour(t, p.offset)):
                ctx = k.CTX_REST
            elif where == k.ROOM_BATH and motion == 1:
                ctx = k.CTX_BATH
            elif asleep and self._night(self._hour(t, p.offset)):
                ctx = k.CTX_REST
            elif where == k.ROOM_BED:
                ctx = k.CTX_BEDROOM
            else:
                ctx = k.CTX_ACTIVE
            self._start(p, t, ctx)
        return out

    def advance(self, now_ms: int, monitored: npt.NDArray[np.uint8]) -> list[Row]:
        out: list[Row] = []
        for r, p in enumerate(self.residents):
            if p.last < 0 and p.abs_deadline == k.NEVER:
                continue
            self._due(r, now_ms, monitored, out)
        return out


@dataclass(frozen=True, slots=True)
class Synthetic:
    """Flat home-event arrays (kernel input), sorted by time."""

    res: npt.NDArray[np.int64]
    ts: npt.NDArray[np.int64]
    code: npt.NDArray[np.int64]
    value: npt.NDArray[np.int64]
    room: npt.NDArray[np.int64]
    pir: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.res.shape[0])


def synthetic_homes(
    n_residents: int, days: int, seed: int, events_per_day: int = 120, start_ms: int = 1_700_006_400_000
) -> Synthetic:
    """Seeded daily routines: wake ~07:30, bed ~22:30 (bed pad), daytime events in bursts with pauses,
    the odd outing (entrance door), bathroom motion; ``start_ms`` is a UTC midnight."""
    rng = np.random.default_rng(seed)
    parts: list[npt.NDArray[np.int64]] = []
    for r in range(n_residents):
        for d in range(days):
            day0 = start_ms + d * 86_400_000
            wake = day0 + int((7.5 + rng.normal(0, 0.5)) * 3_600_000)
            sleep = day0 + int((22.5 + rng.normal(0, 0.5)) * 3_600_000)
            n = max(2, int(rng.poisson(events_per_day)))
            bursts = np.sort(rng.uniform(wake, sleep, size=max(1, n // 8)))
            times = np.sort(
                (np.repeat(bursts, 8)[:n] + rng.exponential(60_000, size=min(n, bursts.size * 8))).astype(np.int64)
            )
            code = rng.choice(
                [k.EV_ACTIVITY, k.EV_ACTIVITY, k.EV_ACTIVITY, k.EV_SEAT, k.EV_DOOR],
                size=times.size,
                p=[0.5, 0.2, 0.2, 0.07, 0.03],
            )
            value = rng.integers(0, 2, size=times.size)
            room = rng.choice([k.ROOM_OTHER, k.ROOM_BATH, k.ROOM_BED], size=times.size, p=[0.7, 0.2, 0.1])
            pir = rng.integers(0, 2, size=times.size)
            rows = np.stack([np.full(times.size, r), times, code, value, room, pir], axis=1)
            bed = np.array([[r, wake, k.EV_BED, 0, k.ROOM_BED, 0], [r, sleep, k.EV_BED, 1, k.ROOM_BED, 0]])
            parts.append(np.concatenate([rows, bed]).astype(np.int64))
    allrows = np.concatenate(parts)
    allrows = allrows[np.argsort(allrows[:, 1], kind="stable")]
    cols = [np.ascontiguousarray(allrows[:, i]) for i in range(6)]
    return Synthetic(*cols)


def run_kernel(
    config: HomeConfig, data: Synthetic, n_residents: int, monitored: npt.NDArray[np.uint8] | None = None
) -> list[Row]:
    """The kernels over ``data`` in one batch, then ``home_advance`` one day after the last event."""
    si = k.new_state(n_residents, 0)
    hist = k.new_hist(n_residents, config.hist_bins)
    wake = np.zeros((n_residents, config.wake_buffer), dtype=np.int32)
    mon = np.ones(n_residents, dtype=np.uint8) if monitored is None else monitored
    params = config.params()
    out_i = np.zeros((2 * len(data) + 2 * n_residents, 5), dtype=np.int64)
    out_f = np.zeros_like(out_i, dtype=np.float64)[:, :2]
    n = k.home_process(
        si, hist, wake, data.res, data.ts, data.code, data.value, data.room, data.pir, mon, params, out_i, out_f
    )
    end = int(data.ts[-1]) + 86_400_000 if len(data) else 0
    m = k.home_advance(si, n_residents, end, mon, params, out_i[n:], out_f[n:])
    return [
        (a, b, c, d, e, f, int(g))
        for (a, b, c, d, e), (f, g) in zip(out_i[: n + m].tolist(), out_f[: n + m].tolist(), strict=True)
    ]


def run_reference(
    config: HomeConfig, data: Synthetic, n_residents: int, monitored: npt.NDArray[np.uint8] | None = None
) -> list[Row]:
    ref = ReferenceHome(config, n_residents)
    mon = np.ones(n_residents, dtype=np.uint8) if monitored is None else monitored
    out = ref.process(data.res, data.ts, data.code, data.value, data.room, data.pir, mon)
    end = int(data.ts[-1]) + 86_400_000 if len(data) else 0
    return out + ref.advance(end, mon)


def _rate(fn: Callable[[], object], n_events: int, seconds: float) -> float:
    runs = 0
    started = time.perf_counter()
    while True:
        fn()
        runs += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return runs * n_events / elapsed


def measure_home(seconds: float = 2.0, n_residents: int = 50, days: int = 14, seed: int = 7) -> dict[str, float]:
    """Events per second of the home kernels (one core, after compilation) and of the reference twin.

    Each side spends about ``seconds / 2`` on repeated full runs (fresh state each run) over the same
    seeded synthetic homes; ``ratio`` = kernel / reference. ``jit_s``: first call (compile or cache load).
    """
    config = HomeConfig()
    data = synthetic_homes(n_residents, days, seed)
    started = time.perf_counter()
    run_kernel(config, data, n_residents)
    jit_s = time.perf_counter() - started
    kernel = _rate(lambda: run_kernel(config, data, n_residents), len(data), seconds / 2)
    reference = _rate(lambda: run_reference(config, data, n_residents), len(data), seconds / 2)
    return {
        "events": float(len(data)),
        "kernel_events_per_s": kernel,
        "reference_events_per_s": reference,
        "ratio": kernel / reference,
        "jit_s": jit_s,
    }


if __name__ == "__main__":  # pragma: no cover
    print(measure_home())
