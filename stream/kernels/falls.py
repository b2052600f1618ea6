"""Fall detection kernels for wearable accelerometer streams: one streaming pass, O(1) per sample.

Units: times in epoch milliseconds (float64), accelerations in g (float32 in, float64 inside),
angles in degrees. Per-device state is a structure of arrays indexed by slot:

- ``sc[slot, S_*]`` (float64): the open 50 ms bin's sums, the segment origin, the candidate.
- ``ring[slot, RING_LEN, R_*]`` (float64): per closed bin ``j`` of the current segment, the
  cumulative sums ``C(j) = Σ_{samples in bins 0..j} (a_x, a_y, a_z, 1, |a|²)``, the bin's
  ``max |a|²``, the variance ``σ²(j)`` of step 2 and the cumulative count of non-empty bins; any
  window sum over bins ``(i, j]`` is ``C(j) − C(i)`` (``C(−1) = 0``).

Math (Sucerquia et al. 2017 motivate impact + posture; the rule here is rotation and rate invariant):

0. Range: each axis of a finite sample is limited to ``±params[P_CLIP_G]`` (g) before step 1,
   ``a_c ← min(max(a_c, −r), r)`` (``r = inf``: unchanged; the waist). A device whose own range is
   ``±R`` with ``R ≥ r`` then gives the kernel the samples a ``±r`` device would (clipping twice is
   clipping once at the narrower range), so a placement model fitted on ``±r`` data does not lean
   on impact peaks that a smaller-range device cannot report (the wrist: ``r`` = 3 g,
   :data:`stream.falls.RANGE_G`).
1. Samples fall into bins ``k = ⌊(t − T0) · 0.02⌋`` (50 ms; ``T0`` = first sample of the segment).
   Non-finite samples are skipped; a sample earlier than the open bin's start by at most
   ``back_tol_ms`` joins the open bin; a larger backward jump or a gap longer than ``gap_bins`` bins
   closes the segment
   (a pending candidate is decided on the data so far) and starts a new one at that sample.
2. Windowed spread over the last ``W = 10`` bins (0.5 s):
   ``σ(j) = sqrt(ΔS/Δn − |ΔA/Δn|²)`` (g), the RMS deviation of the acceleration vector from its
   window mean — invariant to rotation, and to the sampling rate in expectation.
3. A candidate starts at the first bin with ``σ ≥ trig_spread`` or ``max|a| ≥ trig_peak`` (g). The
   impact is the largest ``|a|`` sample in the ``search_bins`` bins that follow (its time is
   ``Detection.ts_ms``). ``decide_bins`` bins after the impact bin the candidate is decided.
4. Features at the decision (bins relative to impact bin ``i``):
   gravity before ``g0`` = mean vector over bins ``[i−60, i−21]`` (−3 s..−1 s; else all earlier bins),
   gravity after ``g1`` = mean vector over ``[i+30, last]`` (+1.5 s..decision), posture change
   ``θ = acos(g0·g1 / |g0||g1|)`` (deg), post stillness = std of the vector over the post window (g),
   pre activity (g), impact spread = max ``σ`` over windows ending in ``[i−5, i+10]`` (g),
   post activity = max ``σ`` of windows inside the post window (g), free fall = min ``|mean|`` over
   0.2 s windows ending in ``[i−20, i]`` (g), post magnitude ``|g1|`` (g), post coverage (0..1),
   descent speed (m/s): the largest drop of ``v(j) = Σ_{l ≤ j} (|ā_l| − |g0|) · 0.05 s · g`` over
   bins ``l, j ∈ [i−40, i+4]`` (``ā_l`` the bin's mean vector; empty bins add 0) — the vertical
   velocity of Bourke et al., Med. Eng. Phys. 30(7):937, 2008 (integral of ``|a| − 1 g``), read as a
   drawdown so that no start value is needed; pre dynamics (0..1): the fraction of the non-empty
   bins in ``[i−60, i−6]`` (−3 s..−0.3 s) whose mean vector's magnitude is more than
   ``PRE_DYN_G`` = 0.2 g away from 1 g — how much of the time before the impact the device was
   being swung, clapped or bounced rather than carried (UMAFall wrists, medians: clapping 0.54,
   hopping 0.89, jogging 0.79, walking 0.36, falls 0.22, lying down on a bed 0.18).
5. Score ``z = w0 + Σ w_k φ_k`` with ``φ`` = (log(σ_imp + 0.01), θ/90°, log(post std + 0.005),
   log(pre std + 0.01), log(post activity + 0.01), free fall, log(descent + 0.1),
   log(σ_imp + 0.01) − log(pre std + 0.05), log(peak + 0.01)), the products of every pair
   (squares included) of (log σ_imp, θ/90°, log post std, log descent, log peak, log pre std), and
   the pre dynamics (last, so that a model without it has weight 0 there): a
   quadratic logistic model, which bends the boundary so that a soft impact with a smaller posture
   change still scores when the descent, the stillness and the sharpness agree; confidence
   ``1/(1 + e^−z)``. Vetoes
   (confidence 0): no data after the impact; a post window ``[i + 30, last]`` shorter than
   ``params[P_MIN_POST]`` bins (a decision forced before the stillness after the impact could be
   seen: the wrist's 1 s, :data:`stream.falls.MIN_POST_S`; 0 elsewhere, i.e. no such veto); a
   dropped device (free fall below ``drop_ff`` g and a
   post stillness below ``drop_still`` g, i.e. no body attached). A fall is ``confidence ≥ thresh``.
   Unless every candidate is emitted, one whose O(1) features already bound its confidence below
   ``thresh`` (:func:`cannot_fall`, over any free fall, descent, post activity and pre dynamics) is
   not scored further: it could not be a fall, so nothing about it is output or remembered either way.
6. Placement: the features are the same wherever the device is worn, their meaning is not (a
   wrist turns 100° when its wearer stops clapping, a pocket phone when its wearer sits down); each
   placement (``PLACEMENTS``) has its own row of parameters (weights and threshold), and a slot
   reads the row of its device's placement. A device also keeps its last posture at rest: ``u`` =
   the normalised exponential mean (time constant ``REF_TAU_S`` = 2 s of rest) of the mean vector of
   every 0.5 s window at rest (``σ < 0.1 g``), taken ``REF_DELAY`` = 5.5 s late so that no
   candidate's own aftermath is in it: ``W ← (1 − α) W + α``, ``u ← u + (α / W)(ā − u)``,
   ``α = 0.05 s / 2 s``. With ``params[P_UPRIGHT]`` (the wrist), the posture change is measured
   from ``u`` instead of from the gravity 3 s..1 s before the impact, ``θ = acos(u·g1 / |u||g1|)``,
   once the device has rested at all (else from the gravity before): a wrist that claps, waves or
   is held up and then rests again ends where it rested before, a fallen wrist does not; the arm's
   motion just before the impact (the clapping) is no reference.

Why one module of ~1000 lines: it is one kernel, one compilation unit. Its stages (binning,
candidates, features, score, decision) share one state layout (``S_*``, the ring), one parameter
vector (``P_*``) and one feature vector (``F_*``), and run inside one streaming pass
(:func:`process_runs`) through small ``inline="always"`` helpers; split, each part would re-import
the layout piecewise, the helpers would become cross-module ``@njit`` calls with a longer cold
compile, and the docstring above is its map.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from stream.kernels import JIT as _JIT

JIT: dict[str, Any] = {**_JIT, "_nrt": False}
"""The package's Numba flags without the runtime's reference counting: these kernels allocate
nothing (callers pass every array, including the ``work`` scratch), and the atomic increments and
decrements on the arrays handed from one kernel to the next cost more than a 50 ms bin's work."""

