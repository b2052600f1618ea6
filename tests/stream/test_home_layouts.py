"""Homes that see little: no motion sensor in the bedroom, no bed pad, motion only over the cooker
and in the shower room (Ordóñez et al. 2013's homes). What the resident does out of the sensors'
sight must not pass for a collapse, and the kernels still agree with their reference twin."""

from __future__ import annotations

import numpy as np

from lab.homes.bench import run_kernel, run_reference
from lab.homes.reference import ReferenceHome
from stream.home import HomeConfig
from stream.kernels import home as k
from tests.stream.home_kernel_cases import DAY, H, Kernels, M, pir_rows


def test_a_night_trip_through_the_bathroom_with_no_return_seen_is_still_the_night() -> None:
    """To bed at 22:00 (the bedroom door), at 02:00 the bathroom: its motion sensor, the flush, its
    door; back to bed unseen (no bedroom motion, no bed pad). The silence after the door is tonight's
    rest (NOT_UP in the morning), not an evening silence due three hours later."""
    config = HomeConfig()
    trip = 2 * DAY + 2 * H
    rows = [
        (DAY + 22 * H, k.EV_ACTIVITY, 1, k.ROOM_BED, 0),  # the bedroom door
        (trip, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1),  # the hall
        (trip + M, k.EV_ACTIVITY, 1, k.ROOM_BATH, 1),  # bathroom motion
        (trip + 4 * M, k.EV_ACTIVITY, 1, k.ROOM_BATH, 0),  # the flush
        (trip + 5 * M, k.EV_ACTIVITY, 0, k.ROOM_BATH, 0),  # the bathroom door
    ]
    data = pir_rows(rows)
    kernels = Kernels.new(config)
    kernels.process(data)
    assert int(kernels.si[0, k.S_CTX]) == k.CTX_REST
    assert int(kernels.si[0, k.S_DKIND]) == k.K_NOT_UP
    assert int(kernels.si[0, k.S_DEADLINE]) > trip + 6 * H
    assert run_kernel(config, data, 1) == run_reference(config, data, 1)
    # at 10:00 the same sequence is no trip: the silence after the door is an ordinary one
    day = [(t + 8 * H if i else t, c, v, room, pir) for i, (t, c, v, room, pir) in enumerate(rows)]
    kernels = Kernels.new(config)
    kernels.process(pir_rows(day))
    assert int(kernels.si[0, k.S_CTX]) == k.CTX_ACTIVE


def test_a_bathroom_left_unseen_is_no_bathroom_stay_for_a_few_days() -> None:
    """Motion in the bathroom at 10:00, then nothing for 20 min until the kitchen: the resident left
    the bathroom without any sensor seeing it. From then on a silence after bathroom motion is judged
    by the active limits (INACTIVITY), not as a bathroom stay due in an hour; three days later with
    no more such exits, bathroom motion means someone in there again."""
    config = HomeConfig()
    day0 = 3 * DAY + 10 * H
    rows = [(day0, k.EV_ACTIVITY, 1, k.ROOM_BATH, 1), (day0 + 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)]

    def context_after(more: list[tuple[int, int, int, int, int]]) -> tuple[int, int]:
        kernels = Kernels.new(config)
        kernels.process(pir_rows([*rows, *more]))
        return int(kernels.si[0, k.S_CTX]), int(kernels.si[0, k.S_DKIND])

    bath = (k.EV_ACTIVITY, 1, k.ROOM_BATH, 1)
    assert context_after([]) == (k.CTX_ACTIVE, k.K_INACTIVITY)
    assert context_after([(day0 + H, *bath)]) == (k.CTX_ACTIVE, k.K_INACTIVITY)
    assert context_after([(day0 + 4 * DAY, *bath)]) == (k.CTX_BATH, k.K_BATHROOM)
    # an exit seen at once, or back to bed unseen at night, is no evidence
    seen = [(day0, k.EV_ACTIVITY, 1, k.ROOM_BATH, 1), (day0 + M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)]
    kernels = Kernels.new(config)
    kernels.process(pir_rows([*seen, (day0 + H, *bath)]))
    assert int(kernels.si[0, k.S_CTX]) == k.CTX_BATH
    night = [(t + 14 * H, c, v, room, pir) for t, c, v, room, pir in rows]  # 00:00: back to bed unseen
    kernels = Kernels.new(config)
    kernels.process(pir_rows([*night, (day0 + DAY, *bath)]))
    assert int(kernels.si[0, k.S_CTX]) == k.CTX_BATH
    data = pir_rows([*rows, (day0 + H, *bath), (day0 + 4 * DAY, *bath)])
    assert run_kernel(config, data, 1) == run_reference(config, data, 1)
    off = pir_rows([*rows, (day0 + H, *bath)])
    assert run_kernel(HomeConfig(bath_blind_n=0), off, 1) == run_reference(HomeConfig(bath_blind_n=0), off, 1)
    kernels = Kernels.new(HomeConfig(bath_blind_n=0))
    kernels.process(off)
    assert int(kernels.si[0, k.S_DKIND]) == k.K_BATHROOM


