"""The fall kernels against their plain-NumPy reference twin (lab.falls.bench.reference_falls)."""

from __future__ import annotations

import itertools
import zlib
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest

from lab.falls.bench import kernel_output, kernel_state, reference_falls
from stream.falls import FallParams, shipped_placements
from stream.kernels import falls as K
from tests.stream.fall_signals import EPOCH, scenario

PARAMS = FallParams(emit_all=True).to_array()


def run_kernel(
    t: npt.NDArray[np.float64],
    a: npt.NDArray[np.float32],
    cuts: list[tuple[int, int]],
    now_ms: float,
    rows: int = 64,
    params: npt.NDArray[np.float64] = PARAMS,
) -> npt.NDArray[np.float64]:
    """Feed ``cuts`` (sample ranges) as consecutive runs of one device, then ``advance(now_ms)``."""
    table = params[None, :]
    place = np.zeros(1, dtype=np.int64)
    sc, ring = kernel_state(1)
    starts = np.array([c[0] for c in cuts] + [cuts[-1][1]], dtype=np.int64)
    slots = np.zeros(len(cuts), dtype=np.int64)
    out: list[npt.NDArray[np.float64]] = []
    pos = np.zeros(2, dtype=np.int64)
    work = np.zeros(K.N_WORK)
    while pos[0] < len(cuts):
        o_slot, o_f, o_w = kernel_output(rows)
        n = K.process_runs(t, a, slots, starts, sc, ring, table, place, o_slot, o_f, o_w, pos, work)
        out.append(o_f[:n].copy())
    o_slot, o_f, o_w = kernel_output(K.CMAX)
    n = K.advance_slots(now_ms, 1, sc, ring, table, place, o_slot, o_f, o_w, work)
    out.append(o_f[:n].copy())
    return np.vstack(out)


def assert_same(kernel: npt.NDArray[np.float64], reference: npt.NDArray[np.float64]) -> None:
    assert kernel.shape == reference.shape
    np.testing.assert_allclose(kernel, reference, rtol=1e-12, atol=1e-9)