BIN_MS = 50.0
INV_BIN = 0.02
"""1 / BIN_MS: bins of 50 ms (20 Hz), the rate-invariant time base."""
SPREAD_BINS = 10
"""Windowed spread over 0.5 s."""
RING_LEN = 256
RING_MASK = RING_LEN - 1
PRE_LO, PRE_HI = 60, 21
POST_LO = 30
VEL_LO, VEL_HI = 40, 4
"""Descent speed integrated over bins ``[i − 40, i + 4]`` (−2 s..+0.25 s)."""
DYN_HI = 6
PRE_DYN_G = 0.2
"""Pre dynamics over bins ``[i − PRE_LO, i − DYN_HI]`` (−3 s..−0.3 s): bins whose mean vector's
magnitude is more than 0.2 g away from 1 g. Chosen among 0.2 / 0.3 / 0.4 g and the windows
−3..−0.3 s, −2..−0.3 s, −3 s..the impact and −3..−1 s by the wrist's leave-one-subject-out figures
(UMAFall); nearly every variant improved them, this one most (so its figures are a little
optimistic; augmentation seeds not looked at while choosing gave the same gain)."""
G_MS2 = 9.80665
WIN_PRE, WIN_BINS = 80, 200
"""Console window: bins ``[i − 80, i + 120)`` (−4 s..+6 s around the impact bin), truncated at the decision."""

# --- scalar state columns (sc) ---
S_STARTED = 0
S_T0 = 1
S_K = 2
S_SPARE = 3
S_BX = 4
S_BY = 5
S_BZ = 6
S_BN = 7
S_BS = 8
S_BMAX = 9
S_BTMAX = 10
S_CX = 11
S_CY = 12
S_CZ = 13
S_CN = 14
S_CS = 15
S_CHEAD = 16
S_CCOUNT = 17
S_LASTFALL = 18
S_CAND0 = 19
"""Candidate ``c`` (0..CMAX−1) occupies columns ``S_CAND0 + 4c + (C_TRIGB, C_IMPB, C_IMPMAX, C_IMPMS)``."""
C_TRIGB, C_IMPB, C_IMPMAX, C_IMPMS = 0, 1, 2, 3
CMAX = 8
"""Candidates alive at once per device (triggers ≥ search_bins apart, each decided decide_bins after)."""
S_UX = S_CAND0 + 4 * CMAX
S_UY = S_UX + 1
S_UZ = S_UX + 2
S_UW = S_UX + 3
"""The device's learned upright (step 6), its last posture at rest: a normalised exponential mean
``u`` (g) of rest windows' mean vectors and its weight (0: nothing learned yet); kept across
segments."""
N_STATE = S_UW + 1
N_STATE_V1 = S_UX
"""The state width before the learned upright (older snapshots; restored with nothing learned)."""
EDGE_GUARD_MS = 1e-3
"""The per-sample fast path accepts ``t < bin end − 1 µs``; samples in that last µs take the exact
``⌊(t − T0)·0.02⌋`` path, so bin membership never depends on rounding of the bin edge."""
DEDUP_MS = 10_000.0
"""A fall whose impact is within 10 s after the previous reported fall's impact is the same fall."""

# --- ring columns ---
R_CX, R_CY, R_CZ, R_CN, R_CS, R_MAX, R_VAR, R_FILL = 0, 1, 2, 3, 4, 5, 6, 7
N_RING = 8

# --- parameters ---
P_TRIG_SPREAD = 0
P_TRIG_PEAK = 1
P_SEARCH_BINS = 2
P_DECIDE_BINS = 3
P_FORCE_MS = 4
P_THRESH = 5
P_EMIT_ALL = 6
P_GAP_BINS = 7
P_BACK_TOL_MS = 8
P_DROP_FF = 9
P_DROP_STILL = 10
P_UPRIGHT = 11
P_MIN_POST = 12
"""Bins the post window ``[i + 30, last]`` must span for a candidate to score (step 5's veto)."""
P_CLIP_G = 13
"""The range (g) every axis of every sample is limited to before anything else (step 0); ``inf``:
samples as received."""
P_W0 = 14
N_LIN = 9
N_BASE = 6
N_QUAD = N_LIN + N_BASE * (N_BASE + 1) // 2
N_PHI = N_QUAD + 1
"""``φ``: 9 single terms, the products of every pair (squares included) of 6 of them, then the pre
dynamics (index ``N_QUAD``)."""
N_PARAMS = P_W0 + 1 + N_PHI

REF_DELAY = 110
"""The learned upright (the device's last posture at rest, step 6) takes in the window ending
``REF_DELAY`` bins (5.5 s) before the bin just closed: at a decision (100 bins after the impact) it
has seen nothing later than 0.5 s before the impact."""
REF_TAU_S = 2.0
"""Time constant (s of rest) of the learned upright's exponential mean: the last rest, not a day's."""
REF_ALPHA = BIN_MS * 1e-3 / REF_TAU_S
REF_REST_G = 0.1
"""A 0.5 s window is at rest when its spread ``σ`` is below 0.1 g (standing, sitting, lying)."""


PLACEMENTS = ("waist", "wrist", "pocket")
"""Where a device is worn, the row of the parameter table its slot reads: a pendant or belt clip
(waist), a wristband (wrist), a phone in a trouser pocket (pocket)."""
N_PLACEMENTS = len(PLACEMENTS)