def test_motion_held_until_it_clears_is_activity_until_then_in_its_own_room_only() -> None:
    """A motion sensor that holds "occupied" while motion goes on (a retriggerable PIR, a dataset that
    logs motion as intervals: on at 10:00, off at 10:40) saw the resident until it cleared: the silence
    begins at 10:40. One clearing in a room the resident has left (the kitchen's, after the bedroom
    door) is no sign of them: the silence stays the bedroom's, from the door."""
    config = HomeConfig()
    t0 = 3 * DAY + 10 * H
    held = [(t0, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1), (t0 + 40 * M, k.EV_MOTION_END, 0, k.ROOM_OTHER, 1)]
    kernels = Kernels.new(config)
    kernels.process(pir_rows(held))
    assert int(kernels.si[0, k.S_LAST]) == t0 + 40 * M
    assert run_kernel(config, pir_rows(held), 1) == run_reference(config, pir_rows(held), 1)
    left = [
        (t0, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1),
        (t0 + M, k.EV_ACTIVITY, 1, k.ROOM_BED, 0),
        (t0 + 3 * M, k.EV_MOTION_END, 0, k.ROOM_OTHER, 1),
    ]
    kernels = Kernels.new(config)
    kernels.process(pir_rows(left))
    assert int(kernels.si[0, k.S_LAST]) == t0 + M and int(kernels.si[0, k.S_CTX]) == k.CTX_BEDROOM
    assert run_kernel(config, pir_rows(left), 1) == run_reference(config, pir_rows(left), 1)


def _untraced_days(
    days: int, trip_h: float | None = None, evening: bool = False
) -> list[tuple[int, int, int, int, int]]:
    """Days 1..``days`` of a home with nothing in the bedroom: the hall's motion sensor at 07:30, 12:00
    and 18:00 (with ``evening`` every 20 min from 18:00 to 21:40 too), the bathroom door at 22:00
    (bed, unseen), and with ``trip_h`` a trip through the hall at that hour of the night."""
    rows = []
    for d in range(1, days + 1):
        hours = [7.5, 12.0, 18.0] + ([18.0 + m / 60 for m in range(20, 240, 20)] if evening else [])
        for hour in hours:
            rows.append((d * DAY + int(hour * H), k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1))
        rows.append((d * DAY + 22 * H, k.EV_ACTIVITY, 0, k.ROOM_BATH, 0))
        if trip_h is not None:
            rows.append((d * DAY + int((24 + trip_h) * H), k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1))
    return rows