def messy_signal(seed: int, rate: float, irregular: bool) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
    """Falls, a hard sit and walking, with NaN runs, a forward gap and a backward clock jump."""
    rng = np.random.default_rng(seed)
    parts_t, parts_a = [], []
    offset = 0.0
    for kind in ("walk", "fall", "sit_hard", "fall", "jump"):
        t, a, _ = scenario(kind, rate, rng, irregular, seconds=16.0)
        parts_t.append(t + offset)
        parts_a.append(a)
        offset += 16_000.0 + rng.uniform(0, 3000)  # gaps up to 3 s (below the reset gap)
    t = np.concatenate(parts_t)
    a = np.concatenate(parts_a)
    n = len(t)
    a[: max(1, n // 200)] = np.nan  # NaN at the start
    mid = n // 3
    a[mid : mid + n // 100, 1] = np.nan  # in the middle
    t[mid + n // 50] = np.nan  # a bad timestamp
    a[-3:] = np.inf  # at the end
    t[n // 2 :] += 7_000.0  # a forward jump beyond the 5 s reset gap
    t[2 * n // 3 :] -= 30_000.0  # a backward clock jump
    return t, a


@pytest.mark.parametrize(
    ("seed", "rate", "irregular"),
    [(1, 20.0, False), (2, 50.0, True), (3, 87.0, True), (4, 100.0, False), (5, 200.0, False)],
)
def test_kernel_matches_reference_batch_chunks_and_one_by_one(seed: int, rate: float, irregular: bool) -> None:
    t, a = messy_signal(seed, rate, irregular)
    now = float(np.nanmax(t)) + 60_000.0
    reference = reference_falls(t, a, PARAMS, now)
    assert reference.shape[0] >= 4  # the scenario's candidates were found at all
    assert reference[:, K.O_FORCED].max() == 1.0  # the clock jump forced a decision
    n = len(t)
    assert_same(run_kernel(t, a, [(0, n)], now), reference)
    rng = np.random.default_rng(seed)
    cuts = np.unique(np.r_[0, rng.integers(1, n, size=200), n])
    assert_same(run_kernel(t, a, [(int(lo), int(hi)) for lo, hi in itertools.pairwise(cuts)], now), reference)
    one_by_one = [(i, i + 1) for i in range(n)]
    assert_same(run_kernel(t, a, one_by_one, now, rows=K.CMAX + 2), reference)


def test_rate_change_mid_stream_matches_reference() -> None:
    rng = np.random.default_rng(7)
    t1, a1, _ = scenario("fall", 200.0, rng)
    t2, a2, _ = scenario("fall", 20.0, rng)
    t = np.r_[t1, t2 + 20_000.0]
    a = np.vstack([a1, a2])
    now = t[-1] + 60_000.0
    reference = reference_falls(t, a, PARAMS, now)
    assert int(reference[:, K.O_IS_FALL].sum()) == 2
    assert_same(run_kernel(t, a, [(0, len(t))], now), reference)


def test_pending_candidate_waits_for_force_time() -> None:
    rng = np.random.default_rng(8)
    t, a, impact = scenario("fall", 100.0, rng, seconds=10.0)  # ends 2 s after the impact
    early = run_kernel(t, a, [(0, len(t))], impact + 5_000.0)
    assert early.shape[0] == 0
    late = run_kernel(t, a, [(0, len(t))], impact + 8_100.0)
    assert late.shape[0] == 1 and late[0, K.O_FORCED] == 1.0
    assert_same(late, reference_falls(t, a, PARAMS, impact + 8_100.0))


def test_all_nan_and_empty_input_emit_nothing() -> None:
    t = 1.7e12 + np.arange(500) * 10.0
    a = np.full((500, 3), np.nan, dtype=np.float32)
    assert run_kernel(t, a, [(0, 500)], t[-1] + 1e5).shape[0] == 0
    assert reference_falls(t, a, PARAMS, t[-1] + 1e5).shape[0] == 0


def test_output_capacity_resume_gives_the_same_rows() -> None:
    t, a = messy_signal(11, 100.0, False)
    now = float(np.nanmax(t)) + 60_000.0
    big = run_kernel(t, a, [(0, len(t))], now, rows=256)
    small = run_kernel(t, a, [(0, len(t))], now, rows=K.CMAX + 2)
    assert_same(small, big)


@pytest.mark.parametrize("kind", ["fall", "sit_hard", "drop", "walk", "jump"])
@pytest.mark.parametrize(("rate", "irregular"), [(20.0, False), (87.0, True), (200.0, False)])
def test_shipped_model_on_scenarios(kind: str, rate: float, irregular: bool) -> None:
    """Falls are found within ±0.1 s of the impact; sitting hard, jumping, walking and a dropped
    device are not falls (rotation: every scenario draws a random device orientation)."""
    params = FallParams().to_array()
    rng = np.random.default_rng(zlib.crc32(f"{kind}:{rate}".encode()))
    t, a, impact = scenario(kind, rate, rng, irregular)
    rows = run_kernel(t, a, [(0, len(t))], t[-1] + 60_000.0, params=params)
    if kind == "fall":
        assert rows.shape[0] == 1
        assert abs(rows[0, K.O_IMPACT_MS] - impact) <= 100.0
        assert rows[0, K.O_DECIDED_MS] - rows[0, K.O_IMPACT_MS] <= 10_000.0
        assert rows[0, K.O_CONF] >= 0.5
    else:
        assert rows.shape[0] == 0


def test_clipping_to_2g_still_detects_the_fall() -> None:
    params = FallParams().to_array()
    rng = np.random.default_rng(21)
    t, a, impact = scenario("fall", 87.0, rng, irregular=True)
    rows = run_kernel(t, np.clip(a, -2.0, 2.0), [(0, len(t))], t[-1] + 60_000.0, params=params)
    assert rows.shape[0] == 1 and abs(rows[0, K.O_IMPACT_MS] - impact) <= 200.0


@pytest.mark.parametrize(("seed", "rate", "irregular"), [(31, 20.0, False), (32, 87.0, True), (33, 200.0, False)])
def test_range_limit_matches_reference_and_clipping_twice_is_once(seed: int, rate: float, irregular: bool) -> None:
    """Step 0 (``P_CLIP_G``, the wrist's ±3 g): kernel and reference agree in one run, in chunks and
    one by one (NaN samples still skipped); a signal already clipped to the range gives the same rows
    (a ±2 g device read at ±2 g is read as any larger-range device is); every peak is within the range."""
    params = replace(FallParams(emit_all=True), range_g=2.0).to_array()
    assert params[K.P_CLIP_G] == 2.0 and FallParams().to_array()[K.P_CLIP_G] == np.inf
    t, a = messy_signal(seed, rate, irregular)
    now = float(np.nanmax(t)) + 60_000.0
    reference = reference_falls(t, a, params, now)
    assert reference.shape[0] >= 2
    n = len(t)
    assert_same(run_kernel(t, a, [(0, n)], now, params=params), reference)
    assert_same(run_kernel(t, a, [(i, min(i + 29, n)) for i in range(0, n, 29)], now, params=params), reference)
    assert_same(run_kernel(t, a, [(i, i + 1) for i in range(n)], now, rows=K.CMAX + 2, params=params), reference)
    pre_clipped = np.where(np.isfinite(a), np.clip(a, -2.0, 2.0), a)  # an infinite sample stays so
    assert_same(run_kernel(t, pre_clipped, [(0, n)], now, params=params), reference)
    assert reference[:, K.O_FEAT + K.F_PEAK].max() <= 2.0 * np.sqrt(3.0) + 1e-9
    unlimited = reference_falls(t, a, PARAMS, now)
    assert unlimited[:, K.O_FEAT + K.F_PEAK].max() > 2.0 * np.sqrt(3.0)  # the scenario's impacts exceed it


def test_range_must_hold_gravity() -> None:
    with pytest.raises(ValueError):
        FallParams(range_g=1.0)
    with pytest.raises(ValueError):
        FallParams(range_g=np.inf)


@pytest.mark.parametrize("placement", ["waist", "wrist"])
@pytest.mark.parametrize("threshold", [0.5, 0.05])
@pytest.mark.parametrize(("seed", "rate", "irregular"), [(12, 50.0, True), (13, 100.0, False), (14, 200.0, False)])
def test_early_rejection_matches_reference(
    seed: int, rate: float, irregular: bool, threshold: float, placement: str
) -> None:
    """Without ``emit_all`` the kernel skips the full scoring of candidates ``cannot_fall`` rules out:
    the rows (falls only) are still exactly the reference's (the wrist: its pre dynamics weight, its
    learned upright and its shortest post window)."""
    params = replace(shipped_placements()[placement], threshold=threshold).to_array()
    t, a = messy_signal(seed, rate, irregular)
    now = float(np.nanmax(t)) + 60_000.0
    reference = reference_falls(t, a, params, now)
    assert_same(run_kernel(t, a, [(0, len(t))], now, params=params), reference)
    n = len(t)
    assert_same(run_kernel(t, a, [(i, min(i + 37, n)) for i in range(0, n, 37)], now, params=params), reference)


def test_conf_upper_bound_bounds_the_score() -> None:
    """For any weights, and any free fall up to ``ff_hi``, descent, post activity and pre dynamics: the
    bound is at least the score's confidence (rows of real-ish candidates, weights perturbed and sign-flipped)."""
    feats = []
    for seed, rate in [(21, 50.0), (22, 100.0), (23, 200.0)]:
        t, a = messy_signal(seed, rate, True)
        feats.append(run_kernel(t, a, [(0, len(t))], float(np.nanmax(t)) + 60_000.0)[:, K.O_FEAT :])
    f_all = np.vstack(feats)
    rng = np.random.default_rng(0)
    work = np.zeros(K.N_WORK)
    checked = 0
    for trial in range(40):
        params = FallParams().to_array()
        w = params[K.P_W0 :]
        w[1 + K.N_QUAD] = rng.normal(0.0, 5.0)  # the pre dynamics (0 in the waist model), either sign
        if trial:
            w *= rng.uniform(0.3, 3.0, size=w.shape) * np.where(rng.random(w.shape) < 0.2, -1.0, 1.0)
        for feat in f_all:
            f = feat.copy()
            f[K.F_PRE_DYN] = rng.uniform(0.0, 1.0) if trial % 2 else f[K.F_PRE_DYN]
            ff_hi = f[K.F_FREEFALL] + rng.uniform(0.0, 0.5) * (trial % 2)
            f[K.F_FREEFALL] = rng.uniform(0.0, ff_hi) if trial % 3 == 2 else f[K.F_FREEFALL]
            f[K.F_DESCENT] = rng.exponential(1.0) if trial % 2 else f[K.F_DESCENT]
            f[K.F_POST_ACT] = rng.exponential(0.3) if trial % 4 == 1 else f[K.F_POST_ACT]
            work[: K.N_FEAT] = f
            work[K.N_FEAT] = 1.0
            work[K.N_FEAT + 1] = 1.0
            conf = K.score(work, params)
            bound = K.conf_upper_bound(
                f[K.F_IMPACT], f[K.F_PEAK], f[K.F_POSTURE], f[K.F_POST_STD], f[K.F_PRE_STD], ff_hi, params
            )
            assert conf <= bound
            checked += bound < 1.0
    assert checked > len(f_all)


# -- placements and the learned upright ------------------------------------------------------------
UPRIGHT = FallParams(emit_all=True, upright_ref=True).to_array()


def run_slots(
    t: npt.NDArray[np.float64], a: npt.NDArray[np.float32], table: npt.NDArray[np.float64], place: list[int]
) -> list[npt.NDArray[np.float64]]:
    """The same signal on one slot per ``place`` entry (slot ``s`` reads ``table[place[s]]``), fed as
    interleaved 1 s runs in one call; each slot's output rows."""
    n_slots = len(place)
    edges = np.searchsorted(t, np.arange(t[0], t[-1] + 1000.0, 1000.0))
    edges = np.unique(np.r_[edges, len(t)])
    runs = list(itertools.pairwise(edges.tolist()))
    t_all = np.concatenate([t[lo:hi] for lo, hi in runs for _ in range(n_slots)])
    a_all = np.concatenate([a[lo:hi] for lo, hi in runs for _ in range(n_slots)])
    run_slot = np.array([s for _ in runs for s in range(n_slots)], dtype=np.int64)
    run_start = np.r_[0, np.cumsum([hi - lo for lo, hi in runs for _ in range(n_slots)])].astype(np.int64)
    sc, ring = kernel_state(n_slots)
    o_slot, o_f, o_w = kernel_output(256)
    pos = np.zeros(2, dtype=np.int64)
    places = np.array(place, dtype=np.int64)
    n = K.process_runs(
        t_all, a_all, run_slot, run_start, sc, ring, table, places, o_slot, o_f, o_w, pos, np.zeros(K.N_WORK)
    )
    assert pos[0] == len(run_slot)
    now = float(np.nanmax(t)) + 60_000.0
    m = K.advance_slots(now, n_slots, sc, ring, table, places, o_slot[n:], o_f[n:], o_w[n:], np.zeros(K.N_WORK))
    slots, f = o_slot[: n + m], o_f[: n + m]
    return [f[slots == s] for s in range(n_slots)]


@pytest.mark.parametrize(("seed", "rate", "irregular"), [(21, 20.0, False), (22, 87.0, True), (23, 200.0, False)])
def test_learned_upright_matches_reference(seed: int, rate: float, irregular: bool) -> None:
    """Posture measured from the learned upright (wrist), through gaps, NaN and clock jumps: the
    kernel, fed whole, in chunks and one sample at a time, equals the reference twin; and the
    upright is learned at all (some posture changes differ from the pre-impact ones)."""
    t, a = messy_signal(seed, rate, irregular)
    now = float(np.nanmax(t)) + 60_000.0
    reference = reference_falls(t, a, UPRIGHT, now)
    plain = reference_falls(t, a, PARAMS, now)
    assert reference.shape == plain.shape and reference.shape[0] >= 4
    changed = reference[:, K.O_FEAT + K.F_POSTURE] != plain[:, K.O_FEAT + K.F_POSTURE]
    assert changed.any() and not changed.all()  # the first candidates come before anything is learned
    n = len(t)
    assert_same(run_kernel(t, a, [(0, n)], now, params=UPRIGHT), reference)
    cuts = np.unique(np.r_[0, np.random.default_rng(seed).integers(1, n, size=150), n])
    pieces = [(int(lo), int(hi)) for lo, hi in itertools.pairwise(cuts)]
    assert_same(run_kernel(t, a, pieces, now, params=UPRIGHT), reference)
    assert_same(run_kernel(t, a, [(i, i + 1) for i in range(n)], now, rows=K.CMAX + 2, params=UPRIGHT), reference)


def test_each_slot_reads_its_placement_row() -> None:
    """Three devices with the same signal in one call, on rows (waist, wrist with the learned
    upright, a threshold no candidate reaches): each slot's rows are the reference's for its row."""
    t, a = messy_signal(31, 50.0, False)
    now = float(np.nanmax(t)) + 60_000.0
    never = FallParams(threshold=1.0).to_array()
    table = np.stack([PARAMS, UPRIGHT, never])
    by_slot = run_slots(t, a, table, [0, 1, 2, 1])
    assert_same(by_slot[0], reference_falls(t, a, PARAMS, now))
    assert_same(by_slot[1], reference_falls(t, a, UPRIGHT, now))
    assert by_slot[2].shape[0] == 0
    assert_same(by_slot[3], by_slot[1])


def test_upright_is_learned_only_from_windows_at_rest_and_late() -> None:
    """Still at one orientation, then vigorous shaking at another (σ ≫ 0.1 g): the learned upright
    is the still orientation, and nothing is taken in before 5.5 s have passed."""
    rate = 50.0
    t = 1.7e12 + np.arange(int(40 * rate)) * 1000.0 / rate
    s = (t - t[0]) / 1000.0
    a = np.tile(np.array([0.0, 0.0, 1.0], dtype=np.float32), (len(t), 1))
    shaking = s >= 20.0
    a[shaking] = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    a[shaking, 1] += (0.8 * np.sin(2 * np.pi * 3.0 * s[shaking])).astype(np.float32)
    sc, ring = kernel_state(1)
    pos = np.zeros(2, dtype=np.int64)
    out = kernel_output(64)
    table = UPRIGHT[None, :]
    place = np.zeros(1, dtype=np.int64)
    work = np.zeros(K.N_WORK)
    first = int(5.0 * rate)
    K.process_runs(t, a, np.zeros(1, dtype=np.int64), np.array([0, first]), sc, ring, table, place, *out, pos, work)
    assert sc[0, K.S_UW] == 0.0
    pos[:] = 0
    rest = (t[first:], a[first:], np.zeros(1, dtype=np.int64), np.array([0, len(t) - first]))
    K.process_runs(*rest, sc, ring, table, place, *out, pos, work)
    u = sc[0, K.S_UX : K.S_UZ + 1]
    assert sc[0, K.S_UW] > 0.0
    np.testing.assert_allclose(u, [0.0, 0.0, 1.0], atol=1e-6)
    # the weight counts the calm windows taken in: bins 0..(closed − 1 − REF_DELAY) of the first 20 s
    closed = int(sc[0, K.S_K])
    calm_taken = min(closed - K.REF_DELAY, int(20.0 * 20) - 1)
    expected = 1.0 - (1.0 - K.REF_ALPHA) ** calm_taken
    assert abs(sc[0, K.S_UW] - expected) < 2 * K.REF_ALPHA


@pytest.mark.parametrize("threshold", [0.5, 0.0])
def test_short_post_window_veto_matches_reference(threshold: float) -> None:
    """``min_post_s`` (the wrist's veto, ``P_MIN_POST``): a fall whose data stop 2.5 s after the
    impact (a post window of 1 s) still scores at 1 s and is vetoed at 1.5 s, in the kernel (both
    with and without ``emit_all``, i.e. also through ``cannot_fall``) and its reference twin alike;
    0 (the default) is no veto."""
    rng = np.random.default_rng(8)
    t, a, impact = scenario("fall", 50.0, rng, seconds=10.5)  # ends 2.5 s after the impact
    now = impact + 8_100.0
    for min_post, fires in ((0.0, True), (1.0, True), (1.5, False)):
        for emit in (True, False):
            params = FallParams(min_post_s=min_post, emit_all=emit, threshold=threshold or 0.5).to_array()
            if threshold == 0.0:
                params[K.P_THRESH] = 0.0
            rows = run_kernel(t, a, [(0, len(t))], now, params=params)
            assert_same(rows, reference_falls(t, a, params, now))
            assert bool(rows[:, K.O_IS_FALL].sum() > 0) == (fires or threshold == 0.0)
            if not fires:
                assert np.all(rows[:, K.O_CONF] == 0.0)
    with pytest.raises(ValueError):
        FallParams(min_post_s=4.0)


def test_pre_dynamics_measures_the_swinging_before_the_impact() -> None:
    """``pre_dynamic``: the fraction of the bins 3 s..0.3 s before the impact whose mean magnitude
    is more than 0.2 g from 1 g; an arm clapping for 3 s before a jolt scores about half of them, a body
    standing still none; kernel and reference twin agree, with the wrist's weights too, and the
    wrist's model scores the swinging lower."""
    rate = 50.0
    t = EPOCH + np.arange(0.0, 16.0, 1.0 / rate) * 1000.0
    s = (t - EPOCH) / 1000.0
    g0 = np.array([0.0, 0.0, 1.0])
    rows = {}
    for kind in ("still", "clapping"):
        a = np.tile(g0, (len(t), 1))
        if kind == "clapping":
            swing = (s >= 4.5) & (s < 7.9)
            a[swing] += 1.2 * np.sin(2 * np.pi * 2.5 * s[swing])[:, None] * np.array([1.0, 0.0, 0.0])
        a[np.abs(s - 8.0) < 0.05] = 3.0 * g0
        a[s >= 8.05] = np.array([1.0, 0.0, 0.0])
        a = a.astype(np.float32)
        for params in (PARAMS, replace(shipped_placements()["wrist"], emit_all=True).to_array()):
            now = t[-1] + 60_000.0
            out = run_kernel(t, a, [(0, len(t))], now, params=params)
            assert_same(out, reference_falls(t, a, params, now))
        rows[kind] = out[np.argmax(out[:, K.O_FEAT + K.F_PEAK])]
    assert rows["still"][K.O_FEAT + K.F_PRE_DYN] == 0.0
    assert rows["clapping"][K.O_FEAT + K.F_PRE_DYN] > 0.4
    wrist = shipped_placements()["wrist"].to_array()
    work = np.zeros(K.N_WORK)
    work[: K.N_FEAT] = rows["clapping"][K.O_FEAT :]
    work[K.N_FEAT : K.N_FEAT + 2] = 1.0
    swinging = K.score(work, wrist)
    work[K.F_PRE_DYN] = 0.0
    assert swinging < K.score(work, wrist)  # the wrist's model: swinging before the jolt is less of a fall