# --- features (raw) ---
F_IMPACT = 0
F_PEAK = 1
F_POSTURE = 2
F_POST_STD = 3
F_PRE_STD = 4
F_POST_ACT = 5
F_FREEFALL = 6
F_POST_MAG = 7
F_COVERAGE = 8
F_DESCENT = 9
F_PRE_DYN = 10
N_FEAT = 11
FEATURE_NAMES = (
    "impact_spread_g",
    "peak_g",
    "posture_change_deg",
    "post_std_g",
    "pre_std_g",
    "post_activity_g",
    "free_fall_g",
    "post_magnitude_g",
    "post_coverage",
    "descent_m_s",
    "pre_dynamic",
)

# --- output columns (out_f) ---
O_IMPACT_MS = 0
O_DECIDED_MS = 1
O_CONF = 2
O_IS_FALL = 3
O_WIN_T0 = 4
O_WIN_LEN = 5
O_FORCED = 6
O_FEAT = 7
N_OUT = O_FEAT + N_FEAT


@njit(**JIT)
def phi(feat: np.ndarray, out: np.ndarray) -> None:
    """Transformed features ``φ`` of the score (see module docstring, step 5); ``feat`` in g and deg."""
    log_imp = math.log(feat[F_IMPACT] + 0.01)
    posture = feat[F_POSTURE] / 90.0
    log_post = math.log(feat[F_POST_STD] + 0.005)
    log_pre = math.log(feat[F_PRE_STD] + 0.01)
    log_desc = math.log(feat[F_DESCENT] + 0.1)
    log_peak = math.log(feat[F_PEAK] + 0.01)
    out[0] = log_imp
    out[1] = posture
    out[2] = log_post
    out[3] = log_pre
    out[4] = math.log(feat[F_POST_ACT] + 0.01)
    out[5] = feat[F_FREEFALL]
    out[6] = log_desc
    out[7] = log_imp - math.log(feat[F_PRE_STD] + 0.05)
    out[8] = log_peak
    q = N_LIN
    base = (log_imp, posture, log_post, log_desc, log_peak, log_pre)
    for a in range(N_BASE):
        for b in range(a, N_BASE):
            out[q] = base[a] * base[b]
            q += 1
    out[N_QUAD] = feat[F_PRE_DYN]


@njit(**JIT, inline="always")
def _cum(ring: np.ndarray, s: int, j: int, col: int) -> float:
    """``C(j)`` for column ``col``; 0 before the segment's first bin."""
    if j < 0:
        return 0.0
    return ring[s, j & RING_MASK, col]


@njit(**JIT)
def _window(ring: np.ndarray, s: int, lo: int, hi: int, w: np.ndarray) -> None:
    """Sums over bins ``(lo, hi]`` into ``w = (Σx, Σy, Σz, n, Σ|a|²)``."""
    for c in range(5):
        w[c] = _cum(ring, s, hi, c) - _cum(ring, s, lo, c)


@njit(**JIT, inline="always")
def _var_max(ring: np.ndarray, s: int, lo: int, hi: int) -> float:
    """``max σ(j)`` (g) over closed bins ``j ∈ [lo, hi]`` from the ring's ``σ²`` column (0 if none)."""
    v = 0.0
    for j in range(max(lo, 0), hi + 1):
        v = max(v, ring[s, j & RING_MASK, R_VAR])
    return math.sqrt(v)


@njit(**JIT, inline="always")
def _cum5(ring: np.ndarray, s: int, j: int) -> tuple[float, float, float, float, float]:
    """``C(j)`` for the five sum columns (``Σx, Σy, Σz, n, Σ|a|²``); zeros before the first bin."""
    if j < 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    jr = j & RING_MASK
    return ring[s, jr, R_CX], ring[s, jr, R_CY], ring[s, jr, R_CZ], ring[s, jr, R_CN], ring[s, jr, R_CS]


@njit(**JIT, inline="always")
def _win5(ring: np.ndarray, s: int, lo: int, hi: int) -> tuple[float, float, float, float, float]:
    """Sums over bins ``(lo, hi]``: ``(Σx, Σy, Σz, n, Σ|a|²)`` as scalars (no scratch stores)."""
    hx, hy, hz, hn, hs = _cum5(ring, s, hi)
    lx, ly, lz, ln, ls = _cum5(ring, s, lo)
    return hx - lx, hy - ly, hz - lz, hn - ln, hs - ls


@njit(**JIT, inline="always")
def _std5(wx: float, wy: float, wz: float, n: float, ws: float) -> float:
    """RMS deviation of the vector from its mean over a window's sums (g); 0 when empty."""
    if n < 1.0:
        return 0.0
    v = ws / n - (wx * wx + wy * wy + wz * wz) / (n * n)
    return math.sqrt(v) if v > 0.0 else 0.0


@njit(**JIT)
def _bin_magnitudes(d2: np.ndarray, dn: np.ndarray, mag: np.ndarray) -> None:
    """``mag = sqrt(d2) / dn`` (``dn`` read as 1 where below 1: those bins are skipped), element-wise."""
    for q in range(d2.shape[0]):
        n = dn[q]
        mag[q] = math.sqrt(d2[q]) / (n if n >= 1.0 else 1.0)