def test_a_home_whose_nights_leave_no_bedroom_trace_goes_to_bed_by_the_clock() -> None:
    """Nothing in the bedroom (privacy): every night begins with the bathroom door at 22:00 and a
    silence until 07:30. Those nights teach the home's bed times (22:00) and that its nights leave no
    trace; from then on a silence at 22:10 (the hall after the toilet) is tonight's sleep (NOT_UP in
    the morning), not an evening silence that alerted three hours later every night, while one at
    19:30 is still an evening silence, due within ``evening_max_s``. A trip through the hall at 02:00
    is a trip from bed: the night's bed time stays 22:00 (once the home is known to go to bed
    unseen). Without the rule the home learns no bed time at all."""
    config = HomeConfig()
    week = _untraced_days(6)
    kernels = Kernels.new(config)
    kernels.process(pir_rows(week))
    si = kernels.si
    assert si[0, k.S_NIGHTS_UNTRACED] > 0 == si[0, k.S_NIGHTS_TRACED]
    assert si[0, k.S_NBED] == 5 and set(kernels.wake[0, 14:19].tolist()) == {600}  # 22:00, minutes after noon

    def after(rows: list[tuple[int, int, int, int, int]], cfg: HomeConfig = config) -> tuple[int, int, int]:
        kernels = Kernels.new(cfg)
        kernels.process(pir_rows(rows))
        return int(kernels.si[0, k.S_CTX]), int(kernels.si[0, k.S_DKIND]), int(kernels.si[0, k.S_DEADLINE])

    day7 = [*week, *((7 * DAY + int(hour * H), k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for hour in (7.5, 12.0, 18.0))]
    late = 7 * DAY + 22 * H + 10 * M
    to_bed = [(late - 5 * M, k.EV_ACTIVITY, 0, k.ROOM_BATH, 0), (late, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)]
    ctx, kind, deadline = after([*day7, *to_bed])
    assert (ctx, kind) == (k.CTX_REST, k.K_NOT_UP) and deadline > 8 * DAY + 7 * H
    kernels = Kernels.new(config)
    kernels.process(pir_rows([*day7, *to_bed]))
    assert kernels.si[0, k.S_LEARNED] & k.W_UNTRACED, "the alert will say the rest was not seen in the bedroom"
    kernels = Kernels.new(config)
    kernels.process(pir_rows([*day7, (late, k.EV_ACTIVITY, 1, k.ROOM_BED, 0)]))  # the bedroom door tonight
    assert int(kernels.si[0, k.S_DKIND]) == k.K_NOT_UP and not kernels.si[0, k.S_LEARNED] & k.W_UNTRACED
    evening = 7 * DAY + 19 * H + 30 * M
    ctx, kind, deadline = after([*day7, (evening, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)])
    assert (ctx, kind) == (k.CTX_ACTIVE, k.K_INACTIVITY) and deadline <= evening + int(config.evening_max_s * 1000)
    off = HomeConfig(untraced_nights=False)
    ctx, kind, _ = after([*day7, *to_bed], off)
    assert kind == k.K_INACTIVITY
    kernels = Kernels.new(off)
    kernels.process(pir_rows(week))
    assert kernels.si[0, k.S_NBED] == 0

    # up and about past the early edge of the bed times (21:00) is no night yet: the bed time stays 22:00
    kernels = Kernels.new(config)
    kernels.process(pir_rows(_untraced_days(12, evening=True)))
    n = int(kernels.si[0, k.S_NBED])
    assert n == 11 and set(kernels.wake[0, 14 : 14 + n].tolist()) == {600}
    # the same local times at UTC+8: the same nights, and the twin agrees
    shifted = [(t - 8 * H, c, v, room, pir) for t, c, v, room, pir in [*day7, *to_bed]]
    kernels = Kernels.new(config)
    kernels.si[0, k.S_OFFSET] = 480
    n_out, out_i, out_f = kernels.process(pir_rows(shifted))
    assert int(kernels.si[0, k.S_DKIND]) == k.K_NOT_UP and set(kernels.wake[0, 14:19].tolist()) == {600}
    ref = ReferenceHome(config, 1, offset_min=480)
    data = pir_rows(shifted)
    rows = ref.process(data.res, data.ts, data.code, data.value, data.room, data.pir, np.ones(1, dtype=np.uint8))
    got = [(*map(int, out_i[j]), float(out_f[j, 0]), int(out_f[j, 1])) for j in range(n_out)]
    assert got == [tuple(row) for row in rows] and got
    trips = _untraced_days(8, trip_h=2.0)
    kernels = Kernels.new(config)
    kernels.process(pir_rows(trips))
    n = int(kernels.si[0, k.S_NBED])
    # the first night is learned from the trip on (nothing is known yet), every later one from 22:00
    assert 5 <= n < 14 and kernels.wake[0, 14 : 14 + n].tolist() == [840] + [600] * (n - 1)
    for data in (pir_rows(week), pir_rows(trips), pir_rows([*day7, *to_bed])):
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)


