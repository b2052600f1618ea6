"""Residents whose habits the defaults were not chosen for: an early sleeper, in bed before the night
hours (``night_start_h``) begin; a night owl, up after noon. The kernels still agree with their
reference twin."""

from __future__ import annotations

from lab.homes.bench import run_kernel, run_reference
from stream.home import HomeConfig
from stream.kernels import home as k
from tests.stream.home_kernel_cases import DAY, H, Kernels, M, pir_rows


def _early_days(days: int) -> list[tuple[int, int, int, int, int]]:
    """Days 1..``days``: up at 05:00 (bedroom motion, then the kitchen every half hour until 19:00),
    to bed at 19:30 (bedroom motion), asleep until the next 05:00."""
    rows = []
    for d in range(1, days + 1):
        rows.append((d * DAY + 5 * H, k.EV_ACTIVITY, 1, k.ROOM_BED, 1))
        rows += [(d * DAY + 5 * H + m * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for m in range(10, 14 * 60 + 1, 30)]
        rows.append((d * DAY + 19 * H + 30 * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 1))
    return rows


def test_an_early_sleeper_in_bed_at_19_30_is_asleep_not_in_the_bedroom_by_day() -> None:
    """Bed at 19:30, before the night hours: once one such night is seen, a silence that starts in the
    bedroom at 19:35 is tonight's rest (NOT_UP in the morning), not the bedroom by day, whose ceiling
    alerted six hours into every night. Before any night is seen it is so from ``evening_start_h``
    (19:00; the first evening); with ``early_nights`` off it is the bedroom by day, and a silence at
    17:00 always is."""
    config = HomeConfig()

    def after(rows: list[tuple[int, int, int, int, int]], cfg: HomeConfig = config) -> tuple[int, int]:
        kernels = Kernels.new(cfg)
        kernels.process(pir_rows(rows))
        return int(kernels.si[0, k.S_CTX]), int(kernels.si[0, k.S_DKIND])

    week = _early_days(6)
    kernels = Kernels.new(config)
    kernels.process(pir_rows(week))
    assert kernels.si[0, k.S_NBED] == 5 and set(kernels.wake[0, 14:19].tolist()) == {450}  # 19:30 after noon
    assert kernels.si[0, k.S_NIGHTS_TRACED] > 0 == kernels.si[0, k.S_NIGHTS_UNTRACED]
    day7 = [*week, *((7 * DAY + 5 * H + m * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for m in range(10, 11 * 60, 30))]
    bed = (7 * DAY + 19 * H + 35 * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 1)
    assert after([*day7, bed]) == (k.CTX_REST, k.K_NOT_UP)
    assert after([*day7, bed], HomeConfig(early_nights=False)) == (k.CTX_BEDROOM, k.K_INACTIVITY)
    assert after([(DAY + 19 * H + 35 * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 1)]) == (k.CTX_REST, k.K_NOT_UP)
    assert after([*day7, (7 * DAY + 17 * H, k.EV_ACTIVITY, 1, k.ROOM_BED, 1)]) == (k.CTX_BEDROOM, k.K_INACTIVITY)
    for data in (pir_rows(week), pir_rows([*day7, bed])):
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)
        off = HomeConfig(early_nights=False)
        assert run_kernel(off, data, 1) == run_reference(off, data, 1)


def test_an_early_risers_kitchen_after_the_usual_wake_up_is_getting_up_not_a_trip_from_bed() -> None:
    """Up at 05:00 every day (its "not up" minute 07:00, the early edge of its wake-ups 04:30): the
    kitchen at 04:55 is the day begun, a silence judged as one (INACTIVITY), not a trip from bed
    after which "not up" waited (it alerted two hours later, the resident sitting quietly after
    breakfast); the kitchen at 03:30 is still a trip from bed."""
    config = HomeConfig()
    week = _early_days(6)
    got = {}
    for minute in (3 * 60 + 30, 4 * 60 + 55):
        data = pir_rows([*week, (7 * DAY + minute * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1)])
        kernels = Kernels.new(config)
        kernels.process(data)
        got[minute] = (int(kernels.si[0, k.S_CTX]), int(kernels.si[0, k.S_DKIND]))
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)
    assert got == {210: (k.CTX_REST, k.K_NOT_UP), 295: (k.CTX_ACTIVE, k.K_INACTIVITY)}


