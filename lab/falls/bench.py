"""Fall-detector throughput: the Numba kernel beside its plain-NumPy reference twin.

:func:`reference_falls` computes, for one device's whole stream, exactly what
:func:`stream.kernels.falls.process_runs` + :func:`~stream.kernels.falls.advance_slots` compute
incrementally (the tests compare the two); it vectorises the per-sample work (bin sums by
``bincount``, cumulative sums, windowed spreads) and loops in Python only over candidates.

:func:`measure_falls` times both on the same synthetic multi-device traffic: ``n_devices`` wearables
at ``rate_hz`` sending ``message_s`` messages, a batch holding one message per device laid out
contiguously (offsets array), as the live path hands them to the kernel.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from lab.falls.fit import phi_features
from stream.falls import FallParams
from stream.kernels import falls as K


# -- the reference twin --------------------------------------------------------------------------
def _std(w: npt.NDArray[np.float64]) -> float:
    n = w[3]
    if n < 1.0:
        return 0.0
    v = w[4] / n - (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]) / (n * n)
    return math.sqrt(v) if v > 0.0 else 0.0


class _Segment:
    """Closed bins of one segment: cumulative sums ``C`` (bins × 5) and per-bin ``max |a|²``."""

    def __init__(self, t0: float, cum: npt.NDArray[np.float64], bmax: npt.NDArray[np.float64]) -> None:
        self.t0 = t0
        self.cum = cum
        self.bmax = bmax

    def c(self, j: int) -> npt.NDArray[np.float64]:
        return self.cum[j] if j >= 0 else np.zeros(5)

    def window(self, lo: int, hi: int) -> npt.NDArray[np.float64]:
        return self.c(hi) - self.c(lo)


def _features(
    seg: _Segment, ib: int, last: int, imp_max: float, ref: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], float, float]:
    """The kernel's ``_decide`` feature block, in plain Python over the cumulative sums; also the
    post-window sample count and the pre-impact gravity magnitude (for the vetoes). The posture
    change is measured from ``ref`` (g) unless it is the zero vector, else from ``g0``."""
    feat = np.zeros(K.N_FEAT)
    w = seg.window(ib - K.PRE_LO - 1, ib - K.PRE_HI)
    if w[3] < 3.0:
        w = seg.window(-1, ib - 6)
    n0 = w[3]
    g0 = w[:3] / n0 if n0 >= 1.0 else np.zeros(3)
    feat[K.F_PRE_STD] = _std(w)
    n1 = 0.0
    g1 = np.zeros(3)
    if last >= ib + K.POST_LO:
        w = seg.window(ib + K.POST_LO - 1, last)
        n1 = w[3]
        if n1 >= 1.0:
            g1 = w[:3] / n1
        feat[K.F_POST_STD] = _std(w)
        filled = sum(1 for j in range(ib + K.POST_LO, last + 1) if seg.c(j)[3] > seg.c(j - 1)[3])
        feat[K.F_COVERAGE] = filled / (last + 1.0 - ib - K.POST_LO)
        post_act = 0.0
        for j in range(ib + K.POST_LO + K.SPREAD_BINS - 1, last + 1):
            post_act = max(post_act, _std(seg.window(j - K.SPREAD_BINS, j)))
        feat[K.F_POST_ACT] = post_act
    m0 = math.sqrt(g0[0] * g0[0] + g0[1] * g0[1] + g0[2] * g0[2])
    m1 = math.sqrt(g1[0] * g1[0] + g1[1] * g1[1] + g1[2] * g1[2])
    feat[K.F_POST_MAG] = m1
    r = ref if ref[0] != 0.0 or ref[1] != 0.0 or ref[2] != 0.0 else g0
    mr = math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2])
    if m0 > 0.0 and m1 > 0.0 and mr > 0.0:
        c = (r[0] * g1[0] + r[1] * g1[1] + r[2] * g1[2]) / (mr * m1)
        feat[K.F_POSTURE] = math.degrees(math.acos(min(1.0, max(-1.0, c))))
    feat[K.F_IMPACT] = max(
        [0.0] + [_std(seg.window(j - K.SPREAD_BINS, j)) for j in range(ib - 5, min(ib + 10, last) + 1)]
    )
    feat[K.F_PEAK] = math.sqrt(max(imp_max, 0.0))
    ff = 1e18
    for j in range(ib - 20, ib + 1):
        w = seg.window(j - 4, j)
        if w[3] >= 1.0:
            ff = min(ff, (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]) / (w[3] * w[3]))
    feat[K.F_FREEFALL] = math.sqrt(ff) if ff < 1e18 else 1.0
    vel, top, drop = 0.0, 0.0, 0.0
    step = K.BIN_MS * 1e-3 * K.G_MS2
    for j in range(max(ib - K.VEL_LO, 0), min(ib + K.VEL_HI, last) + 1):
        w = seg.window(j - 1, j)
        if w[3] >= 1.0:
            vel += (math.sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]) / w[3] - m0) * step
            top = max(top, vel)
            drop = max(drop, top - vel)
    feat[K.F_DESCENT] = drop
    seen, dyn = 0.0, 0.0
    for j in range(max(ib - K.PRE_LO, 0), ib - K.DYN_HI + 1):
        w = seg.window(j - 1, j)
        if w[3] >= 1.0:
            seen += 1.0
            if abs(math.sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]) / w[3] - 1.0) > K.PRE_DYN_G:
                dyn += 1.0
    feat[K.F_PRE_DYN] = dyn / seen if seen > 0.0 else 0.0
    return feat, n1, m0


def _score(feat: npt.NDArray[np.float64], n1: float, m0: float, p: npt.NDArray[np.float64]) -> float:
    f = feat
    ph = phi_features(f)[0]
    z = p[K.P_W0]
    for q in range(K.N_PHI):
        z += p[K.P_W0 + 1 + q] * ph[q]
    conf = 1.0 / (1.0 + math.exp(-z))
    if n1 < 1.0 or m0 == 0.0:
        conf = 0.0
    if f[K.F_FREEFALL] < p[K.P_DROP_FF] and f[K.F_POST_STD] < p[K.P_DROP_STILL]:
        conf = 0.0
    return conf


def reference_falls(
    t_ms: npt.NDArray[np.float64],
    acc: npt.NDArray[np.float32],
    params: npt.NDArray[np.float64],
    now_ms: float = math.inf,
) -> npt.NDArray[np.float64]:
    """Rows ``(impact_ms, decided_ms, conf, is_fall, win_t0, win_len, forced, *features)`` (the
    kernel's ``out_f`` layout) for one device's whole stream, as if fed to the kernel and then
    ``advance(now_ms)``. Rows the kernel would not emit (not a fall, ``emit_all`` off) are dropped.
    """
    t_all = np.asarray(t_ms, dtype=np.float64)
    a_all = np.asarray(acc, dtype=np.float32)
    ok = np.isfinite(t_all) & np.isfinite(a_all).all(axis=1)
    t = t_all[ok]
    a = a_all[ok].astype(np.float64)
    if params[K.P_CLIP_G] < math.inf:  # step 0: each axis limited to the placement's range
        a = np.clip(a, -params[K.P_CLIP_G], params[K.P_CLIP_G])
    m2 = a[:, 0] * a[:, 0] + a[:, 1] * a[:, 1] + a[:, 2] * a[:, 2]
    p = params
    search, decide = int(p[K.P_SEARCH_BINS]), int(p[K.P_DECIDE_BINS])
    ts, tp = p[K.P_TRIG_SPREAD], p[K.P_TRIG_PEAK]
    rows: list[npt.NDArray[np.float64]] = []
    last_fall = 0.0
    upright = np.zeros(4)  # the posture at rest (x, y, z in g) and its weight, across segments
    learned = np.zeros((0, 4))  # per closed bin of the current segment: the posture at rest after it

    def decide_one(
        seg: _Segment, tb: int, ib: int, imp_max: float, imp_ms: float, last: int, decided: float, forced: float
    ) -> None:
        nonlocal last_fall
        u = learned[last] if last >= 0 else upright
        ref = u[:3] if p[K.P_UPRIGHT] != 0.0 and u[3] != 0.0 else np.zeros(3)
        feat, n1, m0 = _features(seg, ib, last, imp_max, ref)
        conf = _score(feat, n1, m0, p)
        if last - ib - K.POST_LO + 1 < p[K.P_MIN_POST]:
            conf = 0.0  # a post window too short for the placement (step 5's veto)
        is_fall = conf >= p[K.P_THRESH]
        if is_fall and last_fall != 0.0 and imp_ms - last_fall < K.DEDUP_MS:
            is_fall = False
        if is_fall:
            last_fall = imp_ms
        if not is_fall and p[K.P_EMIT_ALL] == 0.0:
            return
        lo = ib - K.WIN_PRE
        hi = min(lo + K.WIN_BINS - 1, last)
        row = np.zeros(K.N_OUT)
        row[: K.O_FEAT] = (imp_ms, decided, conf, float(is_fall), seg.t0 + lo * K.BIN_MS, hi - lo + 1, forced)
        row[K.O_FEAT :] = feat
        rows.append(row)

    a0 = 0
    n = t.shape[0]
    while a0 < n:
        t0 = t[a0]
        seg_t = t[a0:]
        kk = np.floor((seg_t - t0) * K.INV_BIN).astype(np.int64)
        kcl = np.maximum.accumulate(kk)
        bad = np.zeros(seg_t.shape[0], dtype=bool)
        bad[1:] = (seg_t[1:] < t0 + kcl[:-1] * K.BIN_MS - p[K.P_BACK_TOL_MS]) | (kk[1:] - kcl[:-1] > p[K.P_GAP_BINS])
        viol = np.flatnonzero(bad)
        end = a0 + (int(viol[0]) if viol.shape[0] else seg_t.shape[0])
        final = not viol.shape[0]
        kb = kcl[: end - a0]
        nbins = int(kb[-1]) + 1
        nclosed = nbins - 1 if final else nbins
        sl = slice(a0, end)
        sums = np.column_stack(
            [
                np.bincount(kb, weights=a[sl, 0], minlength=nbins),
                np.bincount(kb, weights=a[sl, 1], minlength=nbins),
                np.bincount(kb, weights=a[sl, 2], minlength=nbins),
                np.bincount(kb, minlength=nbins).astype(np.float64),
                np.bincount(kb, weights=m2[sl], minlength=nbins),
            ]
        )[:nclosed]
        cum = np.cumsum(sums, axis=0)
        starts = np.flatnonzero(np.r_[True, kb[1:] != kb[:-1]])
        bmax = np.full(nbins, -1.0)
        bmax[kb[starts]] = np.maximum.reduceat(m2[sl], starts)
        bmax = bmax[:nclosed]
        seg = _Segment(t0, cum, bmax)
        # triggers (vectorised): spread over (b − 10, b] and peak
        prev = np.vstack([np.zeros((K.SPREAD_BINS, 5)), cum])[: cum.shape[0]]
        d = cum - prev
        dn = d[:, 3]
        trig = (dn >= 2.0) & (
            d[:, 4] * dn - (d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2]) >= ts * ts * dn * dn
        )
        trig |= bmax >= tp * tp
        trig &= bmax >= 0.0
        triggers = np.flatnonzero(trig)
        # the posture at rest after each closed bin b: the window (e − 10, e] at rest, e = b − REF_DELAY
        learned = np.zeros((cum.shape[0], 4))
        for b in range(cum.shape[0]):
            e = b - K.REF_DELAY
            if e >= 0 and d[e, 3] >= 2.0:
                dn_e = d[e, 3]
                var = d[e, 4] / dn_e - (d[e, 0] * d[e, 0] + d[e, 1] * d[e, 1] + d[e, 2] * d[e, 2]) / (dn_e * dn_e)
                if var < K.REF_REST_G * K.REF_REST_G:
                    w = upright[3] * (1.0 - K.REF_ALPHA) + K.REF_ALPHA
                    k = K.REF_ALPHA / w
                    upright[3] = w
                    for c in range(3):
                        upright[c] += k * (d[e, c] / dn_e - upright[c])
            learned[b] = upright
        pending: list[tuple[int, int, float, float]] = []
        q = 0
        while q < triggers.shape[0]:
            tb = int(triggers[q])
            hi_b = min(tb + search - 1, nclosed - 1)
            ib = tb + int(np.argmax(bmax[tb : hi_b + 1]))
            imp_max = float(bmax[ib])
            in_bin = np.flatnonzero(kb == ib)
            imp_ms = float(t[a0 + in_bin[int(np.argmax(m2[a0 + in_bin]))]])
            if ib + decide <= nclosed - 1:
                db = ib + decide
                decide_one(seg, tb, ib, imp_max, imp_ms, db, t0 + (db + 1) * K.BIN_MS, 0.0)
            else:
                pending.append((tb, ib, imp_max, imp_ms))
            q = int(np.searchsorted(triggers, tb + search))
        last = nclosed - 1
        if not final:
            for tb, ib, imp_max, imp_ms in pending:
                decide_one(seg, tb, ib, imp_max, imp_ms, last, float(t[end]), 1.0)
        else:
            for tb, ib, imp_max, imp_ms in pending:
                if now_ms - imp_ms < p[K.P_FORCE_MS]:
                    break
                decide_one(seg, tb, ib, imp_max, imp_ms, last, now_ms, 1.0)
        a0 = end
    return np.array(rows).reshape(-1, K.N_OUT)


# -- the benchmark -------------------------------------------------------------------------------
def synthetic_traffic(
    n_devices: int, seconds: float, rate_hz: float, message_s: float = 1.0, seed: int = 0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Batches of messages laid out as the live path does: for each message period, one contiguous
    run per device. Signals: gravity in a random orientation plus walking-like motion (g)."""
    rng = np.random.default_rng(seed)
    per_msg = max(1, round(rate_hz * message_s))
    n_msgs = max(1, round(seconds / message_s))
    n = per_msg * n_msgs
    t_dev = 1.7e12 + np.arange(n) * (1000.0 / rate_hz)
    phase = 2 * np.pi * 1.8 * np.arange(n) / rate_hz
    t_all = np.empty(n * n_devices)
    a_all = np.empty((n * n_devices, 3), dtype=np.float32)
    run_slot = np.empty(n_msgs * n_devices, dtype=np.int64)
    for dev in range(n_devices):
        g = rng.normal(size=3)
        g /= np.linalg.norm(g)
        motion = 0.3 * np.sin(phase + rng.uniform(0, 6.3))[:, None] * rng.normal(size=3)[None, :]
        sig = (g[None, :] + motion + 0.02 * rng.normal(size=(n, 3))).astype(np.float32)
        for m in range(n_msgs):
            r = m * n_devices + dev
            lo = r * per_msg
            t_all[lo : lo + per_msg] = t_dev[m * per_msg : (m + 1) * per_msg]
            a_all[lo : lo + per_msg] = sig[m * per_msg : (m + 1) * per_msg]
            run_slot[r] = dev
    run_start = np.arange(n_msgs * n_devices + 1, dtype=np.int64) * per_msg
    return t_all, a_all, run_slot, run_start


def kernel_state(n_slots: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Fresh per-slot state of the fall kernels: (scalars ``sc``, sample ``ring``)."""
    return np.zeros((n_slots, K.N_STATE)), np.zeros((n_slots, K.RING_LEN, K.N_RING))


def kernel_output(
    rows: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float32]]:
    """Room for ``rows`` detections: (slot, features, window) arrays the kernels write into."""
    return np.zeros(rows, dtype=np.int64), np.zeros((rows, K.N_OUT)), np.zeros((rows, K.WIN_BINS, 3), dtype=np.float32)


def _kernel_pass(
    t: npt.NDArray[np.float64],
    a: npt.NDArray[np.float32],
    run_slot: npt.NDArray[np.int64],
    run_start: npt.NDArray[np.int64],
    n_devices: int,
    p: npt.NDArray[np.float64],
) -> float:
    sc, ring = kernel_state(n_devices)
    out_slot, out_f, out_win = kernel_output(4096)
    pos = np.zeros(2, dtype=np.int64)
    work = np.zeros(K.N_WORK)
    table = p[None, :]
    place = np.zeros(n_devices, dtype=np.int64)
    started = time.perf_counter()
    while pos[0] < run_slot.shape[0]:
        K.process_runs(t, a, run_slot, run_start, sc, ring, table, place, out_slot, out_f, out_win, pos, work)
    return time.perf_counter() - started


def measure_falls(
    seconds: float = 1.0, n_devices: int = 64, rate_hz: float = 100.0, stream_s: float = 120.0
) -> dict[str, Any]:
    """Samples per second on one core: the whole fall-detector hot path (``process_runs``) and its
    NumPy reference twin on the same data, each timed for about ``seconds`` (best of repeats).

    ``n_devices`` wearables at ``rate_hz`` for ``stream_s`` seconds each, 1 s messages. Returns
    ``{"kernel_samples_per_s", "reference_samples_per_s", "speedup", "samples", ...}``.
    """
    p = FallParams().to_array()
    t, a, run_slot, run_start = synthetic_traffic(n_devices, stream_s, rate_hz)
    n = t.shape[0]
    compile_started = time.perf_counter()
    _kernel_pass(t[: run_start[1]], a[: run_start[1]], run_slot[:1], run_start[:2], 1, p)
    jit_s = time.perf_counter() - compile_started
    best_k = math.inf
    spent = 0.0
    while spent < seconds or best_k == math.inf:
        dt = _kernel_pass(t, a, run_slot, run_start, n_devices, p)
        best_k = min(best_k, dt)
        spent += dt
    # the reference gets each device's whole stream at once (its most favourable layout)
    per_dev = [
        (t[run_slot.repeat(np.diff(run_start)) == d], a[run_slot.repeat(np.diff(run_start)) == d])
        for d in range(n_devices)
    ]
    best_r = math.inf
    spent = 0.0
    while spent < seconds or best_r == math.inf:
        started = time.perf_counter()
        for td, ad in per_dev:
            reference_falls(td, ad, p)
        dt = time.perf_counter() - started
        best_r = min(best_r, dt)
        spent += dt
    return {
        "samples": int(n),
        "devices": n_devices,
        "rate_hz": rate_hz,
        "kernel_samples_per_s": n / best_k,
        "reference_samples_per_s": n / best_r,
        "speedup": best_r / best_k,
        "jit_load_s": jit_s,
    }


if __name__ == "__main__":
    import json

    for rate in (20.0, 100.0, 200.0):
        print(json.dumps(measure_falls(rate_hz=rate)))
