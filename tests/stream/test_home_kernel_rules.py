"""What the home-activity kernels decide: learned limits from the daily tail of silences, the hour a
silence becomes unusual, contexts (bedroom, rest, seated, arrived), presence, evenings, pads. Each
case also checks the kernels against their reference twin where it runs them both."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lab.homes.bench import Synthetic, run_kernel, run_reference
from stream.home import HomeConfig
from stream.kernels import home as k
from tests.stream.home_kernel_cases import DAY, H, Kernels, M, events, pir_rows


def _threshold_after(config: HomeConfig, data: Synthetic) -> tuple[int, int]:
    kernels = Kernels.new(config)
    kernels.process(data)
    return int(kernels.si[0, k.S_THR]), int(kernels.si[0, k.S_LEARNED])


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
        data = events(rows)
        thr, learned = _threshold_after(config, data)
        assert learned == 1 and low <= thr <= high, (doze, thr)
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)


def test_night_absence_restarts_while_moving_about() -> None:
    hour = 3_600_000
    config = HomeConfig()
    t_bed = 10 * DAY - 2 * hour  # 22:00
    leave = 10 * DAY + 2 * hour  # 02:00: out of bed, then 22 min in the kitchen (a trip)
    rows = [(t_bed, k.EV_BED, 1, k.ROOM_BED), (leave, k.EV_BED, 0, k.ROOM_BED)]
    rows += [(leave + m * 60_000, k.EV_ACTIVITY, 1, k.ROOM_OTHER) for m in range(1, 24, 7)]
    data = events(rows)
    got = run_kernel(config, data, 1)
    assert got == run_reference(config, data, 1)
    absence = [row for row in got if row[1] == k.K_NIGHT_ABSENCE]
    last = max(r[0] for r in rows)
    assert [(row[2], row[3]) for row in absence] == [(last, last + int(config.absence_s * 1000))]
    assert absence[0][5] == config.absence_s


def _night(rows: list[tuple[int, int, int, int]], config: HomeConfig | None = None) -> list[tuple[int, int]]:
    """Night absences (start, due) after bed at 22:00 and ``rows``; kernel and reference agree."""
    config = config or HomeConfig()
    data = events([(10 * DAY - 2 * H, k.EV_BED, 1, k.ROOM_BED), *rows])
    got = run_kernel(config, data, 1)
    assert got == run_reference(config, data, 1)
    return [(row[2], row[3]) for row in got if row[1] == k.K_NIGHT_ABSENCE]


def test_out_through_the_entrance_door_at_night_is_away_and_coming_back_in_is_watched() -> None:
    """Out of bed at 04:30, the kitchen at 04:32, out through the entrance door at 04:40: away, as by
    day (an early walk, a day out begun before dawn), so no night absence, where the same trip without
    the door is due an hour after the kitchen. Back in at 05:30 with nothing after: the timer runs from
    the door again, with the allowance of a resident up for more than ``absence_trip_s``."""
    leave = 10 * DAY + 4 * H + 30 * M
    trip = [(leave, k.EV_BED, 0, k.ROOM_BED), (leave + 2 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER)]
    out = [(leave + 10 * M, k.EV_DOOR, 1, k.ROOM_OTHER), (leave + 10 * M + 20_000, k.EV_DOOR, 0, k.ROOM_OTHER)]
    back = leave + 60 * M
    home = [(back, k.EV_DOOR, 1, k.ROOM_OTHER), (back + 20_000, k.EV_DOOR, 0, k.ROOM_OTHER)]
    assert _night(trip) == [(leave + 2 * M, leave + 2 * M + H)]
    assert _night(trip + out) == []
    assert _night(trip + out + home) == [(back + 20_000, back + 20_000 + 3 * H)]


def _pad_nights(sleepless: set[int], nights: int = 10, door: bool = False) -> list[tuple[int, int, int, int]]:
    """``nights`` nights of a home with a bed pad and no bedroom sensor: the kitchen every 20 min by day,
    in bed at 22:00, up at 07:00; on the nights in ``sleepless``, out of bed at 02:00 to a room no
    sensor sees (the kitchen at 02:01, the last sign) and back in bed at 03:30 (with ``door``, the
    entrance door at 03:20 first: someone coming in). Then one more day, and a last night out of bed
    at 02:00 and in the kitchen at 02:01, and nothing after (a fall)."""
    rows = []
    for d in range(nights + 1):
        day = d * DAY
        rows += [(day + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER) for i in range(45)]
        rows.append((day + 22 * H, k.EV_BED, 1, k.ROOM_BED))
        night = day + DAY + 2 * H
        if d in sleepless or d == nights:
            rows += [(night, k.EV_BED, 0, k.ROOM_BED), (night + M, k.EV_ACTIVITY, 1, k.ROOM_OTHER)]
        if d in sleepless:
            if door:
                rows.append((night + 80 * M, k.EV_DOOR, 1, k.ROOM_OTHER))
            rows.append((night + 90 * M, k.EV_BED, 1, k.ROOM_BED))
        if d < nights:
            rows.append((day + DAY + 7 * H - M, k.EV_BED, 0, k.ROOM_BED))
    return rows


def test_a_home_whose_night_timers_keep_running_out_gives_each_trip_the_sleepless_allowance() -> None:
    """A resident who twice lately sat up for an hour and a half where no sensor sees raised a night
    absence each time (1 h after the last sign) and was then seen moving again: ``abs_runout_n`` such
    alerts (faded), so the next trip is given ``absence_up_s`` (3 h), like a sleepless spell. After
    one such night only, after alerts followed by the entrance door (a responder coming in: perhaps a
    real fall), or with the rule off, the trip keeps ``absence_s``."""
    config = HomeConfig()
    last = 11 * DAY + 2 * H + M  # the last night's sign, in the kitchen at 02:01
    hour, up = int(config.absence_s * 1000), int(config.absence_up_s * 1000)

    def absences(cfg: HomeConfig, sleepless: set[int], door: bool = False) -> list[tuple[int, int]]:
        data = events(_pad_nights(sleepless, door=door))
        got = run_kernel(cfg, data, 1)
        assert got == run_reference(cfg, data, 1)
        return [(row[2], row[3]) for row in got if row[1] == k.K_NIGHT_ABSENCE]

    twice = absences(config, {4, 7})
    assert twice[:2] == [(d * DAY + DAY + 2 * H + M, d * DAY + DAY + 2 * H + M + hour) for d in (4, 7)]
    assert twice[2:] == [(last, last + up)]
    assert absences(config, {7})[-1] == (last, last + hour)
    assert absences(config, {4, 7}, door=True)[-1] == (last, last + hour)
    assert absences(dataclasses.replace(config, abs_runout_n=0.0), {4, 7})[-1] == (last, last + hour)


def test_a_pad_letting_go_alone_or_with_bedroom_motion_is_no_night_absence() -> None:
    """A bed pad that reads "free" for hours while the sleeper lies at its edge (a turn seen by the
    bedroom PIR) is no absence: nothing shows the resident out of bed; the morning's NOT_UP covers a
    resident who stays there."""
    leave = 10 * DAY + 2 * H
    assert _night([(leave, k.EV_BED, 0, k.ROOM_BED), (leave + 3 * H, k.EV_ACTIVITY, 1, k.ROOM_BED)]) == []
    assert _night([(leave, k.EV_BED, 0, k.ROOM_BED), (leave + 2 * M, k.EV_ACTIVITY, 1, k.ROOM_BED)]) == []
    # out in the hall, then back in the bedroom (the pad stays "free": back to bed, the pad not saying so)
    rows = [(leave, k.EV_BED, 0, k.ROOM_BED), (leave + M, k.EV_ACTIVITY, 1, k.ROOM_OTHER)]
    assert _night([*rows, (leave + 10 * M, k.EV_ACTIVITY, 1, k.ROOM_BED)]) == []
    # out in the hall and nothing more: found an hour after the hall, not after the pad let go
    assert _night(rows) == [(leave + M, leave + M + H)]


def test_a_sleepless_spell_gets_the_longer_limit_and_the_seat_pad_holds_it() -> None:
    """Up for ``absence_trip_s`` and more (reading in the living room at 02:00): ``absence_up_s``; on a
    seat pad no timer at all, even with motion while seated; getting up from it restarts the timer."""
    config = HomeConfig()
    leave = 10 * DAY + 2 * H
    rows = [(leave, k.EV_BED, 0, k.ROOM_BED)]
    rows += [(leave + m * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER) for m in (1, 10, 20, 35)]
    up = leave + 35 * M
    assert _night(rows, config) == [(up, up + int(config.absence_up_s * 1000))]
    seated = [(leave, k.EV_BED, 0, k.ROOM_BED), (leave + M, k.EV_ACTIVITY, 1, k.ROOM_OTHER)]
    seated += [(leave + 3 * M, k.EV_SEAT, 1, k.ROOM_OTHER), (leave + 50 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER)]
    assert _night(seated, config) == []
    off = leave + 90 * M
    assert _night([*seated, (off, k.EV_SEAT, 0, k.ROOM_OTHER)], config) == [
        (off, off + int(config.absence_up_s * 1000))
    ]


def test_a_night_trip_while_the_seat_pad_has_not_let_go_may_be_a_spell_in_the_armchair() -> None:
    """In the armchair from 19:00, the toilet at 21:50 with its pad still "occupied" (it holds: sticky),
    in bed at 22:00; out of bed at 02:00, the living room at 02:01 and nothing more: sitting down again
    on that pad would not show, so the trip has the sleepless allowance (``absence_up_s``), not the
    hour of one that would have shown it. A pad that let go at 21:00 would have: an hour; so would a
    trip to the toilet (not the seat's room) with the pad held."""
    config = HomeConfig()
    evening = [
        (10 * DAY - 5 * H, k.EV_SEAT, 1, k.ROOM_OTHER),
        (10 * DAY - 2 * H - 10 * M, k.EV_ACTIVITY, 1, k.ROOM_BATH),
    ]
    let_go = [(10 * DAY - 3 * H, k.EV_SEAT, 0, k.ROOM_OTHER)]
    leave = 10 * DAY + 2 * H
    for room, rows, limit_s in (
        (k.ROOM_OTHER, evening, config.absence_up_s),
        (k.ROOM_OTHER, evening + let_go, config.absence_s),
        (k.ROOM_BATH, evening, config.absence_s),
    ):
        trip = [(leave, k.EV_BED, 0, k.ROOM_BED), (leave + M, k.EV_ACTIVITY, 1, room)]
        assert _night([*rows, *trip], config) == [(leave + M, leave + M + int(limit_s * 1000))]


def test_a_silence_counts_in_every_hour_it_spans() -> None:
    """10:40 → 12:00: 20 min reached in hour 10, 80 min in hour 11, nothing in hour 12."""
    config = HomeConfig()
    kernels = Kernels.new(config)
    hist, params = kernels.hist, kernels.params
    start, end = DAY + 10 * 3_600_000 + 40 * 60_000, DAY + 12 * 3_600_000
    k._add_span(hist, 0, 0, start, end, 0, params)
    nb = config.hist_bins
    log_ratio = np.log(config.hist_max_s / config.sample_min_s) / nb
    b20, b80 = (int(np.log(m * 60 / config.sample_min_s) / log_ratio) for m in (20, 80))
    assert hist[0, 0, 10, b20] == 1.0 and hist[0, 0, 11, b80] == 1.0
    assert hist.sum() == 2.0 and hist[0, 0, 12].sum() == 0.0


def test_deadline_comes_in_the_hour_the_silence_becomes_unusual() -> None:
    """Long silences are usual at 9–10 but never past noon: a silence from 10:30 alerts at 12:00,
    the first moment it is unusual for the hour it has run into, not at the long limit of 10:30."""
    config = HomeConfig()
    kernels = Kernels.new(config)
    hist, params = kernels.hist, kernels.params
    nb = config.hist_bins
    log_ratio = np.log(config.hist_max_s / config.sample_min_s) / nb
    b_long, b_short = (int(np.log(s / config.sample_min_s) / log_ratio) for s in (3 * 3600, 15 * 60))
    hist[0, 0, 9:11, b_long] = 10.0
    hist[0, 0, 11:16, b_short] = 10.0
    hist[0, k.PRESENCE_ROW, :, 0] = 10.0  # at home every day: no hour is sparse
    hour = 3_600_000
    t0 = DAY + 10 * hour + 30 * 60_000
    assert config.active_floor_s < 90 * 60  # (past the floor by 12:00)
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
        kernels = Kernels.new(config)
        data = events(rows[: i + 1])
        kernels.process(dataclasses.replace(data, pir=data.pir * 0))
        contexts.append((int(kernels.si[0, k.S_CTX]), int(kernels.si[0, k.S_DKIND])))
    assert contexts == [
        (k.CTX_BEDROOM, k.K_INACTIVITY),
        (k.CTX_REST, k.K_NOT_UP),
        (k.CTX_REST, k.K_NOT_UP),
    ]
    data = events(rows)
    assert run_kernel(config, data, 1) == run_reference(config, data, 1)


def _nights_then(morning: list[tuple[int, int, int, int, int]]) -> Synthetic:
    """Six nights in the bedroom 22:00 → 08:00 (learned wake-ups: early edge 07:00), a seventh from
    22:00, then ``morning`` (``(minutes after midnight, code, value, room, pir)`` on day 7)."""
    rows = []
    for day in range(7):
        rows += [(day * DAY + 22 * H, k.EV_ACTIVITY, 1, k.ROOM_BED, 1)]
        if day < 6:
            rows += [((day + 1) * DAY + 8 * H, k.EV_ACTIVITY, 1, k.ROOM_BED, 1)]
            rows += [((day + 1) * DAY + 8 * H + m * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for m in (5, 30, 60)]
    rows += [(7 * DAY + m * M, c, v, room, pir) for m, c, v, room, pir in morning]
    return pir_rows(rows)


def test_back_to_bed_from_the_toilet_before_the_usual_wake_up_is_still_the_night() -> None:
    """After 06:00 but before the usual wake-up's early edge, a trip to the toilet (the hall on the way)
    ends back in the bedroom, or at the toilet's door: not up for the day, NOT_UP at the usual time;
    after the entrance door, or past the edge, the same toilet door is an ordinary silence."""
    config = HomeConfig()
    hall, bath_pir, bath_door = (
        (k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1),
        (k.EV_ACTIVITY, 1, k.ROOM_BATH, 1),
        (
            k.EV_ACTIVITY,
            1,
            k.ROOM_BATH,
            0,
        ),
    )
    bedroom = (k.EV_ACTIVITY, 1, k.ROOM_BED, 1)
    front = (k.EV_DOOR, 1, k.ROOM_OTHER, 0)
    trip = [(380, *hall), (381, *bath_pir), (388, *bath_door), (389, *hall)]
    not_up_at = 7 * DAY + (9 * 60 + 30) * M  # 08:00 + wake margin
    cases = [
        ([*trip, (390, *bedroom)], k.CTX_REST, k.K_NOT_UP, not_up_at),
        (trip[:3], k.CTX_REST, k.K_NOT_UP, not_up_at),
        ([(380, *front), (381, *front), (382, *hall), (385, *bath_door)], k.CTX_ACTIVE, k.K_INACTIVITY, None),
        ([(m + 45, *e) for m, *e in trip[:3]], k.CTX_ACTIVE, k.K_INACTIVITY, None),  # 07:05: past the edge
    ]
    for morning, ctx, kind, due in cases:
        data = _nights_then(morning)
        kernels = Kernels.new(config)
        kernels.process(data)
        assert (int(kernels.si[0, k.S_CTX]), int(kernels.si[0, k.S_DKIND])) == (ctx, kind), morning
        if due is not None:
            assert int(kernels.si[0, k.S_DEADLINE]) == due
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)


def _busy_hist(config: HomeConfig, presence: float) -> tuple[np.ndarray, np.ndarray]:
    """Ten days of history with only short (15 min) silences 08–20 h and ``presence`` days at home
    in every hour."""
    kernels = Kernels.new(config)
    hist, params = kernels.hist, kernels.params
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
    kernels = Kernels.new(config)
    kernels.process(events(rows))
    hist = kernels.hist
    pres = hist[0, k.PRESENCE_ROW, :, 0]
    assert pres[10] == 1.0 and pres[11:15].sum() == 0.0
    assert pres[15] == pytest.approx(1.0) and pres[16] == pytest.approx(0.25)
    assert hist[0, k.PRESENCE_ROW, :, 1:].sum() == 0.0
    kernels.process(events([(2 * DAY + 9 * hour, k.EV_ACTIVITY, 1, k.ROOM_OTHER)]))
    assert hist[0, k.PRESENCE_ROW, 10, 0] == pytest.approx(config.decay)


def test_lying_still_under_a_radar_alerts_and_presence_ends_an_away_silence() -> None:
    config = HomeConfig()
    hour = 3_600_000
    minute = 60_000
    still = [(10 * hour, k.EV_ACTIVITY, 1, k.ROOM_OTHER)]
    still += [(10 * hour + m * minute, k.EV_PRESENCE, 1, k.ROOM_OTHER) for m in range(1, 8 * 60, 5)]
    rows = run_kernel(config, events(still), 1)
    inactivity = [row for row in rows if row[1] == k.K_INACTIVITY]
    assert inactivity and inactivity[0][2] == 10 * hour, "the silence runs from the last movement"
    assert inactivity[0][3] - inactivity[0][2] <= config.active_fixed_s * 1000
    # out through the entrance door, then home again seen only by the radar: a silence at home now
    away = [(10 * hour, k.EV_DOOR, 1, k.ROOM_OTHER), (11 * hour, k.EV_PRESENCE, 1, k.ROOM_OTHER)]
    rows = run_kernel(config, events(away), 1)
    assert [(row[1], row[2]) for row in rows if row[1] == k.K_INACTIVITY][:1] == [(k.K_INACTIVITY, 11 * hour)]
    assert run_kernel(config, events(away[:1]), 1) == []  # away: never


def _nights(days: int, bed_h: float = 22.0, wake_h: float = 7.0) -> list[tuple[int, int, int, int, int]]:
    """Days of a resident with a bedroom PIR and no pads: kitchen every 20 min by day, the bedroom at
    bed time, up at ``wake_h``."""
    rows = []
    for d in range(days):
        day = d * DAY
        rows += [(day + int(wake_h * H) + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(40)]
        rows.append((day + int(bed_h * H), k.EV_ACTIVITY, 1, k.ROOM_BED, 1))
    return rows


def test_an_evening_silence_outside_the_bedroom_is_due_by_the_usual_bed_time() -> None:
    """Ten ordinary nights (bedroom at 22:00), then the resident stops in the kitchen at 20:30: due by the
    usual bed time (within ``evening_ceil_s``), not the next morning as a night's rest would be."""
    for nights, flags in ((10, k.B_LEARNED), (3, k.B_FIXED | k.W_EVENING)):
        # learned: judged by this home's evening silences, not as a night's sleep (≥ evening floor);
        # in the first days: due by the usual bed time seen so far (+ margins), within the ceiling
        rows = _nights(nights)
        collapse = nights * DAY + int(20.5 * H)
        rows += [(nights * DAY + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(41)]
        data = pir_rows(rows)
        got = run_kernel(HomeConfig(), data, 1)
        assert got == run_reference(HomeConfig(), data, 1)
        last = [row for row in got if row[2] >= collapse - 20 * M]
        assert last and last[0][1] == k.K_INACTIVITY and last[0][4] == flags
        assert HomeConfig().evening_floor_s * 1000 <= last[0][3] - last[0][2] <= HomeConfig().evening_ceil_s * 1000
        # and on the ordinary nights, going to the bedroom at 22:00 raised nothing
        assert all(row[2] >= collapse - 20 * M for row in got)


def _toilet_then_nothing(nights: int, at_h: float) -> tuple[list[tuple[int, int, int, int, int]], int]:
    """Ordinary nights (bedroom at 22:00), then a day in the kitchen and, at ``at_h``, the toilet
    (flush and bathroom door: contacts, no motion sensor) and nothing more: ``(rows, silence start)``."""
    rows = _nights(nights)
    day = nights * DAY
    rows += [(day + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(int((at_h - 7.5) * 3))]
    stop = day + int(at_h * H)
    rows += [(stop - 40_000, k.EV_ACTIVITY, 1, k.ROOM_BATH, 0), (stop, k.EV_ACTIVITY, 1, k.ROOM_BATH, 0)]
    return rows, stop


def test_an_evening_stop_after_the_toilet_is_no_nights_sleep() -> None:
    """The toilet at 20:30 and then nothing, in a home whose nights leave a bedroom trace: before bed the
    toilet is followed by the bedroom, so a silence that starts right after it never reached the bedroom.
    It is due ``evening_max_s`` after it began (the whole evening allowance: perhaps to bed with the
    bedroom door left open), not the next morning; with ``evening_bath=0`` (the toilet taken for a trace
    of going to bed) it waits as a night's sleep would."""
    config = HomeConfig()
    for nights in (10, 3):  # learned evenings, and the first days (the bed time seen so far)
        rows, stop = _toilet_then_nothing(nights, 20.5)
        data = pir_rows(rows)
        got = run_kernel(config, data, 1)
        assert got == run_reference(config, data, 1)
        assert [(row[1], row[2], row[3] - row[2]) for row in got] == [
            (k.K_INACTIVITY, stop, int(config.evening_max_s * 1000))
        ]
        assert got[0][4] & k.W_EVENING or got[0][4] == k.B_LEARNED
        old = dataclasses.replace(config, evening_bath=False)
        got = run_kernel(old, data, 1)
        assert got == run_reference(old, data, 1)
        assert [row[2] for row in got] == [stop]
        assert got[0][3] - stop >= old.night_floor_s * 1000, "taken for a night's sleep"
    # the toilet at 22:00 and then the bedroom, as every night: nothing
    rows, stop = _toilet_then_nothing(10, 21.9)
    rows.append((stop + 2 * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 1))
    rows += [(11 * DAY + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(3)]
    data = pir_rows(rows)
    got = run_kernel(config, data, 1)
    assert got == run_reference(config, data, 1)
    assert all(row[2] >= 11 * DAY + 7 * H for row in got)  # (only the end of the log, if anything)


def test_evening_max_bounds_an_evening_silence_however_late_the_bed_time() -> None:
    """A late sleeper with quiet evenings (up at 11:00, still in the chair 19:00–21:50 every evening, the
    bedroom at 03:00) stops moving at 19:00: its learned evenings and late bed time would let the silence
    run far into the night; ``evening_max_s`` bounds it (``W_EVENING_MAX``), and without the cap
    (``evening_max_s=0``) it is due later. The ordinary quiet evenings raise nothing."""
    rows = []
    for d in range(12):
        day = d * DAY
        rows += [(day + 11 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(25)]  # → 19:00
        rows += [(day + 21 * H + 50 * M + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(16)]
        rows.append((day + 27 * H, k.EV_ACTIVITY, 1, k.ROOM_BED, 1))  # 03:00 the next day
    stop = 12 * DAY + 19 * H
    rows += [(12 * DAY + 11 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(25)]
    data = pir_rows(sorted(rows))
    assert max(row[0] for row in rows) == stop
    config = HomeConfig()
    got = run_kernel(config, data, 1)
    assert got == run_reference(config, data, 1)
    assert [(row[1], row[2], row[3] - row[2]) for row in got] == [
        (k.K_INACTIVITY, stop, int(config.evening_max_s * 1000))
    ]
    assert got[0][4] == k.B_LEARNED | k.W_EVENING_MAX
    for max_s in (2.5 * 3600.0, 0.0):  # a tighter cap; none: this home's learned evenings alone
        other = dataclasses.replace(config, evening_max_s=max_s)
        got = run_kernel(other, data, 1)
        assert got == run_reference(other, data, 1)
        last = [row for row in got if row[2] == stop]
        assert len(last) == 1
        if max_s:
            assert last[0][3] - stop == int(max_s * 1000) and last[0][4] & k.W_EVENING_MAX
        else:
            assert last[0][3] - stop > 3.5 * H and last[0][4] == k.B_LEARNED


def test_a_silence_right_after_coming_in_alerts_and_going_out_does_not() -> None:
    """Out through the door (open, close) for 3 h, in again (open, close), then nothing: the silence
    after the passage in is an arrival, due after ``arrival_limit_s``; the silence after the passage
    out never alerts."""
    rows = _nights(8) + [(8 * DAY + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(8)]
    out = 8 * DAY + 10 * H
    rows += [(out, k.EV_DOOR, 1, k.ROOM_OTHER, 0), (out + 10_000, k.EV_DOOR, 0, k.ROOM_OTHER, 0)]
    back = out + 3 * H
    rows += [(back, k.EV_DOOR, 1, k.ROOM_OTHER, 0), (back + 10_000, k.EV_DOOR, 0, k.ROOM_OTHER, 0)]
    data = pir_rows(rows)
    got = run_kernel(HomeConfig(), data, 1)
    assert got == run_reference(HomeConfig(), data, 1)
    assert [(row[1], row[2], row[6]) for row in got] == [(k.K_INACTIVITY, back + 10_000, k.CTX_ARRIVED)]
    assert got[0][3] - got[0][2] <= HomeConfig().arrival_limit_s * 1000  # (this home's learned limit is shorter)
    # before anything is learned, the arrival limit itself
    first = [row for row in rows if row[0] >= 8 * DAY]
    got = run_kernel(HomeConfig(), pir_rows(first), 1)
    assert got == run_reference(HomeConfig(), pir_rows(first), 1)
    assert [(row[2], row[3] - row[2], row[4]) for row in got] == [
        (back + 10_000, HomeConfig().arrival_limit_s * 1000, k.B_FIXED | k.W_ARRIVED)
    ]
    # sitting down at once (the seat pad 2 min after the door) is still right after coming in
    seated = pir_rows([*first, (back + 2 * M, k.EV_SEAT, 1, k.ROOM_OTHER, 0)])
    got = run_kernel(HomeConfig(), seated, 1)
    assert got == run_reference(HomeConfig(), seated, 1)
    assert [(row[2], row[3] - row[2], row[6]) for row in got] == [
        (back + 2 * M, HomeConfig().arrival_limit_s * 1000, k.CTX_SEATED)
    ]


def test_straight_to_the_bedroom_from_the_door_is_not_yet_gone_to_bed() -> None:
    """Out at 18:00 and in again at 21:10, the bedroom's motion sensor at 21:11, then nothing: a collapse
    there was taken for going to bed and found by NOT_UP the next morning. Within ``arrival_window_s``
    of coming in, the bedroom is an arrival: due after at most ``arrival_limit_s``. The same by day (in
    at 14:00, the bedroom at 14:01). With the bed pad reporting them in bed, it is the night's rest."""
    config = HomeConfig()
    limit = int(config.arrival_limit_s * 1000)
    for back_h in (21 + 1 / 6, 14.0):
        rows = _nights(8) + [(8 * DAY + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(10)]
        back = 8 * DAY + int(back_h * H)
        out = back - 3 * H
        rows += [(out, k.EV_DOOR, 1, k.ROOM_OTHER, 0), (out + 10_000, k.EV_DOOR, 0, k.ROOM_OTHER, 0)]
        rows += [(back, k.EV_DOOR, 1, k.ROOM_OTHER, 0), (back + 10_000, k.EV_DOOR, 0, k.ROOM_OTHER, 0)]
        bedroom = back + M
        rows.append((bedroom, k.EV_ACTIVITY, 1, k.ROOM_BED, 1))
        data = pir_rows(rows)
        got = [row for row in run_kernel(config, data, 1) if row[2] >= back]
        assert got == [row for row in run_reference(config, data, 1) if row[2] >= back]
        assert [(row[1], row[2], row[6]) for row in got] == [(k.K_INACTIVITY, bedroom, k.CTX_ARRIVED)], back_h
        assert got[0][3] - bedroom <= limit
        if back_h > 20:  # in the evening, into bed a minute later: the night's rest
            in_bed = pir_rows([*rows, (bedroom + M, k.EV_BED, 1, k.ROOM_BED, 0)])
            got = [row for row in run_kernel(config, in_bed, 1) if row[2] >= back]
            assert got == [row for row in run_reference(config, in_bed, 1) if row[2] >= back]
            assert [row[1] for row in got] == [k.K_NOT_UP]


def test_a_pad_repeating_occupied_is_not_activity_and_one_seen_elsewhere_is_stale() -> None:
    """A seat pad that re-reports "occupied" every 15 min does not restart the silence (the old kernel
    restarted it on every report and never alerted); bathroom motion a while after the pad was occupied
    makes it stale: its "occupied" is no longer believed, nor is the resident's return to the chair
    seen, so the next silence (after the kitchen) is judged as seated, not active; with a pad that let
    go it is active."""
    t0 = 10 * H
    rows = [(t0, k.EV_SEAT, 1, k.ROOM_OTHER, 0)]
    rows += [(t0 + i * 15 * M, k.EV_SEAT, 1, k.ROOM_OTHER, 0) for i in range(1, 40)]
    data = pir_rows(rows)
    got = run_kernel(HomeConfig(), data, 1)
    assert got == run_reference(HomeConfig(), data, 1)
    assert [(row[1], row[2], row[6]) for row in got] == [(k.K_INACTIVITY, t0, k.CTX_SEATED)]
    rows = [(t0, k.EV_SEAT, 1, k.ROOM_OTHER, 0), (t0 + 30 * M, k.EV_ACTIVITY, 1, k.ROOM_BATH, 1)]
    rows += [(t0 + 40 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1), (t0 + 50 * M, k.EV_SEAT, 1, k.ROOM_OTHER, 0)]
    data = pir_rows(rows)
    got = run_kernel(HomeConfig(), data, 1)
    assert got == run_reference(HomeConfig(), data, 1)
    assert [(row[2], row[6]) for row in got] == [(t0 + 40 * M, k.CTX_SEATED)]
    let_go = pir_rows([*rows[:1], (t0 + 29 * M, k.EV_SEAT, 0, k.ROOM_OTHER, 0), *rows[1:3]])
    got = run_kernel(HomeConfig(), let_go, 1)
    assert got == run_reference(HomeConfig(), let_go, 1)
    assert [(row[2], row[6]) for row in got] == [(t0 + 40 * M, k.CTX_ACTIVE)]


def test_the_bedroom_by_day_while_the_seat_pad_has_not_let_go_may_be_a_sitting() -> None:
    """In the armchair at 10:00 with its pad holding "occupied" (sticky), the bathroom at 10:30, the
    bedroom at 10:40 and nothing more: back in the chair would not show, so the silence is seated, as
    one that starts in any other room; after a pad that let go it is the bedroom's."""
    t0 = 10 * H
    rows = [(t0, k.EV_SEAT, 1, k.ROOM_OTHER, 0), (t0 + 30 * M, k.EV_ACTIVITY, 1, k.ROOM_BATH, 1)]
    bedroom = (t0 + 40 * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 1)
    let_go = (t0 + 29 * M, k.EV_SEAT, 0, k.ROOM_OTHER, 0)
    for data, ctx in (
        (pir_rows([*rows, bedroom]), k.CTX_SEATED),
        (pir_rows([rows[0], let_go, rows[1], bedroom]), k.CTX_BEDROOM),
    ):
        got = run_kernel(HomeConfig(), data, 1)
        assert got == run_reference(HomeConfig(), data, 1)
        assert [(row[2], row[6]) for row in got] == [(t0 + 40 * M, ctx)]


def test_coming_in_while_the_seat_pad_held_occupied_may_be_sitting_down_at_once() -> None:
    """On the armchair's pad at 09:00, out through the entrance door at 10:00 with the pad still
    "occupied" (it holds: sticky), in again at 12:00, then nothing: sitting down would not show on that
    pad, so the silence is seated as one who sat down at once (due by ``arrival_limit_s``), not an
    arrival judged by the active limits. After a pad that let go it is an arrival; the kitchen first,
    seated either way (a stale pad hides the return to the chair)."""
    config = HomeConfig()
    rows = _nights(8) + [(8 * DAY + 7 * H + i * 10 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(12)]
    sat, out, back = 9 * DAY + 9 * H, 9 * DAY + 10 * H, 9 * DAY + 12 * H
    door = [(out, k.EV_DOOR, 1, k.ROOM_OTHER, 0), (out + 10_000, k.EV_DOOR, 0, k.ROOM_OTHER, 0)]
    door += [(back, k.EV_DOOR, 1, k.ROOM_OTHER, 0), (back + 10_000, k.EV_DOOR, 0, k.ROOM_OTHER, 0)]
    held = [*rows, (sat, k.EV_SEAT, 1, k.ROOM_OTHER, 0), *door]
    let_go = [*rows, (sat, k.EV_SEAT, 1, k.ROOM_OTHER, 0), (out - M, k.EV_SEAT, 0, k.ROOM_OTHER, 0), *door]
    kitchen = [(back + M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)]
    cases = ((held, back + 10_000, k.CTX_SEATED), (let_go, back + 10_000, k.CTX_ARRIVED))
    for rows_, start, ctx in (*cases, ([*held, *kitchen], back + M, k.CTX_SEATED)):
        data = pir_rows(rows_)
        got = [row for row in run_kernel(config, data, 1) if row[2] >= back]
        assert got == [row for row in run_reference(config, data, 1) if row[2] >= back]
        assert [(row[2], row[6]) for row in got] == [(start, ctx)]
        assert got[0][3] - got[0][2] <= config.arrival_limit_s * 1000


def test_the_bedroom_by_day_while_the_bed_pad_has_not_let_go_is_a_rest() -> None:
    """Up at 07:00 (the kitchen) from a bed pad that stays "occupied", back in the bedroom at 13:00 and
    nothing more: lying down again would not show on that pad, so the silence is a rest (a nap's
    limits), not the bedroom's; after a pad that let go it is the bedroom's."""
    config = HomeConfig()
    bed, up, nap = 9 * DAY - 2 * H, 9 * DAY + 7 * H, 9 * DAY + 13 * H
    rows = [(bed, k.EV_BED, 1, k.ROOM_BED, 0), (up, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)]
    rows += [(up + m * 30 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for m in range(1, 12)]
    sticky = pir_rows([*rows, (nap, k.EV_ACTIVITY, 1, k.ROOM_BED, 1)])
    let_go = pir_rows(
        [rows[0], (up - M, k.EV_BED, 0, k.ROOM_BED, 0), *rows[1:], (nap, k.EV_ACTIVITY, 1, k.ROOM_BED, 1)]
    )
    for data, ctx in ((sticky, k.CTX_REST), (let_go, k.CTX_BEDROOM)):
        got = run_kernel(config, data, 1)
        assert got == run_reference(config, data, 1)
        assert [(row[2], row[6]) for row in got if row[2] == nap] == [(nap, ctx)]


def test_a_night_trip_from_a_bed_pad_that_does_not_let_go_keeps_the_night() -> None:
    """In bed at 22:00 on a pad that stays "occupied" (sticky), the bathroom at 02:00, then nothing (no
    bedroom sensor: the return to bed shows nowhere): tonight's rest goes on, "not up" in the morning,
    not an hour's bathroom stay at 03:00 every night. A pad that let go at 01:59 was left: the same
    silence in the bathroom is BATHROOM_LONG at 03:00."""
    config = HomeConfig()
    bed, trip = 10 * DAY - 2 * H, 10 * DAY + 2 * H
    sticky = [(bed, k.EV_BED, 1, k.ROOM_BED, 0), (trip, k.EV_ACTIVITY, 1, k.ROOM_BATH, 1)]
    sticky += [(trip + m * M, k.EV_BED, 1, k.ROOM_BED, 0) for m in (20, 45)]  # "occupied" again: no news
    got = run_kernel(config, pir_rows(sticky), 1)
    assert got == run_reference(config, pir_rows(sticky), 1)
    assert [(row[1], row[2], row[6]) for row in got] == [(k.K_NOT_UP, trip, k.CTX_REST)]
    assert got[0][3] - trip > 4 * H
    left = pir_rows([sticky[0], (trip - M, k.EV_BED, 0, k.ROOM_BED, 0), sticky[1]])
    got = run_kernel(config, left, 1)
    assert got == run_reference(config, left, 1)
    assert [(row[1], row[2], row[3]) for row in got if row[1] != k.K_NIGHT_ABSENCE] == [
        (k.K_BATHROOM, trip, trip + int(config.bath_limit_s * 1000))
    ]


def test_a_moment_in_the_bedroom_in_the_evening_is_no_nights_sleep() -> None:
    """At 20:30 (night hours from 20:00) a minute in the bedroom, then the living room: the rest that
    began in the bedroom lasted less than ``trip_rest_s``, so that is no trip from bed but an evening
    silence outside the bedroom, due that evening (with ``trip_rest_s=0``, as before, it waited for the
    morning). After a night's rest, the kitchen at 01:00 is a trip from bed; the bathroom always is."""
    config = HomeConfig()
    day = 10 * DAY
    base = _nights(10) + [(day + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(40)]
    before = dataclasses.replace(config, trip_rest_s=0.0)
    cases = [
        ([(20.5, k.ROOM_BED), (20.55, k.ROOM_OTHER)], config, k.CTX_ACTIVE, k.K_INACTIVITY),
        ([(20.5, k.ROOM_BED), (20.55, k.ROOM_OTHER)], before, k.CTX_REST, k.K_NOT_UP),
        ([(20.5, k.ROOM_BED), (20.55, k.ROOM_BATH)], config, k.CTX_REST, k.K_NOT_UP),
        ([(22.0, k.ROOM_BED), (25.0, k.ROOM_OTHER)], config, k.CTX_REST, k.K_NOT_UP),
    ]
    for moves, cfg, ctx, kind in cases:
        rows = base + [(day + int(at * H), k.EV_ACTIVITY, 1, room, 0) for at, room in moves]
        data = pir_rows(rows)
        kernels = Kernels.new(cfg)
        kernels.process(data)
        assert (int(kernels.si[0, k.S_CTX]), int(kernels.si[0, k.S_DKIND])) == (ctx, kind), moves
        assert run_kernel(cfg, data, 1) == run_reference(cfg, data, 1)
    rows = base + [(day + int(at * H), k.EV_ACTIVITY, 1, room, 0) for at, room in cases[0][0]]
    got = run_kernel(config, pir_rows(rows), 1)
    stop = day + int(20.55 * H)
    assert [(row[1], row[2]) for row in got] == [(k.K_INACTIVITY, stop)]
    assert config.evening_floor_s * 1000 <= got[0][3] - stop <= config.evening_max_s * 1000


def test_a_thin_context_is_judged_no_shorter_than_the_active_row() -> None:
    """The bedroom by day around 13:00 was seen too seldom (fewer than ``thin_factor × rate × days``
    samples) to show that any silence there is unusual: its limit is no shorter than the active row's,
    where three-hour silences are usual. With enough bedroom samples, or ``thin_factor=0``, its own."""
    config = HomeConfig()
    log_ratio = np.log(config.hist_max_s / config.sample_min_s) / config.hist_bins
    b_long, b_short = (int(np.log(s / config.sample_min_s) / log_ratio) for s in (3 * 3600, 15 * 60))
    kernels = Kernels.new(config)
    hist, params = kernels.hist, kernels.params
    hist[0, 0, 8:20, b_long] = 10.0
    hist[0, k.PRESENCE_ROW, :, 0] = 10.0
    t0 = DAY + 13 * H
    args = (config.active_fixed_s, config.active_floor_s, config.active_ceil_s, 10.0)
    active = k.span_deadline(hist, 0, 0, t0, 0, *args, params)
    assert active - t0 >= config.margin * 3 * 3600 * 1000
    assert k.span_deadline(hist, 0, 3, t0, 0, *args, params) == active
    off = dataclasses.replace(config, thin_factor=0.0).params()
    floor_ms = int(config.active_floor_s * 1000)
    assert k.span_deadline(hist, 0, 3, t0, 0, *args, off) == t0 + floor_ms
    hist[0, 3, 12:15, b_short] = 2.0  # seen there every few days, always briefly: its own limit
    assert k.pooled_count(hist, 0, 3, 13, params) >= config.thin_factor * config.rate * 10.0
    assert k.span_deadline(hist, 0, 3, t0, 0, *args, params) == t0 + floor_ms


def test_a_nap_in_the_first_days_has_the_early_prior_and_back_to_bed_at_dawn_does_not() -> None:
    """Before the routine is learned, lying down on the bed pad at 14:00 is a nap: due by the first
    days' prior (about 4 h), not the ten hours of a night's rest. Back on the pad at 06:10 from the
    toilet, before the early edge of the population's wake-up (08:30), a late sleeper is still
    asleep: no alert at 10:10, "not up" at the population's 11:00."""
    config = HomeConfig()
    day = [(DAY + 8 * H + m * 5 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER) for m in range(72)]  # 08:00–13:55
    nap = [*day, (DAY + 14 * H, k.EV_BED, 1, k.ROOM_BED)]
    dawn = [
        (DAY - H, k.EV_BED, 1, k.ROOM_BED),  # to bed at 23:00
        (DAY + 6 * H, k.EV_BED, 0, k.ROOM_BED),
        (DAY + 6 * H + 2 * M, k.EV_ACTIVITY, 1, k.ROOM_BATH),  # the flush
        (DAY + 6 * H + 10 * M, k.EV_BED, 1, k.ROOM_BED),
    ]
    found = []
    for rows in (nap, dawn):
        data = events(rows)
        data = dataclasses.replace(data, pir=data.pir * 0)
        kernels = Kernels.new(config)
        kernels.process(data)
        si = kernels.si[0]
        found.append(
            (int(si[k.S_CTX]), int(si[k.S_THR]), int(si[k.S_LEARNED]), int(si[k.S_DKIND]), int(si[k.S_DEADLINE]))
        )
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)
    (nap_ctx, nap_thr, nap_basis, nap_kind, _), (dawn_ctx, _, dawn_basis, dawn_kind, dawn_due) = found
    assert nap_ctx == k.CTX_REST and 3.5 * 3600 < nap_thr <= config.early_prior_s and nap_basis == k.B_FIXED
    assert nap_kind == k.K_INACTIVITY
    # tonight's rest goes on: "not up" at the population's minute (11:00), not inactivity ten hours on
    assert (dawn_ctx, dawn_kind, dawn_basis) == (k.CTX_REST, k.K_NOT_UP, k.B_FIXED)
    assert dawn_due == DAY + config.wake_default_min * M


def test_the_first_days_prior_is_shorter_in_the_morning_than_after_lunch() -> None:
    """Nothing learned yet: a silence that starts at 09:00 is due by ``early_morning_s`` (mornings are
    busy), one that starts at 14:00 by ``early_prior_s`` (the nap after lunch)."""
    config = HomeConfig()
    limits = []
    for start_h in (9, 14):
        rows = [(DAY + 8 * H + m * 5 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER) for m in range((start_h - 8) * 12 + 1)]
        data = events(rows)
        data = dataclasses.replace(data, pir=data.pir * 0)
        kernels = Kernels.new(config)
        kernels.process(data)
        limits.append(int(kernels.si[0, k.S_THR]))
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)
    morning, afternoon = limits
    assert 2.9 * 3600 < morning <= config.early_morning_s < afternoon <= config.early_prior_s


def test_to_bed_after_an_evening_in_the_armchair_the_night_begins_in_bed() -> None:
    """First night, no bed trace known: the seat pad at 23:00 is taken for rest, but going to bed at
    02:50 starts the night's sleep there, so "not up" waits for a night of ``prior_sleep_s`` from 02:50,
    not from the armchair (a late sleeper up at 11:05 is not alerted at 11:00)."""
    config = HomeConfig()
    rows = [
        (DAY - H, k.EV_SEAT, 1, k.ROOM_OTHER),  # 23:00, the armchair
        (DAY + 2 * H + 36 * M, k.EV_SEAT, 0, k.ROOM_OTHER),
        (DAY + 2 * H + 40 * M, k.EV_ACTIVITY, 1, k.ROOM_BATH),  # the flush
        (DAY + 2 * H + 50 * M, k.EV_BED, 1, k.ROOM_BED),
    ]
    data = events(rows)
    data = dataclasses.replace(data, pir=data.pir * 0)
    kernels = Kernels.new(config)
    kernels.process(data)
    bed = DAY + 2 * H + 50 * M
    assert kernels.si[0, k.S_REST_SINCE] == bed and kernels.si[0, k.S_DKIND] == k.K_NOT_UP
    assert kernels.si[0, k.S_DEADLINE] == bed + int(config.prior_sleep_s * 1000)
    assert run_kernel(config, data, 1) == run_reference(config, data, 1)


def _tv_evenings(days: int, sit_h: float) -> list[tuple[int, int, int, int, int]]:
    """Days of a resident whose armchair only its seat pad sees: the kitchen every 20 min 07:00–19:00,
    the armchair from 19:05 for ``sit_h`` hours without getting up, then the kitchen and bed at 23:40."""
    rows = []
    for d in range(days):
        day = d * DAY
        rows += [(day + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(37)]
        sit = day + 19 * H + 5 * M
        rows += [(sit, k.EV_SEAT, 1, k.ROOM_OTHER, 0), (sit + int(sit_h * H), k.EV_SEAT, 0, k.ROOM_OTHER, 0)]
        rows.append((sit + int(sit_h * H) + M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1))
        rows += [
            (day + 23 * H + 40 * M, k.EV_BED, 1, k.ROOM_BED, 0),
            (day + DAY + 6 * H + 50 * M, k.EV_BED, 0, k.ROOM_BED, 0),
        ]
    return rows


def test_a_home_with_long_tv_evenings_in_the_armchair_is_allowed_its_learned_seated_evening() -> None:
    """Every evening 3 h 40 on the seat pad without getting up (an armchair no motion sensor sees):
    once learned, such an evening is due at this home's seated limit, up to ``evening_seat_max_s``
    (4 h 30), not at ``evening_max_s`` (3 h), which alerted every evening; in the first days the
    same from the second evening (``margin ×`` the longest seated silence seen around that hour). A stop
    in the armchair is then found 4 h 30 after sitting down; with short evenings it is still 3 h at
    most (the rule is the home's own)."""
    config = HomeConfig()
    capped = dataclasses.replace(config, evening_seat_max_s=0.0)
    rows = _tv_evenings(14, 3 + 40 / 60)
    stop = 14 * DAY + 19 * H + 5 * M
    rows += [(14 * DAY + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(37)]
    rows.append((stop, k.EV_SEAT, 1, k.ROOM_OTHER, 0))  # sits down and moves no more
    data = pir_rows(sorted(rows))
    learned = config.learn_days * DAY
    for cfg, evening_s in ((config, config.evening_seat_max_s), (capped, config.evening_max_s)):
        got = run_kernel(cfg, data, 1)
        assert got == run_reference(cfg, data, 1)
        got = [row for row in got if row[1] != k.K_MOVING]  # the alerts, not the notices on them
        ordinary = [row for row in got if learned + DAY <= row[2] < stop]
        assert (ordinary == []) is (cfg is config)  # the capped rule alerts on the long evenings
        # in the first days, from the second evening: margin × the longest seated silence seen so far
        first_days = [row[3] - row[2] for row in got if DAY <= row[2] < learned]
        assert first_days == [] if cfg is config else set(first_days) == {int(config.evening_max_s * 1000)}
        assert [(row[1], row[3] - row[2]) for row in got if row[2] == stop] == [(k.K_INACTIVITY, int(evening_s * 1000))]
    # the pad still "occupied" after the resident was seen in the bathroom (stale): a stop in the kitchen
    # then is judged as seated, but gets no more than evening_max_s (the allowance is for someone on it)
    sat = [row for row in rows if row[0] < stop] + [(stop, k.EV_SEAT, 1, k.ROOM_OTHER, 0)]
    sat += [(stop + 25 * M, k.EV_ACTIVITY, 1, k.ROOM_BATH, 1), (stop + 30 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)]
    got = run_kernel(config, pir_rows(sorted(sat)), 1)
    assert got == run_reference(config, pir_rows(sorted(sat)), 1)
    assert [(row[6], row[3] - row[2]) for row in got if row[2] == stop + 30 * M] == [
        (k.CTX_SEATED, int(config.evening_max_s * 1000))
    ]
    # short evenings (1 h 30 in the armchair): the learned seated limit is short, the 3 h cap holds
    short = _tv_evenings(14, 1.5) + [(stop - 12 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(37)]
    got = run_kernel(config, pir_rows(sorted([*short, (stop, k.EV_SEAT, 1, k.ROOM_OTHER, 0)])), 1)
    due = [row[3] - row[2] for row in got if row[2] == stop]
    assert len(due) == 1 and due[0] <= config.evening_max_s * 1000


def test_a_silence_that_begins_before_the_evening_is_bounded_as_an_evening_one() -> None:
    """A resident whose evenings no sensor sees (the kitchen until 18:40, nothing until the bedroom at
    23:30) stops moving in the kitchen at 18:40: its learned hours would let the silence run to the
    active ceiling (6 h), but in the evening it is an evening silence, due at most ``evening_max_s``
    after the evening began (22:00, ``W_EVENING_MAX``); without the cap, at 23:00 (this home's learned
    evenings). The ordinary evenings (back in the kitchen at 21:50) raise nothing."""
    rows = []
    for d in range(12):
        day = d * DAY
        rows += [(day + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(35)]  # → 18:20
        rows.append((day + 18 * H + 40 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1))
        rows.append((day + 21 * H + 50 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1))  # back in the kitchen
        rows.append((day + 23 * H + 30 * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 1))
    stop = 12 * DAY + 18 * H + 40 * M
    rows += [(12 * DAY + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(35)]
    rows.append((stop, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1))
    data = pir_rows(sorted(rows))
    config = HomeConfig()
    got = run_kernel(config, data, 1)
    assert got == run_reference(config, data, 1)
    assert [(row[1], row[2], row[3]) for row in got] == [(k.K_INACTIVITY, stop, 12 * DAY + 22 * H)]
    assert got[0][4] & k.W_EVENING_MAX
    off = dataclasses.replace(config, evening_max_s=0.0)  # no evening cap: the learned hours alone
    later = [row for row in run_kernel(off, data, 1) if row[2] == stop]
    assert later == run_reference(off, data, 1)[-1:] and later[0][3] == 12 * DAY + 23 * H


def test_a_pad_letting_go_before_anything_else_was_seen_starts_the_first_silence() -> None:
    """Monitoring began while the resident lay in bed: the pad's "free" at 09:30 is the first report of
    the home, and a fall right after getting up must still be found (it was taken for a pad that had
    never been occupied, and nothing ever alerted). Likewise a motion sensor that held "occupied" and
    clears as the home's first report. Once anything has been seen, a pad letting go that was not
    occupied stays no activity."""
    config = HomeConfig()
    up = 9 * H + 30 * M
    for first in ((up, k.EV_BED, 0, k.ROOM_BED, 0), (up, k.EV_MOTION_END, 0, k.ROOM_OTHER, 1)):
        data = pir_rows([first])
        got = run_kernel(config, data, 1)
        assert got == run_reference(config, data, 1)
        assert len(got) == 1 and got[0][2] == up and got[0][1] in (k.K_INACTIVITY, k.K_NOT_UP), first
        assert got[0][3] - up <= config.early_prior_s * 1000
    # seen in the kitchen first: the pad's "free" (it was never occupied) starts nothing
    data = events([(up - 2 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER), (up, k.EV_BED, 0, k.ROOM_BED)])
    got = run_kernel(config, data, 1)
    assert got == run_reference(config, data, 1)
    assert [row[2] for row in got] == [up - 2 * M]


def _nights_without_a_bed_pad(
    nights: int, trip: list[tuple[int, int]], last: list[tuple[int, int]] | None = None
) -> list[tuple[int, int, int, int, int]]:
    """``nights`` nights of a home with contact sensors only (no bed pad): the kitchen by day, to bed
    through the bedroom door at 22:30, each night ``trip`` (``(ms after 02:00, room)`` contacts) and out
    through the bedroom door at 06:50; with ``last``, one more day and night whose trip is ``last``."""
    rows = []
    for d in range(nights + (last is not None)):
        day = d * DAY
        rows += [(day + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 0) for i in range(46)]  # → 22:00
        rows.append((day + 22 * H + 30 * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 0))  # the bedroom door
        tonight = trip if d < nights else last or []
        rows += [(day + DAY + 2 * H + at, k.EV_ACTIVITY, 1, room, 0) for at, room in tonight]
        if d < nights:
            rows.append((day + DAY + 6 * H + 50 * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 0))  # up: out through it
    return rows


def _night_absences(config: HomeConfig, rows: list[tuple[int, int, int, int, int]]) -> list[tuple[int, int]]:
    data = pir_rows(sorted(rows))
    got = run_kernel(config, data, 1)
    assert got == run_reference(config, data, 1)
    return [(row[2], row[3]) for row in got if row[1] == k.K_NIGHT_ABSENCE]


BACK_TO_BED = [
    (0, k.ROOM_BED),  # the bedroom door, reported twice as it swings
    (2_000, k.ROOM_BED),
    (M, k.ROOM_BATH),  # the toilet door, the flush, the toilet door
    (5 * M, k.ROOM_BATH),
    (6 * M, k.ROOM_BATH),
    (7 * M, k.ROOM_BED),  # back through the bedroom door
    (7 * M + 2_000, k.ROOM_BATH),  # the toilet door swinging shut behind them, reported late
]


def test_a_night_trip_no_pad_announced_is_watched_where_trips_come_back_to_bed() -> None:
    """Without a bed pad nothing armed the night-absence timer: a fall on the way back from the toilet at
    02:05 was found by NOT_UP in the morning. Now leaving the bedroom after a quiet spell there (through
    its door, or seen elsewhere) starts the timer, as a pad letting go would, in a home whose trips come
    back to the bedroom in time (``trip_watch_n`` of them, faded, and at most ``trip_watch_share`` not):
    the flush is the last sign and the alert comes ``absence_s`` after it. The door swinging shut just
    after the return starts no trip. Before the home has shown its trips come back, nothing alerts."""
    config = HomeConfig()
    limit = int(config.absence_s * 1000)
    assert _night_absences(config, _nights_without_a_bed_pad(10, BACK_TO_BED)) == []
    night = 11 * DAY + 2 * H  # the last night's 02:00
    fall = _nights_without_a_bed_pad(10, BACK_TO_BED, last=BACK_TO_BED[:4])  # the flush, then nothing
    assert _night_absences(config, fall) == [(night + 5 * M, night + 5 * M + limit)]
    # through the bedroom door and no further (fallen in the hall): from the door's last report
    hall = _nights_without_a_bed_pad(10, BACK_TO_BED, last=BACK_TO_BED[:2])
    assert _night_absences(config, hall) == [(night + 2_000, night + 2_000 + limit)]
    # the first nights: not yet shown that trips come back, so no alert (found in the morning as before)
    assert _night_absences(config, _nights_without_a_bed_pad(2, BACK_TO_BED, last=BACK_TO_BED[:4])) == []
    assert _night_absences(dataclasses.replace(config, trip_watch_n=0.0), fall) == []  # off


def test_a_home_whose_night_trips_do_not_come_back_in_time_is_not_watched() -> None:
    """A resident who spends sleepless hours in a room no sensor sees (out through the bedroom door, back
    an hour and a half later) would raise a night absence every such night: the timers run out, the
    home is not watched, and a trip that does not come back raises nothing (NOT_UP in the morning)."""
    config = HomeConfig()
    sleepless = [(0, k.ROOM_BED), (M, k.ROOM_OTHER), (100 * M, k.ROOM_BED)]
    assert _night_absences(config, _nights_without_a_bed_pad(10, sleepless, last=sleepless[:2])) == []


def test_dozing_off_in_the_armchair_past_the_usual_bed_time_is_a_rest() -> None:
    """Ten nights in bed at 22:00 on a bed pad (nights that leave a trace), then one evening in the
    armchair instead: sat down at 23:30, past the time the resident is usually in bed (the learned
    bed times' ``bed_q`` quantile + ``bed_margin_min``: 23:00), and nothing more. A doze on the couch:
    the silence is a rest, told by "not up" in the morning, not a seated inactivity at 01:30. Sat down
    at 22:30, before that line, it is seated as before."""
    config = HomeConfig()

    def evening(sit_h: float) -> list[tuple[int, int, int, int, int]]:
        rows = []
        for d in range(10):
            day = d * DAY
            rows += [(day + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(45)]
            rows += [(day + 22 * H, k.EV_BED, 1, k.ROOM_BED, 0), (day + DAY + 7 * H - M, k.EV_BED, 0, k.ROOM_BED, 0)]
        rows += [(10 * DAY + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(45)]
        return [*rows, (10 * DAY + int(sit_h * H), k.EV_SEAT, 1, k.ROOM_OTHER, 0)]

    for sit_h, ctx, kind in ((23.5, k.CTX_REST, k.K_NOT_UP), (22.5, k.CTX_SEATED, k.K_INACTIVITY)):
        data = pir_rows(evening(sit_h))
        got = run_kernel(config, data, 1)
        assert got == run_reference(config, data, 1)
        sat = 10 * DAY + int(sit_h * H)
        assert [(row[1], row[6]) for row in got if row[2] == sat] == [(kind, ctx)], (sit_h, got[-3:])


def test_the_first_activity_after_an_alert_is_a_moving_again_notice_naming_it() -> None:
    """A first-day silence from 09:00 alerts (the population prior); the bathroom at 15:00 is a
    ``K_MOVING`` row naming that alert (its kind and start) with when and where the resident moved
    again; the kitchen at 15:05 tells nothing more. A home not monitored raised nothing and tells
    nothing; nor does a silence that did not alert."""
    config = HomeConfig()
    start, moved = 9 * H, 15 * H
    rows = [(start, k.EV_ACTIVITY, 1, k.ROOM_OTHER), (moved, k.EV_ACTIVITY, 1, k.ROOM_BATH)]
    rows.append((moved + 5 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER))
    data = events(rows)
    got = run_kernel(config, data, 1)
    assert got == run_reference(config, data, 1)
    alerts = [row for row in got if row[1] != k.K_MOVING]  # (then the last silence's, from 15:05)
    assert [(row[1], row[2]) for row in alerts] == [(k.K_INACTIVITY, start), (k.K_INACTIVITY, moved + 5 * M)]
    assert alerts[0][3] < moved
    notices = [row for row in got if row[1] == k.K_MOVING]
    assert notices == [(0, k.K_MOVING, start, moved, k.K_INACTIVITY, (moved - start) / 1000.0, k.ROOM_BATH)]
    unmonitored = np.zeros(1, dtype=np.uint8)
    assert run_kernel(config, data, 1, unmonitored) == run_reference(config, data, 1, unmonitored) == []
    busy = events([(start + i * 30 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER) for i in range(13)])
    assert [row[1] for row in run_kernel(config, busy, 1)] == [k.K_INACTIVITY]  # the last silence's only


def test_moving_again_after_a_night_absence_names_the_absence() -> None:
    """Out of bed at 02:00, the kitchen at 02:01, then nothing: NIGHT_ABSENCE an hour later; the
    kitchen again at 04:00 is a notice naming it (its start, the kitchen at 02:01)."""
    config = HomeConfig()
    t_bed, leave = 10 * DAY - 2 * H, 10 * DAY + 2 * H
    back = 10 * DAY + 4 * H
    rows = [(t_bed, k.EV_BED, 1, k.ROOM_BED), (leave, k.EV_BED, 0, k.ROOM_BED)]
    rows += [(leave + M, k.EV_ACTIVITY, 1, k.ROOM_OTHER), (back, k.EV_ACTIVITY, 1, k.ROOM_OTHER)]
    data = events(rows)
    got = run_kernel(config, data, 1)
    assert got == run_reference(config, data, 1)
    assert next((row[1], row[2]) for row in got if row[1] != k.K_MOVING) == (k.K_NIGHT_ABSENCE, leave + M)
    notices = [row[2:5] + row[6:] for row in got if row[1] == k.K_MOVING]
    assert notices == [(leave + M, back, k.K_NIGHT_ABSENCE, k.ROOM_OTHER)]


def _door_passage(t: int) -> list[tuple[int, int, int, int, int]]:
    return [(t, k.EV_DOOR, 1, k.ROOM_OTHER, 0), (t + 10_000, k.EV_DOOR, 0, k.ROOM_OTHER, 0)]


def test_back_through_the_entrance_door_soon_after_going_out_may_be_back_in() -> None:
    """Out through the entrance door at 10:00 and through it again at 10:10, then nothing: back from the
    bins and collapsed in the hall, or out again. Taken for out, it was never due. Now it is due once this
    resident's outings would be over (``margin ×`` the longest, a 3-hour one here, at least
    ``arrival_limit_s``), or in the first days at the population's ``back_soon_prior_s``; turning back
    for the keys (in and out again within minutes) is out, and the outing that follows raises nothing."""
    config = HomeConfig()
    went, came = 3 * DAY + 12 * H + 5 * M, 3 * DAY + 15 * H + 5 * M  # an outing of 3 hours, learned
    rows = [row for row in _nights(9) if not went < row[0] < came] + _door_passage(went) + _door_passage(came)
    day = 9 * DAY
    morning = [(day + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(9)]
    back = day + 10 * H + 10 * M
    trip = [*rows, *morning, *_door_passage(day + 10 * H), *_door_passage(back)]
    keys = [*trip, *_door_passage(back + 2 * M), *_door_passage(day + 15 * H)]  # out again until 15:00
    early = [*_nights(1), *[(DAY + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(9)]]
    early += _door_passage(DAY + 10 * H) + _door_passage(DAY + 10 * H + 10 * M)  # the second day
    due_learned = int(config.margin * 3 * H * config.decay**6)  # (faded over the six days since)
    for rows_, start, limit_ms in (
        (trip, back + 10_000, due_learned),
        (sorted(early), DAY + 10 * H + 10 * M + 10_000, int(config.back_soon_prior_s * 1000)),
    ):
        data = pir_rows(sorted(rows_))
        got = [row for row in run_kernel(config, data, 1) if row[2] >= start - 10 * M]
        assert got == [row for row in run_reference(config, data, 1) if row[2] >= start - 10 * M]
        assert [(row[2], row[6]) for row in got] == [(start, k.CTX_AWAY)]
        assert got[0][3] - got[0][2] == pytest.approx(limit_ms, rel=0.002)  # (fading counts whole ms)
        assert got[0][4] & k.W_BACK_SOON
        old = dataclasses.replace(config, back_soon_ceil_s=0.0)
        assert not [row for row in run_kernel(old, data, 1) if row[2] >= start - 10 * M]  # never, before
    data = pir_rows(sorted(keys))
    got = [row for row in run_kernel(config, data, 1) if day + 10 * H <= row[2] < day + 15 * H]
    assert got == [row for row in run_reference(config, data, 1) if day + 10 * H <= row[2] < day + 15 * H] == []


def test_the_bedroom_early_in_the_evening_while_the_seat_pad_has_not_let_go_may_be_a_sitting() -> None:
    """Nights from 22:00 (their early edge 21:00). In the armchair at 19:00 with its pad holding
    "occupied" (sticky), the kitchen at 19:30, the bedroom at 20:10 and nothing more: back in the chair
    would not show, so the silence is seated (an evening one, due within ``evening_max_s``), not going to
    bed at 20:10 (found in the morning). From the nights' early edge on, or after a pad that let go, the
    bedroom at night is rest."""
    config = HomeConfig()
    day = 8 * DAY
    rows = _nights(8) + [(day + 7 * H + i * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for i in range(35)]
    rows += [(day + 19 * H, k.EV_SEAT, 1, k.ROOM_OTHER, 0), (day + 19 * H + 30 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)]
    let_go = (day + 19 * H + 29 * M, k.EV_SEAT, 0, k.ROOM_OTHER, 0)
    early, late = day + 20 * H + 10 * M, day + 21 * H + 30 * M
    for rows_, bedroom, ctx in (
        (rows, early, k.CTX_SEATED),
        (rows, late, k.CTX_REST),
        ([*rows, let_go], early, k.CTX_REST),
    ):
        data = pir_rows(sorted([*rows_, (bedroom, k.EV_ACTIVITY, 1, k.ROOM_BED, 1)]))
        got = [row for row in run_kernel(config, data, 1) if row[2] >= bedroom]
        assert got == [row for row in run_reference(config, data, 1) if row[2] >= bedroom]
        assert [(row[2], row[6]) for row in got] == [(bedroom, ctx)]
        if ctx == k.CTX_SEATED:
            assert got[0][3] - got[0][2] <= config.evening_max_s * 1000
