"""The home-activity kernels against their plain-Python reference twin (lab.homes.bench)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lab.homes.bench import ReferenceHome, Synthetic, run_kernel, run_reference, synthetic_homes
from stream.home import HomeConfig
from stream.kernels import home as k

DAY = 86_400_000
# learning switched on early, so short seeded runs exercise the learned limits too
FAST = HomeConfig(
    learn_days=1.0, min_count=2.0, active_floor_s=600.0, rest_floor_s=1800.0, seat_floor_s=600.0, wake_min_samples=2
)


def _slice(data: Synthetic, lo: int, hi: int) -> Synthetic:
    return Synthetic(*(np.ascontiguousarray(getattr(data, f.name)[lo:hi]) for f in dataclasses.fields(data)))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("config", [HomeConfig(), FAST], ids=["default", "fast"])
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


def _kernel_state(config: HomeConfig, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (
        k.new_state(n, 0),
        k.new_hist(n, config.hist_bins),
        np.zeros((n, config.wake_buffer), dtype=np.int32),
        config.params(),
    )


def _feed(config: HomeConfig, data: Synthetic, n: int, chunks: list[tuple[int, int]]) -> list[tuple[int, ...]]:
    si, hist, wake, params = _kernel_state(config, n)
    mon = np.ones(n, dtype=np.uint8)
    rows: list[tuple[int, ...]] = []
    for lo, hi in chunks:
        part = _slice(data, lo, hi)
        out_i = np.zeros((2 * max(1, len(part)), 5), dtype=np.int64)
        out_f = np.zeros((2 * max(1, len(part)), 2), dtype=np.float64)
        m = k.home_process(
            si, hist, wake, part.res, part.ts, part.code, part.value, part.room, part.pir, mon, params, out_i, out_f
        )
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
    si, hist, wake, params = _kernel_state(FAST, 2)
    before = si.copy()
    out_i = np.zeros((4, 5), dtype=np.int64)
    out_f = np.zeros((4, 2), dtype=np.float64)
    e = np.zeros(0, dtype=np.int64)
    mon = np.ones(2, dtype=np.uint8)
    assert k.home_process(si, hist, wake, e, e, e, e, e, e, mon, params, out_i, out_f) == 0
    one = np.array([0], dtype=np.int64)
    ign = np.array([k.EV_IGNORE], dtype=np.int64)
    assert k.home_process(si, hist, wake, one, one * 5, ign, one, one, one, mon, params, out_i, out_f) == 0
    assert np.array_equal(si, before)
    assert k.home_advance(si, 2, 10 * DAY, mon, params, out_i, out_f) == 0


def _single(t: int, code: int = k.EV_ACTIVITY, room: int = k.ROOM_OTHER, value: int = 1) -> Synthetic:
    def a(v: int) -> np.ndarray:
        return np.array([v], dtype=np.int64)

    return Synthetic(a(0), a(t), a(code), a(value), a(room), a(0))


def test_clock_jump_fires_once_with_the_silence_start() -> None:
    config = HomeConfig()
    si, hist, wake, params = _kernel_state(config, 1)
    mon = np.ones(1, dtype=np.uint8)
    out_i = np.zeros((4, 5), dtype=np.int64)
    out_f = np.zeros((4, 2), dtype=np.float64)
    t0 = 10 * DAY + 10 * 3_600_000  # 10:00 local
    ev = _single(t0)
    k.home_process(si, hist, wake, ev.res, ev.ts, ev.code, ev.value, ev.room, ev.pir, mon, params, out_i, out_f)
    assert k.home_advance(si, 1, t0 + 1000, mon, params, out_i, out_f) == 0
    n = k.home_advance(si, 1, t0 + 30 * DAY, mon, params, out_i, out_f)  # the clock jumps a month
    assert n == 1 and out_i[0, 1] == k.K_INACTIVITY and out_i[0, 2] == t0
    assert out_i[0, 3] == t0 + int(config.active_fixed_s * 1000)
    assert k.home_advance(si, 1, t0 + 31 * DAY, mon, params, out_i, out_f) == 0  # once per silence
    assert k.home_advance(si, 1, t0 - DAY, mon, params, out_i, out_f) == 0  # and a step back is harmless


def test_late_event_does_not_rewind_the_silence() -> None:
    config = HomeConfig()
    si, hist, wake, params = _kernel_state(config, 1)
    mon = np.ones(1, dtype=np.uint8)
    out_i = np.zeros((4, 5), dtype=np.int64)
    out_f = np.zeros((4, 2), dtype=np.float64)
    t0 = 10 * DAY + 9 * 3_600_000
    for t in (t0, t0 - 600_000):
        ev = _single(t)
        k.home_process(si, hist, wake, ev.res, ev.ts, ev.code, ev.value, ev.room, ev.pir, mon, params, out_i, out_f)
    assert si[0, k.S_LAST] == t0


def test_reference_state_is_independent_per_resident() -> None:
    data = synthetic_homes(2, 3, 4)
    mask = data.res == 0
    alone = Synthetic(*(np.ascontiguousarray(getattr(data, f.name)[mask]) for f in dataclasses.fields(data)))
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


def _events(rows: list[tuple[int, int, int, int]]) -> Synthetic:
    """``(t, code, value, room)`` rows of resident 0 as kernel input (motion sensors)."""
    rows = sorted(rows)
    col = [np.array([r[i] for r in rows], dtype=np.int64) for i in range(4)]
    return Synthetic(
        np.zeros(len(rows), dtype=np.int64), col[0], col[1], col[2], col[3], np.ones(len(rows), dtype=np.int64)
    )


def _run_one_home(
    config: HomeConfig, data: Synthetic, state: tuple[np.ndarray, ...] | None = None
) -> tuple[np.ndarray, ...]:
    """The kernel over one monitored home's events, from ``state`` (default: new); returns the
    state ``(si, hist, wake, params)`` afterwards."""
    si, hist, wake, params = state or _kernel_state(config, 1)
    out_i = np.zeros((2 * len(data) + 2, 5), dtype=np.int64)
    out_f = np.zeros((2 * len(data) + 2, 2), dtype=np.float64)
    mon = np.ones(1, dtype=np.uint8)
    k.home_process(
        si, hist, wake, data.res, data.ts, data.code, data.value, data.room, data.pir, mon, params, out_i, out_f
    )
    return si, hist, wake, params


def _threshold_after(config: HomeConfig, data: Synthetic) -> tuple[int, int]:
    si = _run_one_home(config, data)[0]
    return int(si[0, k.S_THR]), int(si[0, k.S_LEARNED])


def test_learned_limit_follows_the_daily_tail_of_silences() -> None:
    """Busy afternoons → the floor; a daily 2-hour doze after lunch → a limit above two hours."""
    hour = 3_600_000
    config = HomeConfig()
    for doze, low, high in ((False, config.active_floor_s, config.active_floor_s), (True, 2 * 3600, 4 * 3600)):
        rows = []
        for day in range(12):
            for minute in range(8 * 60, 20 * 60, 5):
                t = day * DAY + minute * 60_000
                if doze and 14 * hour <= t - day * DAY < 16 * hour:
                    continue
                rows.append((t, k.EV_ACTIVITY, 1, k.ROOM_OTHER))
        rows.append((12 * DAY + 14 * hour, k.EV_ACTIVITY, 1, k.ROOM_OTHER))
        data = _events(rows)
        thr, learned = _threshold_after(config, data)
        assert learned == 1 and low <= thr <= high, (doze, thr)
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)


def test_night_absence_restarts_while_moving_about() -> None:
    hour = 3_600_000
    config = HomeConfig()
    t_bed = 10 * DAY - 2 * hour  # 22:00
    leave = 10 * DAY + 2 * hour  # 02:00: out of bed, then 50 min in the kitchen
    rows = [(t_bed, k.EV_BED, 1, k.ROOM_BED), (leave, k.EV_BED, 0, k.ROOM_BED)]
    rows += [(leave + m * 60_000, k.EV_ACTIVITY, 1, k.ROOM_OTHER) for m in range(1, 51, 7)]
    data = _events(rows)
    got = run_kernel(config, data, 1)
    assert got == run_reference(config, data, 1)
    absence = [row for row in got if row[1] == k.K_NIGHT_ABSENCE]
    last = max(r[0] for r in rows)
    assert [(row[2], row[3]) for row in absence] == [(last, last + int(config.absence_s * 1000))]


def test_a_silence_counts_in_every_hour_it_spans() -> None:
    """10:40 → 12:00: 20 min reached in hour 10, 80 min in hour 11, nothing in hour 12."""
    config = HomeConfig()
    _, hist, _, params = _kernel_state(config, 1)
    start, end = DAY + 10 * 3_600_000 + 40 * 60_000, DAY + 12 * 3_600_000
    k._add_span(hist, 0, 0, start, end, 0, params)
    nb = config.hist_bins
    log_ratio = np.log(config.hist_max_s / config.sample_min_s) / nb
    b20, b80 = (int(np.log(m * 60 / config.sample_min_s) / log_ratio) for m in (20, 80))
    assert hist[0, 0, 10, b20] == 1.0 and hist[0, 0, 11, b80] == 1.0
    assert hist.sum() == 2.0 and hist[0, 0, 12].sum() == 0.0


def test_deadline_comes_in_the_hour_the_silence_becomes_unusual() -> None:
    """Long silences are usual at 9–10 but never past noon: a silence from 10:40 alerts at 12:00,
    the first moment it is unusual for the hour it has run into, not at the long limit of 10:40."""
    config = HomeConfig()
    _, hist, _, params = _kernel_state(config, 1)
    nb = config.hist_bins
    log_ratio = np.log(config.hist_max_s / config.sample_min_s) / nb
    b_long, b_short = (int(np.log(s / config.sample_min_s) / log_ratio) for s in (3 * 3600, 15 * 60))
    hist[0, 0, 9:11, b_long] = 10.0
    hist[0, 0, 11:16, b_short] = 10.0
    hist[0, k.PRESENCE_ROW, :, 0] = 10.0  # at home every day: no hour is sparse
    hour = 3_600_000
    t0 = DAY + 10 * hour + 40 * 60_000
    args = (config.active_fixed_s, config.active_floor_s, config.active_ceil_s, 10.0, params)
    assert k.span_deadline(hist, 0, 0, t0, 0, *args) == DAY + 12 * hour
    # the start hour alone would allow margin × 3 h
    assert k.learned_threshold(hist, 0, 0, 10, config.active_fixed_s, 10.0, params) > 4 * 3600
    t1 = DAY + 12 * hour + 10 * 60_000  # starting in the busy hours: the floor
    assert k.span_deadline(hist, 0, 0, t1, 0, *args) == t1 + int(config.active_floor_s * 1000)


def test_bedroom_by_day_and_back_to_bed_after_a_night_trip() -> None:
    hour = 3_600_000
    config = HomeConfig()
    rows = [
        (DAY + 10 * hour, k.EV_ACTIVITY, 1, k.ROOM_BED),  # wardrobe by day: its own learned context
        (DAY + 23 * hour, k.EV_ACTIVITY, 1, k.ROOM_BED),  # bedroom door at night: resting
        (2 * DAY + 2 * hour, k.EV_ACTIVITY, 1, k.ROOM_BATH),  # toilet door (no PIR) at 02:00: back to bed
    ]
    contexts = []
    for i in range(len(rows)):
        si, hist, wake, params = _kernel_state(config, 1)
        data = _events(rows[: i + 1])
        out_i = np.zeros((2 * len(data) + 2, 5), dtype=np.int64)
        out_f = np.zeros((2 * len(data) + 2, 2), dtype=np.float64)
        k.home_process(
            si,
            hist,
            wake,
            data.res,
            data.ts,
            data.code,
            data.value,
            data.room,
            data.pir * 0,
            np.ones(1, dtype=np.uint8),
            params,
            out_i,
            out_f,
        )
        contexts.append((int(si[0, k.S_CTX]), int(si[0, k.S_DKIND])))
    assert contexts == [
        (k.CTX_BEDROOM, k.K_INACTIVITY),
        (k.CTX_REST, k.K_NOT_UP),
        (k.CTX_REST, k.K_NOT_UP),
    ]
    data = _events(rows)
    assert run_kernel(config, data, 1) == run_reference(config, data, 1)


def _busy_hist(config: HomeConfig, presence: float) -> tuple[np.ndarray, np.ndarray]:
    """Ten days of history with only short (15 min) silences 08–20 h and ``presence`` days at home
    in every hour."""
    _, hist, _, params = _kernel_state(config, 1)
    log_ratio = np.log(config.hist_max_s / config.sample_min_s) / config.hist_bins
    b_short = int(np.log(15 * 60 / config.sample_min_s) / log_ratio)
    hist[0, 0, 8:20, b_short] = 10.0
    hist[0, k.PRESENCE_ROW, :, 0] = presence
    return hist, params


def test_sparse_hours_keep_margin_times_floor_dense_hours_do_not() -> None:
    """A home seldom occupied around 13:00 (1 of 10 days) has shown nothing about quiet spells
    there: its limit stays ≥ margin × floor. Occupied every day, the same counts give the floor."""
    config = HomeConfig()
    hour = 3_600_000
    t0 = DAY + 13 * hour
    args = (config.active_fixed_s, config.active_floor_s, config.active_ceil_s, 10.0)
    floor_ms = int(config.active_floor_s * 1000)
    lifted_ms = int(config.margin * config.active_floor_s * 1000)
    dense, params = _busy_hist(config, 10.0)
    assert k.span_deadline(dense, 0, 0, t0, 0, *args, params) == t0 + floor_ms
    sparse, params = _busy_hist(config, 1.0)
    due = k.span_deadline(sparse, 0, 0, t0, 0, *args, params)
    assert due - t0 >= lifted_ms and due == t0 + lifted_ms
    # the share is what counts: just above min_presence × days, the floor again
    edge, params = _busy_hist(config, config.min_presence * 10.0 * 1.01)
    assert k.span_deadline(edge, 0, 0, t0, 0, *args, params) == t0 + floor_ms
    # switched off, a sparse hour gets the floor too
    off = dataclasses.replace(config, min_presence=0.0)
    assert k.span_deadline(sparse, 0, 0, t0, 0, *args, off.params()) == t0 + floor_ms
    # the pooled presence of hours 12–14 (weights w, 1, w) over their sum
    sparse[0, k.PRESENCE_ROW, 12, 0] = 4.0
    w = config.pool_w
    assert k.presence_days(sparse, 0, 13, params) == pytest.approx((4.0 * w + 1.0 + w) / (1 + 2 * w))


def test_presence_counts_time_at_home_not_away_and_fades() -> None:
    """10:00 activity, 11:00 out through the door, back 15:00 (door), 15:30 activity: one hour at
    home in hour 10, none while out (door to door), but the half hour after coming in (door to
    activity inside) counts; a day later the row is faded like the counts."""
    config = HomeConfig()
    hour = 3_600_000
    rows = [
        (DAY + 10 * hour, k.EV_ACTIVITY, 1, k.ROOM_OTHER),
        (DAY + 11 * hour, k.EV_DOOR, 1, k.ROOM_OTHER),
        (DAY + 15 * hour, k.EV_DOOR, 1, k.ROOM_OTHER),
        (DAY + 15 * hour + 30 * 60_000, k.EV_ACTIVITY, 1, k.ROOM_OTHER),
        (DAY + 16 * hour + 15 * 60_000, k.EV_ACTIVITY, 1, k.ROOM_OTHER),
    ]
    state = _run_one_home(config, _events(rows))
    hist = state[1]
    pres = hist[0, k.PRESENCE_ROW, :, 0]
    assert pres[10] == 1.0 and pres[11:15].sum() == 0.0
    assert pres[15] == pytest.approx(1.0) and pres[16] == pytest.approx(0.25)
    assert hist[0, k.PRESENCE_ROW, :, 1:].sum() == 0.0
    nxt = _events([(2 * DAY + 9 * hour, k.EV_ACTIVITY, 1, k.ROOM_OTHER)])
    _run_one_home(config, nxt, state)
    assert hist[0, k.PRESENCE_ROW, 10, 0] == pytest.approx(config.decay)


def test_commuter_home_engages_the_rule_and_kernel_matches_reference() -> None:
    """A synthetic resident out most weekday daytimes: the minimum-evidence rule changes some limits,
    and the kernel still agrees with the reference twin event for event."""
    from lab.homes.synthetic import synthetic_home
    from stream.home import HomeActivityDetector

    seed = next(s for s in range(100) if synthetic_home("c", 3, s)[1].away_days)
    log, profile = synthetic_home("c", 28, seed)
    assert profile.away_days
    a = HomeActivityDetector(HomeConfig(), utc_offset_min=0).arrays(log.events())
    data = Synthetic(np.zeros_like(a.res), a.ts, a.code, a.value, a.room, a.pir)
    thresholds = {}
    for m in (0.0, HomeConfig().min_presence, 0.6):
        config = dataclasses.replace(HomeConfig(), min_presence=m)
        got = run_kernel(config, data, 1)
        assert got == run_reference(config, data, 1)
        thresholds[m] = _thresholds_along(config, data)
    default = HomeConfig().min_presence
    # the learned state itself, presence row included, is the same in kernel and reference
    si, hist, wake, params = _kernel_state(HomeConfig(), 1)
    out_i = np.zeros((2 * len(data) + 2, 5), dtype=np.int64)
    out_f = np.zeros((2 * len(data) + 2, 2), dtype=np.float64)
    mon = np.ones(1, dtype=np.uint8)
    k.home_process(
        si, hist, wake, data.res, data.ts, data.code, data.value, data.room, data.pir, mon, params, out_i, out_f
    )
    ref = ReferenceHome(HomeConfig(), 1)
    ref.process(data.res, data.ts, data.code, data.value, data.room, data.pir, mon)
    assert np.array_equal(hist[0], ref.residents[0].hist)
    pres = hist[0, k.PRESENCE_ROW, :, 0]
    assert pres[12] < default * si[0, k.S_EXPO] / k.EXPO_SCALE < pres[20], "out at noon, in at 8 pm"
    assert thresholds[0.0] != thresholds[default], "the commuter's sparse hours must engage the rule"
    for lower, higher in ((0.0, default), (default, 0.6)):  # it only ever lifts limits
        assert all(x <= y for x, y in zip(thresholds[lower], thresholds[higher], strict=True))


def _thresholds_along(config: HomeConfig, data: Synthetic) -> list[int]:
    """The limit of every silence, event by event."""
    si, hist, wake, params = _kernel_state(config, 1)
    mon = np.ones(1, dtype=np.uint8)
    out_i = np.zeros((4, 5), dtype=np.int64)
    out_f = np.zeros((4, 2), dtype=np.float64)
    thr = []
    for i in range(len(data)):
        part = _slice(data, i, i + 1)
        k.home_process(
            si, hist, wake, part.res, part.ts, part.code, part.value, part.room, part.pir, mon, params, out_i, out_f
        )
        thr.append(int(si[0, k.S_THR]))
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
    order = np.argsort(merged.ts, kind="stable")
    return Synthetic(*(np.ascontiguousarray(getattr(merged, f.name)[order]) for f in dataclasses.fields(data)))


@pytest.mark.parametrize("seed", [0, 1])
def test_presence_reports_match_the_reference(seed: int) -> None:
    data = _with_presence(synthetic_homes(4, 12, seed), seed)
    got = run_kernel(FAST, data, 4)
    assert got == run_reference(FAST, data, 4)
    assert got


def test_lying_still_under_a_radar_alerts_and_presence_ends_an_away_silence() -> None:
    config = HomeConfig()
    hour = 3_600_000
    minute = 60_000
    still = [(10 * hour, k.EV_ACTIVITY, 1, k.ROOM_OTHER)]
    still += [(10 * hour + m * minute, k.EV_PRESENCE, 1, k.ROOM_OTHER) for m in range(1, 8 * 60, 5)]
    rows = run_kernel(config, _events(still), 1)
    inactivity = [row for row in rows if row[1] == k.K_INACTIVITY]
    assert inactivity and inactivity[0][2] == 10 * hour, "the silence runs from the last movement"
    assert inactivity[0][3] - inactivity[0][2] <= config.active_fixed_s * 1000
    # out through the entrance door, then home again seen only by the radar: a silence at home now
    away = [(10 * hour, k.EV_DOOR, 1, k.ROOM_OTHER), (11 * hour, k.EV_PRESENCE, 1, k.ROOM_OTHER)]
    rows = run_kernel(config, _events(away), 1)
    assert [(row[1], row[2]) for row in rows if row[1] == k.K_INACTIVITY][:1] == [(k.K_INACTIVITY, 11 * hour)]
    assert run_kernel(config, _events(away[:1]), 1) == []  # away: never