def test_a_home_that_goes_to_bed_from_the_toilet_is_not_in_bed_after_the_living_room() -> None:
    """Nothing in the bedroom, and every night begins with the toilet (the bathroom door at 22:00):
    a silence past the bed times' early edge that starts in the living room with no toilet before it
    is no night's sleep by the clock but an evening silence, due within ``evening_max_s`` (a collapse
    at 22:10 was found by NOT_UP the next morning); right after the toilet it is tonight's sleep. Not
    in a home that goes to bed from anywhere (the toilet before half its nights), nor with
    ``bed_bath_share`` 0; and a trip through the hall at 02:00 is still a trip from bed."""
    config = HomeConfig()
    day7 = [
        *_untraced_days(6),
        *((7 * DAY + int(hour * H), k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for hour in (7.5, 12.0, 18.0)),
    ]
    late = 7 * DAY + 22 * H + 10 * M
    living = [*day7, (late, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)]
    toilet = [*day7, (late - 5 * M, k.EV_ACTIVITY, 0, k.ROOM_BATH, 0), (late, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)]

    def after(rows: list[tuple[int, int, int, int, int]], cfg: HomeConfig = config) -> tuple[int, int, int]:
        kernels = Kernels.new(cfg)
        kernels.process(pir_rows(rows))
        assert kernels.si[0, k.S_NIGHTS_UNTRACED] > kernels.si[0, k.S_NIGHTS_TRACED]
        return int(kernels.si[0, k.S_CTX]), int(kernels.si[0, k.S_DKIND]), int(kernels.si[0, k.S_DEADLINE])

    ctx, kind, deadline = after(living)
    assert (ctx, kind) == (k.CTX_ACTIVE, k.K_INACTIVITY) and deadline <= late + int(config.evening_max_s * 1000)
    assert after(toilet)[:2] == (k.CTX_REST, k.K_NOT_UP)
    assert after(living, HomeConfig(bed_bath_share=0.0))[:2] == (k.CTX_REST, k.K_NOT_UP)
    # half the nights begin in the living room instead (the hall at 21:55, nothing after): from anywhere
    anywhere = [row for row in day7 if not (row[3] == k.ROOM_BATH and (row[0] // DAY) % 2)]
    anywhere += [(d * DAY + 21 * H + 55 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for d in range(1, 7, 2)]
    anywhere.sort()
    assert after([*anywhere, (late, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)])[:2] == (k.CTX_REST, k.K_NOT_UP)
    # to bed from the toilet at 22:00, up through the hall at 02:00: back to bed unseen, not an evening
    trip = [
        *day7,
        (7 * DAY + 22 * H, k.EV_ACTIVITY, 0, k.ROOM_BATH, 0),
        (8 * DAY + 2 * H, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1),
    ]
    assert after(trip)[:2] == (k.CTX_REST, k.K_NOT_UP)
    for rows in (living, toilet, anywhere, trip):
        assert run_kernel(config, pir_rows(rows), 1) == run_reference(config, pir_rows(rows), 1)


def test_a_synthetic_home_with_nothing_in_the_bedroom_matches_the_reference() -> None:
    """A synthetic resident in the ``bedroom_unsensed`` layout (motion in the hall, living room,
    kitchen and bathroom; no bedroom door contact, wardrobe or bed pad): the home is found to go to bed
    unseen, and kernel and twin agree, with the rule and without."""
    from lab.homes.synthetic import synthetic_home
    from tests.stream.home_kernel_cases import kernel_input

    seed = next(s for s in range(100) if synthetic_home("x", 2, s)[1].pir)
    log, profile = synthetic_home("x", 21, seed, layout="bedroom_unsensed")
    assert profile.layout == "bedroom_unsensed"
    data = kernel_input(log)
    for config in (HomeConfig(), HomeConfig(untraced_nights=False)):
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)
    kernels = Kernels.new(HomeConfig())
    kernels.process(data)
    assert kernels.si[0, k.S_NIGHTS_UNTRACED] > kernels.si[0, k.S_NIGHTS_TRACED] == 0


def test_a_bedroom_door_left_open_on_some_nights_makes_the_toilet_past_bed_time_the_night() -> None:
    """A home with a bedroom door contact whose resident leaves it open on one night in three: the
    toilet at 22:00, then the bedroom door at 22:05, or nothing until 07:30. From then on a silence
    right after the toilet at 22:10 is tonight's sleep (the toilet is the last trace of going to bed
    on such nights), not an evening silence due three hours later; one that starts in the living room
    at 22:10 is still an evening silence (most nights reach the bedroom). With ``untraced_bath_share``
    0 the toilet's silence is an evening one too."""
    config = HomeConfig()
    rows = []
    for d in range(1, 8):
        for hour in (7.5, 12.0, 18.0):
            rows.append((d * DAY + int(hour * H), k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1))
        if d < 7:
            rows.append((d * DAY + 22 * H, k.EV_ACTIVITY, 0, k.ROOM_BATH, 0))
        if d < 7 and d % 3:
            rows.append((d * DAY + 22 * H + 5 * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 0))
    late = 7 * DAY + 22 * H + 10 * M
    toilet = [*rows, (late, k.EV_ACTIVITY, 0, k.ROOM_BATH, 0)]
    living = [*rows, (late, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)]

    def after(data: list[tuple[int, int, int, int, int]], cfg: HomeConfig = config) -> tuple[int, int]:
        kernels = Kernels.new(cfg)
        kernels.process(pir_rows(data))
        assert 0 < kernels.si[0, k.S_NIGHTS_UNTRACED] < kernels.si[0, k.S_NIGHTS_TRACED]
        return int(kernels.si[0, k.S_CTX]), int(kernels.si[0, k.S_DKIND])

    assert after(toilet) == (k.CTX_REST, k.K_NOT_UP)
    assert after(living) == (k.CTX_ACTIVE, k.K_INACTIVITY)
    assert after(toilet, HomeConfig(untraced_bath_share=0.0)) == (k.CTX_ACTIVE, k.K_INACTIVITY)
    for data in (toilet, living):
        assert run_kernel(config, pir_rows(data), 1) == run_reference(config, pir_rows(data), 1)