@njit(**JIT, inline="always")
def _posture(
    ring: np.ndarray, s: int, ib: int, last: int, ref: tuple[float, float, float]
) -> tuple[float, float, float, float, float, float]:
    """Gravity before and after an impact in bin ``ib`` on closed bins up to ``last`` (step 4):
    ``g0`` = mean vector over bins ``[ib − 60, ib − 21]`` (else all bins up to ``ib − 6``), ``g1``
    over ``[ib + 30, last]``. Returns ``(pre std, post std, post samples, |g0|, |g1|, θ)``: the
    windows' spreads (g), the post window's sample count, ``|g0|`` and ``|g1|`` (g) and the posture
    change ``θ`` (deg, 0 unless both magnitudes are above 0) from ``g0`` to ``g1``, or from ``ref``
    (g, the learned upright of step 6) to ``g1`` when ``ref`` is not the zero vector."""
    wx, wy, wz, wn, ws = _win5(ring, s, ib - PRE_LO - 1, ib - PRE_HI)
    if wn < 3.0:
        wx, wy, wz, wn, ws = _win5(ring, s, -1, ib - 6)
    n0 = wn
    g0x, g0y, g0z = 0.0, 0.0, 0.0
    if n0 >= 1.0:
        g0x, g0y, g0z = wx / n0, wy / n0, wz / n0
    pre_std = _std5(wx, wy, wz, wn, ws)
    n1 = 0.0
    g1x, g1y, g1z = 0.0, 0.0, 0.0
    post_std = 0.0
    if last >= ib + POST_LO:
        wx, wy, wz, wn, ws = _win5(ring, s, ib + POST_LO - 1, last)
        n1 = wn
        if n1 >= 1.0:
            g1x, g1y, g1z = wx / n1, wy / n1, wz / n1
        post_std = _std5(wx, wy, wz, wn, ws)
    m0 = math.sqrt(g0x * g0x + g0y * g0y + g0z * g0z)
    m1 = math.sqrt(g1x * g1x + g1y * g1y + g1z * g1z)
    rx, ry, rz = ref
    mr = math.sqrt(rx * rx + ry * ry + rz * rz)
    if mr == 0.0:
        rx, ry, rz, mr = g0x, g0y, g0z, m0
    posture = 0.0
    if m0 > 0.0 and m1 > 0.0 and mr > 0.0:
        c = (rx * g1x + ry * g1y + rz * g1z) / (mr * m1)
        c = min(1.0, max(-1.0, c))
        posture = math.degrees(math.acos(c))
    return pre_std, post_std, n1, m0, m1, posture


@njit(**JIT)
def features(
    s: int, ib: int, imp_max: float, last: int, ring: np.ndarray, work: np.ndarray, ref: tuple[float, float, float]
) -> None:
    """Step 4 of the module docstring for an impact in bin ``ib`` (``imp_max`` its ``|a|²``) on
    closed bins up to ``last``, the posture change measured from ``ref`` unless it is the zero vector
    (:func:`_posture`): ``work[:N_FEAT]`` = features, ``work[N_FEAT]`` = post-window
    samples, ``work[N_FEAT + 1]`` = ``|g0|``; ``work[N_FEAT + 2:]`` is scratch (≥ 5).

    Window sums live in scalars (stores to ``work`` would force reloads of ``ring``, which LLVM
    cannot prove distinct); the arithmetic is operation for operation that of the reference twin."""
    pre_std, post_std, n1, m0, m1, posture = _posture(ring, s, ib, last, ref)
    coverage, post_act = 0.0, 0.0
    if last >= ib + POST_LO:
        filled = _cum(ring, s, last, R_FILL) - _cum(ring, s, ib + POST_LO - 1, R_FILL)
        coverage = filled / (last + 1.0 - ib - POST_LO)
        post_act = _var_max(ring, s, ib + POST_LO + SPREAD_BINS - 1, last)
    impact = _var_max(ring, s, ib - 5, min(ib + 10, last))
    ff = 1e18
    for j in range(ib - 20, ib + 1):
        wx, wy, wz, wn, _ = _win5(ring, s, j - 4, j)
        if wn >= 1.0:
            ff = min(ff, (wx * wx + wy * wy + wz * wz) / (wn * wn))
    # descent speed: the largest drop of the integral of (|bin mean| − |g0|); the bins' |mean|
    # (a square root and a division each) in a loop of its own over scratch, which LLVM vectorises
    vel, top, drop = 0.0, 0.0, 0.0
    step = BIN_MS * 1e-3 * G_MS2
    j0 = max(ib - VEL_LO, 0)
    nv = min(ib + VEL_HI, last) + 1 - j0
    px, py = _cum(ring, s, j0 - 1, R_CX), _cum(ring, s, j0 - 1, R_CY)
    pz, pn = _cum(ring, s, j0 - 1, R_CZ), _cum(ring, s, j0 - 1, R_CN)
    for q in range(nv):
        jr = (j0 + q) & RING_MASK
        cx, cy, cz, cn = ring[s, jr, R_CX], ring[s, jr, R_CY], ring[s, jr, R_CZ], ring[s, jr, R_CN]
        dx, dy, dz, dn = cx - px, cy - py, cz - pz, cn - pn
        px, py, pz, pn = cx, cy, cz, cn
        work[W_D2 + q] = dx * dx + dy * dy + dz * dz
        work[W_DN + q] = dn
    _bin_magnitudes(work[W_D2 : W_D2 + nv], work[W_DN : W_DN + nv], work[W_MAG : W_MAG + nv])
    for q in range(nv):
        if work[W_DN + q] >= 1.0:
            vel += (work[W_MAG + q] - m0) * step
            top = max(top, vel)
            drop = max(drop, top - vel)
    # pre dynamics: bins of [ib − 60, ib − 6] whose |mean| is more than PRE_DYN_G from 1 g
    seen, dyn = 0.0, 0.0
    for j in range(max(ib - PRE_LO, 0), ib - DYN_HI + 1):
        bx, by, bz, bn, _ = _win5(ring, s, j - 1, j)
        if bn >= 1.0:
            seen += 1.0
            if abs(math.sqrt(bx * bx + by * by + bz * bz) / bn - 1.0) > PRE_DYN_G:
                dyn += 1.0
    work[F_IMPACT] = impact
    work[F_PEAK] = math.sqrt(max(imp_max, 0.0))
    work[F_POSTURE] = posture
    work[F_POST_STD] = post_std
    work[F_PRE_STD] = pre_std
    work[F_POST_ACT] = post_act
    work[F_FREEFALL] = math.sqrt(ff) if ff < 1e18 else 1.0
    work[F_POST_MAG] = m1
    work[F_COVERAGE] = coverage
    work[F_DESCENT] = drop
    work[F_PRE_DYN] = dyn / seen if seen > 0.0 else 0.0
    work[N_FEAT] = n1
    work[N_FEAT + 1] = m0


@njit(**JIT)
def score(work: np.ndarray, params: np.ndarray) -> float:
    """Step 5: the confidence (0..1) of the features in ``work`` (as left by :func:`features`)."""
    feat = work[:N_FEAT]
    ph = work[N_FEAT + 2 : N_FEAT + 2 + N_PHI]
    phi(feat, ph)
    z = params[P_W0]
    for q in range(N_PHI):
        z += params[P_W0 + 1 + q] * ph[q]
    conf = 1.0 / (1.0 + math.exp(-z))
    if work[N_FEAT] < 1.0 or work[N_FEAT + 1] == 0.0:
        conf = 0.0
    if feat[F_FREEFALL] < params[P_DROP_FF] and feat[F_POST_STD] < params[P_DROP_STILL]:
        conf = 0.0
    return conf