def _first_day_until(minute: int) -> list[tuple[int, int, int, int, int]]:
    """The home's first day: the kitchen every 20 min from 07:00 until half an hour before ``minute``."""
    return [(DAY + 7 * H + m * 20 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for m in range((minute - 7 * 60 - 30) // 20)]


def test_in_bed_on_the_pad_at_19_10_on_the_first_evening_is_the_night_not_a_nap() -> None:
    """No bed time known yet (the home's first evening): lying down on the bed pad at 19:10, or at 18:30
    (an early sleeper), from ``bed_floor_min``, is the night's sleep ("not up" in the morning), not a
    nap due by the first days' prior four hours later, in the night; at 16:30 it is still a nap, and
    with ``early_nights`` off the evening's too."""
    config = HomeConfig()
    got = {}
    for name, cfg, minute in (
        ("19:10", config, 19 * 60 + 10),
        ("18:30", config, 18 * 60 + 30),
        ("16:30", config, 16 * 60 + 30),
        ("off", HomeConfig(early_nights=False), 19 * 60 + 10),
    ):
        data = pir_rows([*_first_day_until(minute), (DAY + minute * M, k.EV_BED, 1, k.ROOM_BED, 0)])
        kernels = Kernels.new(cfg)
        kernels.process(data)
        got[name] = (int(kernels.si[0, k.S_CTX]), int(kernels.si[0, k.S_DKIND]))
        assert run_kernel(cfg, data, 1) == run_reference(cfg, data, 1)
    nap, night = (k.CTX_REST, k.K_INACTIVITY), (k.CTX_REST, k.K_NOT_UP)
    assert got == {"19:10": night, "18:30": night, "16:30": nap, "off": nap}


def test_the_bedroom_at_19_10_on_the_first_evening_is_the_night() -> None:
    """No bed time known yet and no bed pad: motion in the bedroom at 19:10 (or 18:30), then nothing, is
    an early sleeper gone to bed ("not up" in the morning), not a silence in the bedroom due by the
    first days' prior at 23:00; at 16:30, before ``bed_floor_min``, it is still the bedroom's silence."""
    config = HomeConfig()
    got = {}
    for minute in (19 * 60 + 10, 18 * 60 + 30, 16 * 60 + 30):
        data = pir_rows([*_first_day_until(minute), (DAY + minute * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 1)])
        kernels = Kernels.new(config)
        kernels.process(data)
        got[minute] = (int(kernels.si[0, k.S_CTX]), int(kernels.si[0, k.S_DKIND]))
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)
    night = (k.CTX_REST, k.K_NOT_UP)
    assert got == {19 * 60 + 10: night, 18 * 60 + 30: night, 16 * 60 + 30: (k.CTX_BEDROOM, k.K_INACTIVITY)}


def _dawn_days(days: int, pad: bool = False) -> list[tuple[int, int, int, int, int]]:
    """Days 1..``days`` of a very early sleeper: up at 03:30, the kitchen every half hour until 17:00, to
    bed at 17:30, asleep until 03:30; in and out of bed told by the bedroom door, or by the bed pad
    (``pad``)."""

    def bed(t: int, into: bool) -> tuple[int, int, int, int, int]:
        return (t, k.EV_BED, int(into), k.ROOM_BED, 0) if pad else (t, k.EV_ACTIVITY, 1, k.ROOM_BED, 0)

    rows = []
    for d in range(1, days + 1):
        rows.append(bed(d * DAY + 3 * H + 30 * M, False))
        rows += [(d * DAY + 3 * H + m * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for m in range(40, 14 * 60 + 1, 30)]
        rows.append(bed(d * DAY + 17 * H + 30 * M, True))
    return rows


def test_a_whole_night_from_17_30_to_03_30_is_learned_and_kept_as_the_night() -> None:
    """In bed at 17:30 and up at 03:30, ten hours later: a night too early at both ends for the
    evening hours (from 19:00) and the wake-up window (from 04:00). A silence that long
    (``full_night_s``) is a whole night's sleep: from ``bed_floor_min`` (17:00) and to
    ``wake_early_lo_min`` (03:00) its bed time and wake-up are learned, whether the bedroom door or
    the bed pad told of it, and tonight's 17:35 in bed is the night ("not up" in the morning), not
    the bedroom by day or a nap, whose ceilings alerted five to ten hours into every night. With the
    earlier bounds nothing is learned; a five-hour sleep that ends at 03:30 (a trip from bed) is no
    wake-up."""
    old = HomeConfig(wake_early_lo_min=4 * 60, bed_floor_min=18 * 60)
    got = {}
    for pad in (False, True):
        rows = [row for row in _dawn_days(7, pad) if row[0] < 7 * DAY + 17 * H]
        tonight = _dawn_days(1, pad)[-1]
        tonight = (7 * DAY + 17 * H + 35 * M, *tonight[1:])
        for name, cfg in (("default", HomeConfig()), ("old", old)):
            data = pir_rows([*rows, tonight])
            kernels = Kernels.new(cfg)
            kernels.process(data)
            si = kernels.si[0]
            got[pad, name] = (int(si[k.S_NBED]), int(si[k.S_CTX]), int(si[k.S_DKIND]))
            assert run_kernel(cfg, data, 1) == run_reference(cfg, data, 1)
            if name == "default":
                assert set(kernels.wake[0, :6].tolist()) == {210} and set(kernels.wake[0, 14:20].tolist()) == {330}
    night = (6, k.CTX_REST, k.K_NOT_UP)
    assert got == {
        (False, "default"): night,
        (False, "old"): (0, k.CTX_BEDROOM, k.K_INACTIVITY),
        (True, "default"): night,
        (True, "old"): (0, k.CTX_REST, k.K_INACTIVITY),
    }
    trip = [
        (DAY + (22 * 60 + 30) * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 0),
        (DAY + (27 * 60 + 30) * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 0),
    ]
    kernels = Kernels.new(HomeConfig())
    kernels.process(pir_rows(trip))
    assert kernels.si[0, k.S_NWAKE] == 0


def test_a_late_sleeper_back_in_the_bedroom_from_the_toilet_on_the_first_morning_is_still_asleep() -> None:
    """Nothing learned yet: in bed at 02:00 (bedroom motion), the toilet at 06:10, back in the bedroom at
    06:15. Tonight's rest goes on and 06:15 is before the early edge of the "not up" minute known so
    far: still the night, "not up" by the first nights' guard (bed time + ``prior_sleep_s``), not the
    bedroom by day under the first days' prior (an alert at 09:15 every such morning). Once up (the
    kitchen at 10:00), the bedroom at 10:30 is the bedroom by day."""
    config = HomeConfig()
    night = [
        (DAY + 2 * H, k.EV_ACTIVITY, 1, k.ROOM_BED, 1),
        (DAY + 6 * H + 10 * M, k.EV_ACTIVITY, 1, k.ROOM_BATH, 1),
        (DAY + 6 * H + 15 * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 1),
    ]
    up = [
        *night,
        (DAY + 10 * H, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1),
        (DAY + 10 * H + 30 * M, k.EV_ACTIVITY, 1, k.ROOM_BED, 1),
    ]
    got = []
    for rows in (night, up):
        data = pir_rows(rows)
        kernels = Kernels.new(config)
        kernels.process(data)
        si = kernels.si[0]
        got.append((int(si[k.S_CTX]), int(si[k.S_DKIND]), int(si[k.S_DEADLINE])))
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)
    assert got[0] == (k.CTX_REST, k.K_NOT_UP, DAY + 2 * H + int(config.prior_sleep_s * 1000))
    assert got[1][:2] == (k.CTX_BEDROOM, k.K_INACTIVITY)


def _owl_up_min(day: int) -> int:
    """The night owl's wake-up on ``day``: 13:00, 13:40 or 14:20 (minutes after midnight)."""
    return 13 * 60 + (day % 3) * 40


def _owl_days(days: int) -> list[tuple[int, int, int, int, int]]:
    """Days 1..``days`` of a night owl with a bed pad: up at :func:`_owl_up_min` (the pad lets go, then
    the kitchen every half hour for 13 h), in bed at 03:00."""
    rows = []
    for d in range(1, days + 1):
        up = d * DAY + _owl_up_min(d) * M
        rows.append((up, k.EV_BED, 0, k.ROOM_BED, 0))
        rows += [(up + m * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for m in range(5, 13 * 60, 30)]
        rows.append((d * DAY + DAY + 3 * H, k.EV_BED, 1, k.ROOM_BED, 0))
    return rows


def test_a_night_owl_up_after_one_is_not_up_by_its_own_hours_not_by_two_oclock() -> None:
    """A resident in bed at 03:00 and up at 13:00–14:20: once learned, "not up" is due at the late edge
    of those wake-ups plus the margin (15:50), not at a clock ceiling of 14:00, which raised it on
    every day up at 14:20; a night that goes on past 15:50 still alerts."""
    config = HomeConfig()
    data = pir_rows(_owl_days(12))
    last_bed = 13 * DAY + 3 * H
    got = run_kernel(config, data, 1)
    assert got == run_reference(config, data, 1)
    assert [row for row in got if row[1] == k.K_NOT_UP and 8 * DAY <= row[2] < last_bed] == []
    (not_up,) = [row for row in got if row[1] == k.K_NOT_UP and row[2] == last_bed]
    assert not_up[3] == 13 * DAY + 15 * H + 50 * M and not_up[4] == k.B_LEARNED
    capped = HomeConfig(wake_ceil_min=14 * 60)
    got = run_kernel(capped, data, 1)
    assert got == run_reference(capped, data, 1)
    late = [d for d in range(8, 13) if _owl_up_min(d) > 14 * 60]  # the nights from 03:00 on day d
    assert [row[2] for row in got if row[1] == k.K_NOT_UP and 8 * DAY <= row[2] < last_bed] == [
        d * DAY + 3 * H for d in late
    ]


def test_early_sleepers_of_the_synthetic_population_match_the_reference() -> None:
    """Synthetic homes with their residents' days two and three hours earlier (up at 03:00–07:00, in bed
    at 17:30–21:30): kernel and twin agree."""
    from lab.homes.synthetic import synthetic_home
    from lab.homes.variants import shifted
    from tests.stream.home_kernel_cases import kernel_input

    for seed, hours in ((3, -2), (4, -2), (5, -3), (6, -3)):
        data = kernel_input(shifted(synthetic_home("x", 14, seed)[0], hours))
        assert run_kernel(HomeConfig(), data, 1) == run_reference(HomeConfig(), data, 1)


def test_an_early_night_broken_by_a_trip_is_learned_from_its_bed_time() -> None:
    """Nights of a resident usually in bed at 21:00 (on the pad, up at 07:00); one evening in bed at
    17:30, before the early edge of those bed times (a rest by day), up at 01:00 for the toilet, a whole
    night's 7 h later, and back in bed until 07:00. The trip is a trip from bed and that night's rest
    began at 17:30: the bed time learned is 17:30, not 01:00, the trip (which left an
    early sleeper's every evening a rest by day, due hours before they woke). Up at 23:30 instead, six
    hours in, it may have been an evening nap: that night is learned from the trip, as before."""
    config = HomeConfig()
    rows = []
    for d in range(1, 8):
        rows += [(d * DAY + 7 * H, k.EV_BED, 0, k.ROOM_BED, 0)]
        until = 21 if d == 7 else 27  # the kitchen every half hour until 17:00 that day, 20:00 the others
        rows += [(d * DAY + 7 * H + m * 30 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1) for m in range(1, until)]
        bed_at = d * DAY + (17 * H + 30 * M if d == 7 else 21 * H)
        rows.append((bed_at, k.EV_BED, 1, k.ROOM_BED, 0))
    learned = {}
    for trip in (8 * DAY + 1 * H, 7 * DAY + 23 * H + 30 * M):
        night = [(trip, k.EV_BED, 0, k.ROOM_BED, 0), (trip + M, k.EV_ACTIVITY, 1, k.ROOM_BATH, 1)]
        night += [(trip + 10 * M, k.EV_BED, 1, k.ROOM_BED, 0), (8 * DAY + 7 * H, k.EV_BED, 0, k.ROOM_BED, 0)]
        night.append((8 * DAY + 7 * H + 30 * M, k.EV_ACTIVITY, 1, k.ROOM_OTHER, 1))
        data = pir_rows(rows + night)
        kernels = Kernels.new(config)
        kernels.process(data)
        assert run_kernel(config, data, 1) == run_reference(config, data, 1)
        n_bed = int(kernels.si[0, k.S_NBED])
        ring = kernels.wake.shape[1] // 2
        assert n_bed == 7
        learned[(trip % DAY) // M] = int(kernels.wake[0, ring + (n_bed - 1) % ring]) + 720  # minutes after noon
    assert learned == {60: 17 * 60 + 30, 23 * 60 + 30: 23 * 60 + 30}
