"""The home-activity kernels against their plain-Python reference twin (lab.homes.reference):
seeded random homes, one-by-one against batch feeding, edge cases, synthetic homes of every kind.
What the kernels decide (limits, contexts, presence) is ``test_home_kernel_rules.py``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from devices.events import Event, Stream
from lab.homes.bench import Synthetic, run_kernel, run_reference, synthetic_homes
from lab.homes.reference import ReferenceHome
from stream.home import HomeActivityDetector, HomeConfig
from stream.kernels import home as k
from tests.stream.home_kernel_cases import (
    DAY,
    FAST,
    Kernels,
    kernel_input,
    reference_after,
    synthetic_log,
    take,
)

OLD_EVENING = HomeConfig(evening_bath=False, evening_max_s=0.0, late_floor_s=4 * 3600.0)
"""The evening rules before issue #14: the toilet taken for a trace of going to bed, no evening cap."""
CONFIGS = [HomeConfig(), FAST, OLD_EVENING]
CONFIG_IDS = ["default", "fast", "old_evening"]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_kernel_matches_reference(seed: int, config: HomeConfig) -> None:
    data = synthetic_homes(4, 12, seed)
    got = run_kernel(config, data, 4)
    assert got == run_reference(config, data, 4)
    assert got, "the seeded homes must produce detections, or the comparison proves nothing"


def test_learned_limits_are_used_and_match() -> None:
    data = synthetic_homes(3, 15, 5, events_per_day=40)
    got = run_kernel(FAST, data, 3)
    assert got == run_reference(FAST, data, 3)
    kinds = {row[1] for row in got}
    assert k.K_INACTIVITY in kinds or k.K_BATHROOM in kinds
    assert any(row[4] == 1 for row in got), "some limit must come from the learned routine"


def test_unmonitored_homes_never_alert_and_match() -> None:
    data = synthetic_homes(3, 6, 3)
    monitored = np.array([1, 0, 1], dtype=np.uint8)
    got = run_kernel(FAST, data, 3, monitored)
    assert got == run_reference(FAST, data, 3, monitored)
    assert all(row[0] != 1 for row in got)
    assert any(row[0] == 0 for row in got)


def _feed(config: HomeConfig, data: Synthetic, n: int, chunks: list[tuple[int, int]]) -> list[tuple[int, ...]]:
    kernels = Kernels.new(config, n)
    rows: list[tuple[int, ...]] = []
    for lo, hi in chunks:
        m, out_i, _ = kernels.process(take(data, slice(lo, hi)))
        rows.extend(tuple(r) for r in out_i[:m].tolist())
    return rows


def test_one_by_one_equals_batch() -> None:
    data = synthetic_homes(2, 9, 11)
    n = len(data)
    batch = _feed(FAST, data, 2, [(0, n)])
    single = _feed(FAST, data, 2, [(i, i + 1) for i in range(n)])
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(np.arange(1, n), size=40, replace=False)).tolist()
    ragged = _feed(FAST, data, 2, list(zip([0, *cuts], [*cuts, n], strict=True)))
    assert batch == single == ragged
    assert batch


def test_empty_and_ignored_events() -> None:
    kernels = Kernels.new(FAST, 2)
    before = kernels.si.copy()
    e = np.zeros(0, dtype=np.int64)
    assert kernels.process(Synthetic(e, e, e, e, e, e))[0] == 0
    one = np.array([0], dtype=np.int64)
    ign = np.array([k.EV_IGNORE], dtype=np.int64)
    assert kernels.process(Synthetic(one, one * 5, ign, one, one, one))[0] == 0
    assert np.array_equal(kernels.si, before)
    assert kernels.advance(10 * DAY)[0] == 0


def _single(t: int) -> Synthetic:
    """One activity event of resident 0 at ``t``."""
    a = np.array([0], dtype=np.int64)
    return Synthetic(a, a + t, a + k.EV_ACTIVITY, a + 1, a + k.ROOM_OTHER, a)


def test_clock_jump_fires_once_with_the_silence_start() -> None:
    config = HomeConfig()
    kernels = Kernels.new(config)
    t0 = 10 * DAY + 10 * 3_600_000  # 10:00 local
    kernels.process(_single(t0))
    assert kernels.advance(t0 + 1000)[0] == 0
    n, out_i = kernels.advance(t0 + 30 * DAY)  # the clock jumps a month
    assert n == 1 and out_i[0, 1] == k.K_INACTIVITY and out_i[0, 2] == t0
    assert out_i[0, 3] == t0 + int(config.early_morning_s * 1000)  # a first morning: the population prior
    assert kernels.advance(t0 + 31 * DAY)[0] == 0  # once per silence
    assert kernels.advance(t0 - DAY)[0] == 0  # and a step back is harmless


def test_late_event_does_not_rewind_the_silence() -> None:
    kernels = Kernels.new(HomeConfig())
    t0 = 10 * DAY + 9 * 3_600_000
    for t in (t0, t0 - 600_000):
        kernels.process(_single(t))
    assert kernels.si[0, k.S_LAST] == t0


def test_reference_state_is_independent_per_resident() -> None:
    data = synthetic_homes(2, 3, 4)
    alone = take(data, data.res == 0)
    ref_both = [
        row
        for row in ReferenceHome(FAST, 2).process(
            data.res, data.ts, data.code, data.value, data.room, data.pir, np.ones(2, dtype=np.uint8)
        )
        if row[0] == 0
    ]
    ref_alone = ReferenceHome(FAST, 2).process(
        alone.res, alone.ts, alone.code, alone.value, alone.room, alone.pir, np.ones(2, dtype=np.uint8)
    )
    assert ref_both == ref_alone