VEL_N = VEL_LO + VEL_HI + 1
W_D2 = N_FEAT + 2 + max(N_PHI, 5)
W_DN = W_D2 + VEL_N
W_MAG = W_DN + VEL_N
"""Scratch of :func:`features`' descent speed: per bin ``|ΔA|²``, ``Δn`` and ``|ΔA| / Δn``."""
N_WORK = W_MAG + VEL_N


@njit(**JIT)
def conf_upper_bound(
    impact: float, peak: float, posture: float, post_std: float, pre_std: float, ff_hi: float, params: np.ndarray
) -> float:
    """An upper bound of :func:`score`'s confidence from all features but post activity, free fall,
    descent and pre dynamics (g, deg), whatever those four are: post activity ≥ 0, free fall in
    ``[0, ff_hi]``, descent ≥ 0 (``z`` concave in ``log(descent + 0.1)``), pre dynamics in
    ``[0, 1]``. ``inf`` when the weights' signs allow no bound; NaN features give NaN. ``z``'s
    bound gets a margin of ``1e-6 (1 + Σ|terms|)`` (its rounding), and goes through
    :func:`score`'s expression, which is monotone in ``z``."""
    log_imp = math.log(impact + 0.01)
    log_pre = math.log(pre_std + 0.01)
    log_peak = math.log(peak + 0.01)
    base = (log_imp, posture / 90.0, math.log(post_std + 0.005), 0.0, log_peak, log_pre)
    w = P_W0 + 1
    wpa, wff = params[w + 4], params[w + 5]
    if wpa > 0.0:
        return math.inf
    # linear terms: φ_0..3, φ_7, φ_8, then post activity at 0 and free fall at its largest
    z = params[P_W0]
    mag = abs(z)
    for q in range(4):
        t = params[w + q] * base[q] if q != 3 else params[w + q] * log_pre
        z += t
        mag += abs(t)
    t = params[w + 7] * (log_imp - math.log(pre_std + 0.05))
    z += t
    mag += abs(t)
    t = params[w + 8] * log_peak
    z += t
    mag += abs(t)
    t = wpa * math.log(0.01)
    z += t
    mag += abs(t)
    if wff > 0.0:
        t = wff * ff_hi
        z += t
        mag += abs(t)
    # quadratic terms; those with the descent D (base 3) collect into qa·D² + qb·D
    qa, qb, qmag = 0.0, params[w + 6], abs(params[w + 6])
    q = w + N_LIN
    for a in range(N_BASE):
        for b in range(a, N_BASE):
            if a == 3 and b == 3:
                qa = params[q]
            elif a == 3 or b == 3:
                t = params[q] * base[a + b - 3]
                qb += t
                qmag += abs(t)
            else:
                t = params[q] * (base[a] * base[b])
                z += t
                mag += abs(t)
            q += 1
    d_lo = math.log(0.1)
    if qa < 0.0:
        d = max(-qb / (2.0 * qa), d_lo)
    elif qa == 0.0 and qb <= 0.0:
        d = d_lo
    else:
        return math.inf
    z += qa * d * d + qb * d
    mag += abs(qa * d * d) + qmag * abs(d)
    wdyn = params[w + N_QUAD]
    if wdyn > 0.0:
        z += wdyn
        mag += wdyn
    z += 1e-6 * (1.0 + mag)
    return 1.0 / (1.0 + math.exp(-z))


@njit(**JIT)
def cannot_fall(
    s: int, ib: int, imp_max: float, last: int, ring: np.ndarray, params: np.ndarray, ref: tuple[float, float, float]
) -> bool:
    """True when the candidate (impact bin ``ib``, ``imp_max`` its ``|a|²``, decided on closed bins
    up to ``last``) provably scores below ``params[P_THRESH]`` (:func:`conf_upper_bound`), from the
    features of :func:`features` that take O(1) (computed the same way); False when in doubt.
    Free fall is bounded by the window ``(ib − 4, ib]`` (one of those it is the minimum over; it
    holds the impact sample). Skips the scans of free fall, descent, post activity and pre dynamics."""
    thresh = params[P_THRESH]
    pre_std, post_std, n1, m0, _, posture = _posture(ring, s, ib, last, ref)
    if n1 < 1.0 or m0 == 0.0 or post_too_short(ib, last, params):
        return thresh > 0.0  # vetoed: confidence 0
    impact = _var_max(ring, s, ib - 5, min(ib + 10, last))
    wx, wy, wz, wn, _ = _win5(ring, s, ib - 4, ib)
    if wn < 1.0:
        return False
    ff_hi = math.sqrt((wx * wx + wy * wy + wz * wz) / (wn * wn))
    peak = math.sqrt(max(imp_max, 0.0))
    return conf_upper_bound(impact, peak, posture, post_std, pre_std, ff_hi, params) < thresh


@njit(**JIT, inline="always")
def post_too_short(ib: int, last: int, params: np.ndarray) -> bool:
    """Step 5's veto on a short post window: ``[ib + 30, last]`` spans fewer than
    ``params[P_MIN_POST]`` bins (never when that is 0)."""
    return last - ib - POST_LO + 1 < params[P_MIN_POST]


@njit(**JIT, inline="always")
def upright_ref(s: int, sc: np.ndarray, params: np.ndarray) -> tuple[float, float, float]:
    """The reference the posture change is measured from (step 6): slot ``s``'s posture at rest
    when its placement uses it (``params[P_UPRIGHT]``) and it has rested at all, else zeros (the
    gravity before the impact)."""
    if params[P_UPRIGHT] == 0.0 or sc[s, S_UW] == 0.0:
        return 0.0, 0.0, 0.0
    return sc[s, S_UX], sc[s, S_UY], sc[s, S_UZ]


@njit(**JIT, inline="always")
def _learn_upright(s: int, b: int, sc: np.ndarray, ring: np.ndarray) -> None:
    """Step 6 for the bin ``b`` just closed: the window ``(e − 10, e]``, ``e = b − REF_DELAY``, if
    at rest (at least 2 samples, ``σ² < REF_REST_G²``), moves the posture at rest towards its mean."""
    e = b - REF_DELAY
    if e < 0:
        return
    dx, dy, dz, dn, _ = _win5(ring, s, e - SPREAD_BINS, e)
    if dn < 2.0 or ring[s, e & RING_MASK, R_VAR] >= REF_REST_G * REF_REST_G:
        return
    w = sc[s, S_UW] * (1.0 - REF_ALPHA) + REF_ALPHA
    k = REF_ALPHA / w
    sc[s, S_UW] = w
    sc[s, S_UX] += k * (dx / dn - sc[s, S_UX])
    sc[s, S_UY] += k * (dy / dn - sc[s, S_UY])
    sc[s, S_UZ] += k * (dz / dn - sc[s, S_UZ])


