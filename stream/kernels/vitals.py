"""Vital-sign kernels: persistent limit violations and slow trends against a personal baseline.

Signals (index ``s``): 0 heart rate (bpm), 1 SpO2 (%), 2 systolic and 3 diastolic blood pressure
(mmHg), 4 body temperature (°C). Times are epoch ms; durations in ``params`` are seconds.

Per (resident ``r``, signal ``s``), for each reading ``v`` at ``t`` (arrival order):

- artefacts: ``v`` outside ``[valid_lo, valid_hi]`` (or NaN) is ignored.
- limits: ``dir = −1`` if ``v < lo[r, s]``, ``+1`` if ``v > hi[r, s]``, else 0. Consecutive readings
  with the same ``dir``, no more than ``max_gap_s`` apart, form a run starting at ``t₀``; the run
  alerts once when it has ``n ≥ min_readings`` readings and ``t − t₀ ≥ sustain_s``. A normal reading
  ends the run, so one bad reading never alerts.
- trend: time-based EWMAs ``m ← m + α (v − m)``, ``α = 1 − exp(−Δt / τ)``, fast (``fast_tau_s``) and
  slow (``slow_tau_s``, the resident's baseline), both starting at the first reading. When
  ``fast − slow ≥ trend_delta`` (signal units) and the baseline is at least ``min_base_s`` old, one
  trend alert; re-armed once ``fast − slow < trend_delta / 2``. ``trend_delta ≤ 0`` disables it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

try:  # one place for Numba flags when the package defines it
    from stream.kernels import JIT
except ImportError:  # pragma: no cover - depends on the shared package
    JIT = {"cache": True}

SIGNALS = ("hr", "spo2", "sbp", "dbp", "temp")
N_SIGNALS = 5

# int state columns: vi[r, s, c]
V_RUN_START = 0
V_RUN_DIR = 1
V_RUN_N = 2
V_FIRED = 3
V_LAST_TS = 4
V_TREND_START = 5
V_TREND_FIRED = 6
V_BASE_FIRST = 7
N_VI = 8

# float state columns: vf[r, s, c]
F_LO = 0
F_HI = 1
F_FAST = 2
F_SLOW = 3
F_LAST = 4
N_VF = 5

# params per signal: params[s, c]
Q_SUSTAIN_S = 0
Q_MIN_READINGS = 1
Q_MAX_GAP_S = 2
Q_VALID_LO = 3
Q_VALID_HI = 4
Q_TREND_DELTA = 5
Q_FAST_TAU_S = 6
Q_SLOW_TAU_S = 7
Q_MIN_BASE_S = 8
N_Q = 9

# rules in the output
R_LOW = -1
R_HIGH = 1
R_TREND = 2


def new_state(capacity: int, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fresh rows with the default limits ``lo[s]``, ``hi[s]``."""
    vi = np.zeros((capacity, N_SIGNALS, N_VI), dtype=np.int64)
    vi[:, :, V_RUN_START] = -1
    vi[:, :, V_LAST_TS] = -1
    vi[:, :, V_TREND_START] = -1
    vi[:, :, V_BASE_FIRST] = -1
    vf = np.zeros((capacity, N_SIGNALS, N_VF), dtype=np.float64)
    vf[:, :, F_LO] = lo
    vf[:, :, F_HI] = hi
    vf[:, :, F_FAST] = np.nan
    vf[:, :, F_SLOW] = np.nan
    vf[:, :, F_LAST] = np.nan
    return vi, vf