def test_commuter_home_engages_the_rule_and_kernel_matches_reference() -> None:
    """A synthetic resident out most weekday daytimes: the minimum-evidence rule changes some limits,
    and the kernel still agrees with the reference twin event for event."""
    from lab.homes.synthetic import synthetic_home

    seed = next(s for s in range(100) if synthetic_home("c", 3, s)[1].away_days)
    log, profile = synthetic_home("c", 28, seed)
    assert profile.away_days
    data = kernel_input(log)
    thresholds = {}
    for m in (0.0, HomeConfig().min_presence, 0.6):
        config = dataclasses.replace(HomeConfig(), min_presence=m)
        got = run_kernel(config, data, 1)
        assert got == run_reference(config, data, 1)
        thresholds[m] = _thresholds_along(config, data)
    default = HomeConfig().min_presence
    # the learned state itself, presence row included, is the same in kernel and reference
    kernels = Kernels.new(HomeConfig())
    kernels.process(data)
    assert np.array_equal(kernels.hist[0], reference_after(HomeConfig(), data).residents[0].hist)
    pres = kernels.hist[0, k.PRESENCE_ROW, :, 0]
    assert pres[12] < default * kernels.si[0, k.S_EXPO] / k.EXPO_SCALE < pres[20], "out at noon, in at 8 pm"
    assert thresholds[0.0] != thresholds[default], "the commuter's sparse hours must engage the rule"
    for lower, higher in ((0.0, default), (default, 0.6)):  # it only ever lifts limits
        assert all(x <= y for x, y in zip(thresholds[lower], thresholds[higher], strict=True))


def _thresholds_along(config: HomeConfig, data: Synthetic) -> list[int]:
    """The limit of every silence, event by event."""
    kernels = Kernels.new(config)
    thr = []
    for i in range(len(data)):
        kernels.process(take(data, slice(i, i + 1)))
        thr.append(int(kernels.si[0, k.S_THR]))
    return thr


def _with_presence(data: Synthetic, seed: int) -> Synthetic:
    """``data`` with radar presence reports (on and off) interleaved at random times of each resident."""
    rng = np.random.default_rng(seed)
    n = len(data) // 3
    pick = rng.choice(len(data), size=n, replace=False)
    extra = Synthetic(
        res=data.res[pick],
        ts=data.ts[pick] + rng.integers(1, 3_600_000, size=n),
        code=np.full(n, k.EV_PRESENCE, dtype=np.int64),
        value=rng.integers(0, 2, size=n).astype(np.int64),
        room=data.room[pick],
        pir=np.zeros(n, dtype=np.int64),
    )
    merged = Synthetic(
        *(np.concatenate([getattr(data, f.name), getattr(extra, f.name)]) for f in dataclasses.fields(data))
    )
    return take(merged, np.argsort(merged.ts, kind="stable"))


@pytest.mark.parametrize("seed", [0, 1])
def test_presence_reports_match_the_reference(seed: int) -> None:
    data = _with_presence(synthetic_homes(4, 12, seed), seed)
    got = run_kernel(FAST, data, 4)
    assert got == run_reference(FAST, data, 4)
    assert got


def _first_seed(days: int, want: str) -> int:
    from lab.homes.synthetic import synthetic_home

    for seed in range(200):
        p = synthetic_home("x", 2, seed)[1]
        if (want == "sticky" and p.sticky_mats) or (want == "late" and p.wake_h > 9.4):
            return seed
        if want == "contacts" and not p.pir and not p.sticky_mats:
            return seed
    raise AssertionError(want)


@pytest.mark.parametrize("want", ["sticky", "late", "contacts"])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_first_weeks_evenings_arrivals_and_sticky_pads_match_the_reference(want: str, config: HomeConfig) -> None:
    """Homes with sticky pressure pads, a late sleeper and a contacts-only home (door passages, bed
    times, arrivals, stale pads), with and without an archive routine: kernel and twin agree."""
    data = synthetic_log(_first_seed(21, want), 21)
    for routines in (None, {0: (7 * 60, 22 * 60)}):
        got = run_kernel(config, data, 1, routines=routines)
        assert got == run_reference(config, data, 1, routines=routines)
    kernels = Kernels.new(config)
    kernels.process(data)
    si, wake = kernels.si, kernels.wake
    p = reference_after(config, data).residents[0]
    assert si[0, k.S_NBED] == p.n_bed > 0, "bed times are learned"
    assert sorted(wake[0, 14 : 14 + min(p.n_bed, 14)].tolist()) == sorted(p.beds)
    assert (si[0, k.S_BED], si[0, k.S_SEAT], si[0, k.S_ARRIVED]) == (p.bed, p.seat, p.arrived)


def test_residents_first_seen_in_one_batch_get_fresh_state_their_offsets_and_routines() -> None:
    detector = HomeActivityDetector(utc_offset_min=480, offsets={"r-2": 60})
    detector.set_routine("r-3", wake_min=420, bed_min=1320)
    detector.reserve(1000)
    capacity = detector.si.shape[0]
    assert capacity >= 1000
    now = 1_700_000_000_000
    detector.process([Event(f"pir-{i}", f"r-{i}", Stream.MOTION, now, now, {"occupancy": True}) for i in range(5)], now)
    assert detector.si.shape[0] == capacity  # reserved: nothing grown or copied
    slot = detector.residents.get
    assert [int(detector.si[slot(f"r-{i}"), k.S_OFFSET]) for i in range(5)] == [480, 480, 60, 480, 480]
    assert detector.si[slot("r-3"), k.S_ENROLL_WAKE] == 420 and detector.si[slot("r-3"), k.S_ENROLL_BED] == 1320
    assert detector.si[slot("r-1"), k.S_ENROLL_WAKE] == -1
    assert all(detector.si[slot(f"r-{i}"), k.S_LAST] == now for i in range(5))