@njit(**JIT)
def _decide(
    s: int,
    cb: int,
    last: int,
    forced: float,
    decided_ms: float,
    sc: np.ndarray,
    ring: np.ndarray,
    params: np.ndarray,
    out: tuple[np.ndarray, np.ndarray, np.ndarray],
    work: np.ndarray,
    n_out: int,
) -> int:
    """Decide the candidate at state column ``cb`` of slot ``s`` on closed bins up to ``last``.

    Computes the features and score of the module docstring (steps 4–5) and, when the candidate is
    a fall (or ``params[P_EMIT_ALL]``), writes a row of ``out = (slot, f, win)``: impact ms,
    decision data time ms, confidence, is-fall flag, window start ms and length (bins), forced flag,
    features; and the window of per-bin mean vectors (g, NaN for empty bins). Returns ``n_out``.
    """
    out_slot, out_f, out_win = out
    ib = int(sc[s, cb + C_IMPB])
    impact_ms = sc[s, cb + C_IMPMS]
    ref = upright_ref(s, sc, params)
    if params[P_EMIT_ALL] == 0.0 and cannot_fall(s, ib, sc[s, cb + C_IMPMAX], last, ring, params, ref):
        return n_out
    features(s, ib, sc[s, cb + C_IMPMAX], last, ring, work, ref)
    conf = score(work, params)
    if post_too_short(ib, last, params):
        conf = 0.0
    is_fall = conf >= params[P_THRESH]
    if is_fall and sc[s, S_LASTFALL] != 0.0 and impact_ms - sc[s, S_LASTFALL] < DEDUP_MS:
        is_fall = False
    if is_fall:
        sc[s, S_LASTFALL] = impact_ms
    if not is_fall and params[P_EMIT_ALL] == 0.0:
        return n_out
    row = n_out
    out_slot[row] = s
    out_f[row, O_IMPACT_MS] = impact_ms
    out_f[row, O_DECIDED_MS] = decided_ms
    out_f[row, O_CONF] = conf
    out_f[row, O_IS_FALL] = 1.0 if is_fall else 0.0
    lo = ib - WIN_PRE
    hi = min(lo + WIN_BINS - 1, last)
    out_f[row, O_WIN_T0] = sc[s, S_T0] + lo * BIN_MS
    out_f[row, O_WIN_LEN] = hi - lo + 1
    out_f[row, O_FORCED] = forced
    for q in range(N_FEAT):
        out_f[row, O_FEAT + q] = work[q]
    w = work[N_FEAT + 2 : N_FEAT + 7]
    for j in range(lo, lo + WIN_BINS):
        q = j - lo
        out_win[row, q, 0] = np.nan
        out_win[row, q, 1] = np.nan
        out_win[row, q, 2] = np.nan
        if j > hi or j < 0:
            continue
        _window(ring, s, j - 1, j, w)
        if w[3] >= 1.0:
            out_win[row, q, 0] = w[0] / w[3]
            out_win[row, q, 1] = w[1] / w[3]
            out_win[row, q, 2] = w[2] / w[3]
    return n_out + 1


@njit(**JIT, inline="always")
def _tmax(bmax: float, tmax: tuple[np.ndarray, np.ndarray, int, int, float, float, float]) -> float:
    """Time (ms) of the open bin's first sample with ``|a|² = bmax``, the bin's largest.

    The per-sample loop keeps only ``bmax`` (a branch-free max; a compare-and-branch on a fresh
    maximum mispredicts on real motion). ``tmax = (t_ms, acc, j0, j1, bmax_in, btmax_in, clip)``: the
    bin's samples in this call are rows ``[j0, j1)`` (finite ones only were summed), and before
    them it held ``bmax_in`` at ``btmax_in``. A strict ``>`` kept the first sample reaching the
    maximum, so: ``btmax_in`` unless ``bmax > bmax_in``, else the first row in ``[j0, j1)`` with a
    finite time whose ``|a|²`` (computed as the loop does, the axes limited to ``±clip``) equals
    ``bmax``."""
    t_ms, acc, j0, j1, bmax_in, btmax_in, clip = tmax
    if not bmax > bmax_in:
        return btmax_in
    for j in range(j0, j1):
        t = t_ms[j]
        x = np.float64(acc[j, 0])
        y = np.float64(acc[j, 1])
        z = np.float64(acc[j, 2])
        m2 = x * x + y * y + z * z
        if clip < np.inf and m2 - m2 == 0.0:  # step 0, as the loop did (a non-finite sample stays so)
            x = np.float64(min(max(x, -clip), clip))
            y = np.float64(min(max(y, -clip), clip))
            z = np.float64(min(max(z, -clip), clip))
            m2 = x * x + y * y + z * z
        if m2 == bmax and t - t == 0.0:
            return t
    return btmax_in