@njit(**JIT)
def vitals_process(
    vi: np.ndarray,
    vf: np.ndarray,
    res: np.ndarray,
    ts: np.ndarray,
    sig: np.ndarray,
    value: np.ndarray,
    params: np.ndarray,
    out_i: np.ndarray,
    out_f: np.ndarray,
) -> int:
    """Apply readings ``(res[i], ts[i], sig[i], value[i])`` in order.

    Writes rows ``out_i = (reading index, rule, start_ms)`` and ``out_f = (value, threshold,
    duration_s)`` (at most two per reading: limit, trend); returns how many.
    """
    n = 0
    for i in range(res.shape[0]):
        r = res[i]
        s = sig[i]
        t = ts[i]
        v = value[i]
        p = params[s]
        if math.isnan(v) or v < p[Q_VALID_LO] or v > p[Q_VALID_HI]:
            continue
        last_ts = vi[r, s, V_LAST_TS]
        if last_ts >= 0 and t < last_ts:
            continue  # late reading: never rewinds the state
        # limits with persistence
        direction = 0
        if v < vf[r, s, F_LO]:
            direction = -1
        elif v > vf[r, s, F_HI]:
            direction = 1
        if direction == 0:
            vi[r, s, V_RUN_START] = -1
            vi[r, s, V_RUN_DIR] = 0
            vi[r, s, V_RUN_N] = 0
            vi[r, s, V_FIRED] = 0
        else:
            gap_ok = last_ts >= 0 and (t - last_ts) <= p[Q_MAX_GAP_S] * 1000.0
            if vi[r, s, V_RUN_START] < 0 or vi[r, s, V_RUN_DIR] != direction or not gap_ok:
                vi[r, s, V_RUN_START] = t
                vi[r, s, V_RUN_DIR] = direction
                vi[r, s, V_RUN_N] = 1
                vi[r, s, V_FIRED] = 0
            else:
                vi[r, s, V_RUN_N] += 1
            lasted = (t - vi[r, s, V_RUN_START]) / 1000.0
            if vi[r, s, V_FIRED] == 0 and vi[r, s, V_RUN_N] >= p[Q_MIN_READINGS] and lasted >= p[Q_SUSTAIN_S]:
                vi[r, s, V_FIRED] = 1
                out_i[n, 0] = i
                out_i[n, 1] = direction
                out_i[n, 2] = vi[r, s, V_RUN_START]
                out_f[n, 0] = v
                out_f[n, 1] = vf[r, s, F_LO] if direction < 0 else vf[r, s, F_HI]
                out_f[n, 2] = lasted
                n += 1
        # trend against the personal baseline
        if vi[r, s, V_BASE_FIRST] < 0:
            vi[r, s, V_BASE_FIRST] = t
            vf[r, s, F_FAST] = v
            vf[r, s, F_SLOW] = v
        else:
            dt = (t - last_ts) / 1000.0
            a_fast = 1.0 - math.exp(-dt / p[Q_FAST_TAU_S])
            a_slow = 1.0 - math.exp(-dt / p[Q_SLOW_TAU_S])
            vf[r, s, F_FAST] += a_fast * (v - vf[r, s, F_FAST])
            vf[r, s, F_SLOW] += a_slow * (v - vf[r, s, F_SLOW])
        vi[r, s, V_LAST_TS] = t
        vf[r, s, F_LAST] = v
        delta = p[Q_TREND_DELTA]
        if delta > 0.0:
            rise = vf[r, s, F_FAST] - vf[r, s, F_SLOW]
            old_enough = (t - vi[r, s, V_BASE_FIRST]) >= p[Q_MIN_BASE_S] * 1000.0
            if rise >= delta and old_enough:
                if vi[r, s, V_TREND_START] < 0:
                    vi[r, s, V_TREND_START] = t
                if vi[r, s, V_TREND_FIRED] == 0:
                    vi[r, s, V_TREND_FIRED] = 1
                    out_i[n, 0] = i
                    out_i[n, 1] = R_TREND
                    out_i[n, 2] = vi[r, s, V_TREND_START]
                    out_f[n, 0] = vf[r, s, F_FAST]
                    out_f[n, 1] = vf[r, s, F_SLOW]
                    out_f[n, 2] = rise
                    n += 1
            elif rise < 0.5 * delta:
                vi[r, s, V_TREND_START] = -1
                vi[r, s, V_TREND_FIRED] = 0
    return n