@njit(**JIT, inline="always")
def _close_bin(
    s: int,
    bx: float,
    by: float,
    bz: float,
    bn: float,
    bs: float,
    bmax: float,
    tmax: tuple[np.ndarray, np.ndarray, int, int, float, float, float],
    sc: np.ndarray,
    ring: np.ndarray,
    params: np.ndarray,
    out: tuple[np.ndarray, np.ndarray, np.ndarray],
    work: np.ndarray,
    n_out: int,
) -> int:
    """Close the open bin ``b = sc[s, S_K]`` of slot ``s`` holding the sums ``bx..bs`` (g, g²), the
    largest ``|a|²`` ``bmax`` (−1 when empty), whose time :func:`_tmax` finds from ``tmax`` only when a
    candidate needs it: push it, run the candidate machine.

    Steps 2–3 of the module docstring. Candidates form a FIFO of at most ``CMAX``: a trigger at
    least ``search_bins`` after the newest one's trigger starts a new one; the newest tracks the
    largest ``|a|`` of its search bins; the oldest is decided (:func:`_decide`) once
    ``b − i ≥ decide_bins``. Leaves ``S_K`` at ``b + 1``. Returns the new ``n_out``.
    """
    b = int(sc[s, S_K])
    cx = sc[s, S_CX] + bx
    cy = sc[s, S_CY] + by
    cz = sc[s, S_CZ] + bz
    cn = sc[s, S_CN] + bn
    cs = sc[s, S_CS] + bs
    sc[s, S_CX] = cx
    sc[s, S_CY] = cy
    sc[s, S_CZ] = cz
    sc[s, S_CN] = cn
    sc[s, S_CS] = cs
    # spread over (b − W, b]; the trigger compares n·ΣS − |ΣA|² ≥ σ²·n² (no division)
    lo = b - SPREAD_BINS
    dx, dy, dz, dn, ds, fill = cx, cy, cz, cn, cs, 0.0
    if lo >= 0:
        lr = lo & RING_MASK
        dx -= ring[s, lr, R_CX]
        dy -= ring[s, lr, R_CY]
        dz -= ring[s, lr, R_CZ]
        dn -= ring[s, lr, R_CN]
        ds -= ring[s, lr, R_CS]
    if b > 0:
        fill = ring[s, (b - 1) & RING_MASK, R_FILL]
    d2 = dx * dx + dy * dy + dz * dz
    var = 0.0
    if dn >= 1.0:
        var = ds / dn - d2 / (dn * dn)
    br = b & RING_MASK
    ring[s, br, R_CX] = cx
    ring[s, br, R_CY] = cy
    ring[s, br, R_CZ] = cz
    ring[s, br, R_CN] = cn
    ring[s, br, R_CS] = cs
    ring[s, br, R_MAX] = bmax
    ring[s, br, R_VAR] = var
    ring[s, br, R_FILL] = fill + (1.0 if bn > 0.0 else 0.0)
    _learn_upright(s, b, sc, ring)
    ts = params[P_TRIG_SPREAD]
    trig = (dn >= 2.0 and ds * dn - d2 >= ts * ts * dn * dn) or bmax >= params[P_TRIG_PEAK] * params[P_TRIG_PEAK]
    count = int(sc[s, S_CCOUNT])
    sc[s, S_K] = b + 1
    if count == 0 and not trig:
        return n_out
    if bmax < 0.0:
        trig = False
    head = int(sc[s, S_CHEAD])
    search = params[P_SEARCH_BINS]
    if count > 0:
        newest = S_CAND0 + 4 * ((head + count - 1) & (CMAX - 1))
        if b - sc[s, newest + C_TRIGB] < search and bmax > sc[s, newest + C_IMPMAX]:
            sc[s, newest + C_IMPMAX] = bmax
            sc[s, newest + C_IMPMS] = _tmax(bmax, tmax)
            sc[s, newest + C_IMPB] = b
        oldest = S_CAND0 + 4 * head
        if b - sc[s, oldest + C_IMPB] >= params[P_DECIDE_BINS] and b - sc[s, oldest + C_TRIGB] >= search:
            decided_ms = sc[s, S_T0] + (b + 1) * BIN_MS
            n_out = _decide(s, oldest, b, 0.0, decided_ms, sc, ring, params, out, work, n_out)
            head = (head + 1) & (CMAX - 1)
            count -= 1
    if trig and count < CMAX:
        spaced = count == 0 or b - sc[s, S_CAND0 + 4 * ((head + count - 1) & (CMAX - 1)) + C_TRIGB] >= search
        if spaced:
            c = S_CAND0 + 4 * ((head + count) & (CMAX - 1))
            sc[s, c + C_TRIGB] = b
            sc[s, c + C_IMPB] = b
            sc[s, c + C_IMPMAX] = bmax
            sc[s, c + C_IMPMS] = _tmax(bmax, tmax)
            count += 1
    sc[s, S_CHEAD] = head
    sc[s, S_CCOUNT] = count
    return n_out


@njit(**JIT)
def _decide_all(
    s: int,
    last: int,
    decided_ms: float,
    min_age_ms: float,
    sc: np.ndarray,
    ring: np.ndarray,
    params: np.ndarray,
    out: tuple[np.ndarray, np.ndarray, np.ndarray],
    work: np.ndarray,
    n_out: int,
) -> int:
    """Force the decision, oldest first, of slot ``s``'s candidates whose impact is at least
    ``min_age_ms`` before ``decided_ms`` (ms), on closed bins up to ``last``; returns ``n_out``."""
    head = int(sc[s, S_CHEAD])
    count = int(sc[s, S_CCOUNT])
    while count > 0:
        c = S_CAND0 + 4 * head
        if decided_ms - sc[s, c + C_IMPMS] < min_age_ms:
            break
        n_out = _decide(s, c, last, 1.0, decided_ms, sc, ring, params, out, work, n_out)
        head = (head + 1) & (CMAX - 1)
        count -= 1
    sc[s, S_CHEAD] = head
    sc[s, S_CCOUNT] = count
    return n_out


@njit(**JIT, inline="always")
def _start_segment(s: int, t: float, sc: np.ndarray) -> None:
    """Reset slot ``s`` to an empty segment whose first bin starts at ``t`` (ms); the last fall and
    the learned upright are the device's, not the segment's."""
    last_fall = sc[s, S_LASTFALL]
    for c in range(S_UX):
        sc[s, c] = 0.0
    sc[s, S_LASTFALL] = last_fall
    sc[s, S_STARTED] = 1.0
    sc[s, S_T0] = t
    sc[s, S_BMAX] = -1.0


@njit(**JIT, inline="always")
def _save_open_bin(
    s: int,
    k: int,
    sums: tuple[float, float, float, float, float],
    bmax: float,
    tmax: tuple[np.ndarray, np.ndarray, int, int, float, float, float],
    sc: np.ndarray,
) -> None:
    """Keep slot ``s``'s open bin ``k`` for the next call: its ``sums`` (``Σx, Σy, Σz, n, Σ|a|²``),
    its largest ``|a|²`` and that sample's time (:func:`_tmax` from ``tmax``)."""
    bx, by, bz, bn, bs = sums
    sc[s, S_K] = k
    sc[s, S_BX] = bx
    sc[s, S_BY] = by
    sc[s, S_BZ] = bz
    sc[s, S_BN] = bn
    sc[s, S_BS] = bs
    sc[s, S_BMAX] = bmax
    sc[s, S_BTMAX] = _tmax(bmax, tmax)


@njit(**JIT)
def process_runs(
    t_ms: np.ndarray,
    acc: np.ndarray,
    run_slot: np.ndarray,
    run_start: np.ndarray,
    sc: np.ndarray,
    ring: np.ndarray,
    table: np.ndarray,
    place: np.ndarray,
    out_slot: np.ndarray,
    out_f: np.ndarray,
    out_win: np.ndarray,
    pos: np.ndarray,
    work: np.ndarray,
) -> int:
    """Feed contiguous runs of samples (run ``r`` = rows ``run_start[r]:run_start[r+1]`` of slot
    ``run_slot[r]``) through the fall detector; returns the number of output rows written.

    ``t_ms`` float64 epoch ms; ``acc`` float32 (n, 3) in g; ``work`` float64 scratch of ``N_WORK``.
    ``table`` (placements × ``N_PARAMS``): one parameter row per placement (waist, wrist, pocket:
    each its own trigger, weights and threshold); slot ``s`` uses row ``place[s]`` (int64).
    Processing starts at run ``pos[0]``,
    sample ``pos[1]``; if the output arrays fill up it stops before the sample that could emit and
    leaves ``pos`` there (``pos[0] == len(run_slot)`` when done), so the caller can grow and resume.
    Per sample: a range test of ``t`` against the open bin, ``|a|²``, five sums and a max (O(1));
    per 50 ms bin: O(1); per decision: O(100).
    """
    n_runs = run_slot.shape[0]
    cap = out_slot.shape[0]
    out = (out_slot, out_f, out_win)
    n_out = 0
    r = pos[0]
    first = pos[1]
    while r < n_runs:
        s = run_slot[r]
        params = table[place[s]]
        back_tol = params[P_BACK_TOL_MS]
        gap_bins = params[P_GAP_BINS]
        clip = params[P_CLIP_G]
        clipping = clip < np.inf
        i0 = max(run_start[r], first)
        i1 = run_start[r + 1]
        started = sc[s, S_STARTED] != 0.0
        t0 = sc[s, S_T0]
        k = int(sc[s, S_K])
        bx = sc[s, S_BX]
        by = sc[s, S_BY]
        bz = sc[s, S_BZ]
        bn = sc[s, S_BN]
        bs = sc[s, S_BS]
        bmax = sc[s, S_BMAX]
        # the open bin's max before this run's samples, and where they start (see _tmax)
        bmax_in = bmax
        btmax_in = sc[s, S_BTMAX]
        j0 = i0
        # the open bin accepts t in [lo, hi); hi is 1 µs short of the exact edge, the rest is exact
        lo = t0 + k * BIN_MS - back_tol
        hi = t0 + (k + 1) * BIN_MS - EDGE_GUARD_MS
        if not started:
            lo = np.inf
        for i in range(i0, i1):
            iu = np.uint64(i)  # an unsigned index: no negative-index wraparound code in the hot loop
            t = t_ms[iu]
            x = np.float64(acc[iu, 0])
            y = np.float64(acc[iu, 1])
            z = np.float64(acc[iu, 2])
            m2 = x * x + y * y + z * z
            ok = m2 - m2 == 0.0
            if clipping:  # step 0; loop-invariant, so LLVM unswitches it
                x = min(max(x, -clip), clip)
                y = min(max(y, -clip), clip)
                z = min(max(z, -clip), clip)
                m2 = x * x + y * y + z * z
            if not (t >= lo and t < hi):
                # a later bin, a jump back, the segment's first sample, or not finite
                if not ok or t - t != 0.0:
                    continue
                if not started:
                    _start_segment(s, t, sc)
                    started = True
                    t0 = t
                    k = 0
                    bmax = -1.0
                    bmax_in = -1.0
                    btmax_in = 0.0
                    j0 = i
                else:
                    kk = math.floor((t - t0) * INV_BIN)
                    back = t < lo
                    if kk > k or back:
                        if n_out + CMAX + 2 > cap:
                            held = (t_ms, acc, j0, i, bmax_in, btmax_in, clip)
                            _save_open_bin(s, k, (bx, by, bz, bn, bs), bmax, held, sc)
                            pos[0] = r
                            pos[1] = i
                            return n_out
                        sc[s, S_K] = k
                        tmax = (t_ms, acc, j0, i, bmax_in, btmax_in, clip)
                        n_out = _close_bin(s, bx, by, bz, bn, bs, bmax, tmax, sc, ring, params, out, work, n_out)
                        if back or kk - k > gap_bins:
                            n_out = _decide_all(s, k, t, -1e300, sc, ring, params, out, work, n_out)
                            _start_segment(s, t, sc)
                            t0 = t
                            k = 0
                        else:
                            empty = (t_ms, acc, i, i, -1.0, 0.0, clip)
                            for _ in range(k + 1, kk):
                                n_out = _close_bin(
                                    s, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, empty, sc, ring, params, out, work, n_out
                                )
                            k = kk
                        bx = by = bz = bn = bs = 0.0
                        bmax = -1.0
                        bmax_in = -1.0
                        btmax_in = 0.0
                        j0 = i
                lo = t0 + k * BIN_MS - back_tol
                hi = t0 + (k + 1) * BIN_MS - EDGE_GUARD_MS
            # branch-free sums: a non-finite sample adds nothing
            bx += x if ok else 0.0
            by += y if ok else 0.0
            bz += z if ok else 0.0
            bn += 1.0 if ok else 0.0
            bs += m2 if ok else 0.0
            bmax = max(bmax, m2 if ok else -1.0)
        _save_open_bin(s, k, (bx, by, bz, bn, bs), bmax, (t_ms, acc, j0, i1, bmax_in, btmax_in, clip), sc)
        r += 1
        first = 0
    pos[0] = n_runs
    pos[1] = 0
    return n_out


@njit(**JIT)
def advance_slots(
    now_ms: float,
    n_slots: int,
    sc: np.ndarray,
    ring: np.ndarray,
    table: np.ndarray,
    place: np.ndarray,
    out_slot: np.ndarray,
    out_f: np.ndarray,
    out_win: np.ndarray,
    work: np.ndarray,
) -> int:
    """Decide every candidate whose impact is at least ``params[P_FORCE_MS]`` ms before ``now_ms``
    (epoch ms) on the closed bins received so far (a device that went quiet after an impact).
    ``out_*`` need ``CMAX`` rows per slot; ``table``, ``place`` and ``work`` as for
    :func:`process_runs`. Returns the number of rows written."""
    n_out = 0
    out = (out_slot, out_f, out_win)
    for s in range(n_slots):
        if sc[s, S_STARTED] == 0.0 or sc[s, S_CCOUNT] == 0.0:
            continue
        params = table[place[s]]
        force = params[P_FORCE_MS]
        last = int(sc[s, S_K]) - 1
        n_out = _decide_all(s, last, now_ms, force, sc, ring, params, out, work, n_out)
    return n_out
