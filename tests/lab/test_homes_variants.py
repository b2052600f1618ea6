"""Real homes seen as other homes would see them (lab.homes.variants): fewer sensors, other clocks."""

from __future__ import annotations

import numpy as np

from lab.homes.eval import evaluate_log
from lab.homes.families import all_cuts
from lab.homes.logs import HomeEntry, HomeLog, log_of_rows
from lab.homes.replay import last_activity_ms
from lab.homes.synthetic import synthetic_home
from lab.homes.variants import (
    CLOCK_SHIFTS_H,
    PADS,
    evaluate_variants,
    pads_held,
    sensor_group,
    shifted,
    variants,
    without,
)
from stream.home import HomeConfig

H = 3_600_000


def _home() -> HomeLog:
    seed = next(s for s in range(100) if not synthetic_home("x", 2, s)[1].pir)  # contacts and pads only
    return synthetic_home("contacts", 10, seed)[0]


def test_a_sensor_group_is_a_kind_in_a_room_and_pads_alone() -> None:
    assert sensor_group("contact", "Bedroom") == "contact:bedroom"
    assert sensor_group("door", "hall") == "door:hall"
    assert sensor_group("motion", "") == "motion:?"
    assert sensor_group("bed", "bedroom") == "bed" and sensor_group("appliance", "kitchen") == "appliance"


def test_a_variant_takes_away_one_group_or_moves_the_clock_and_nothing_else() -> None:
    log = _home()
    gone = without(log, "contact:bedroom")
    kept = [
        (int(t), s)
        for t, s, k, loc in zip(log.ts_ms, log.sensor, log.kind, log.location, strict=True)
        if sensor_group(k, loc) != "contact:bedroom"
    ]
    assert [(int(t), s) for t, s in zip(gone.ts_ms, gone.sensor, strict=True)] == kept
    assert len(kept) < len(log) and gone.entry.first_ms == log.entry.first_ms
    later = shifted(log, 2)
    assert np.array_equal(later.ts_ms, log.ts_ms + 2 * H) and later.sensor == log.sensor
    assert (later.entry.first_ms, later.entry.last_ms) == (log.entry.first_ms + 2 * H, log.entry.last_ms + 2 * H)
    names = [name for name, *_ in variants(log)]
    groups = {sensor_group(k, loc) for k, loc in zip(log.kind, log.location, strict=True)}
    pads = bool(PADS & set(log.kind))
    assert names[0] == "as recorded" and len(names) == 1 + len(groups) + len(CLOCK_SHIFTS_H) + pads
    assert (names[-1] == "pads held 2 h") == pads
    assert {f"without {g}" for g in groups} <= set(names)


def test_every_variant_is_evaluated_as_the_fast_evaluation_does() -> None:
    log = _home()
    lines: list[str] = []
    result = evaluate_variants([log], HomeConfig(), inject_n=3, seeds=1, progress=lines.append)
    rows = result[log.entry.home]
    assert len(lines) == len(rows) and set(rows) == {name for name, *_ in variants(log)}
    n, _, _ = evaluate_log(log, HomeConfig(), 3, 1)
    assert rows["as recorded"]["alerts"] == n
    assert rows["as recorded"]["families"]["day"]["injected"] == 3
    assert all(row["false_alerts_per_home_day"] is not None for row in rows.values())


def test_a_variants_stops_are_the_home_as_recorded() -> None:
    """Without its bedroom door a home cannot tell a stop in the living room at 23:00 from one after
    going to bed unseen: the stops of a variant are chosen on the home as recorded (at its clock) and
    timed from the resident's last activity there, not from what the variant's sensors last saw."""
    log = _home()
    gone = without(log, "contact:bedroom")
    truth_cuts = all_cuts(log, 5, 1)
    assert truth_cuts != all_cuts(gone, 5, 1), "the variant alone would choose other stops"
    _, trials, alerts = evaluate_log(gone, HomeConfig(), 5, 1, truth=log)
    assert sorted((t.cut_ms, t.family) for t in trials) == truth_cuts
    assert all(t.last_activity_ms == last_activity_ms(log, t.cut_ms) for t in trials)
    assert all(t.alert_ms is None or t.alert_ms >= t.cut_ms for t in trials)
    assert alerts == evaluate_log(gone, HomeConfig())[2]
    _, own, _ = evaluate_log(gone, HomeConfig(), 5, 1)
    assert sorted((t.cut_ms, t.family) for t in own) == all_cuts(gone, 5, 1)
    names = {name: truth for name, _, truth in variants(log)}
    assert names["without contact:bedroom"] is log and names["clock +1 h"].ts_ms[0] == log.ts_ms[0] + H


def test_pads_held_let_go_hours_later_and_report_changes_only() -> None:
    """Each pad's release comes ``hours`` later; a span then reaching the pad's next is one with it, a
    repeated "occupied" is dropped, a release past the log's end is not seen, one with no "occupied"
    before it (occupied when the log began) is kept, moved; other sensors as they were."""
    m = 60_000
    rows = [
        (0, "bed", "bed", "bedroom", 0),  # occupied when the log began
        (10 * m, "pir", "motion", "kitchen", 1),
        (60 * m, "seat", "seat", "living", 1),
        (70 * m, "seat", "seat", "living", 1),  # a repeat
        (90 * m, "seat", "seat", "living", 0),
        (150 * m, "seat", "seat", "living", 1),  # within the hold of the last: one span
        (160 * m, "seat", "seat", "living", 0),
        (400 * m, "seat", "seat", "living", 1),
        (410 * m, "seat", "seat", "living", 0),  # released past the log's end
    ]
    log = log_of_rows(rows, entry=HomeEntry("h.csv", "h", 0, 500 * m))
    held = pads_held(log, 2)
    got = [(int(t) // m, s, int(v)) for t, s, v in zip(held.ts_ms, held.sensor, held.state, strict=True)]
    assert got == [
        (10, "pir", 1),
        (60, "seat", 1),
        (120, "bed", 0),
        (280, "seat", 0),
        (400, "seat", 1),
    ]
    assert held.entry.home == "h pads held 2 h" and held.entry.last_ms == log.entry.last_ms


def test_the_lab_commands_shift_and_hold_the_pads_of_any_set_they_are_given() -> None:
    """``--shift H`` and ``--pads-held H`` (:func:`lab.homes.sets.homes_of`): the chosen homes shifted,
    with their pads held."""
    import argparse

    from lab.homes.sets import add_set_arguments, homes_of

    parser = argparse.ArgumentParser()
    add_set_arguments(parser)
    plain = homes_of(parser.parse_args(["--homes", "3", "--days", "3", "--seed", "4"]))
    held = homes_of(parser.parse_args(["--homes", "3", "--days", "3", "--seed", "4", "--pads-held", "1.5"]))
    assert [log.entry.home + " pads held 1.5 h" for log in plain] == [log.entry.home for log in held]
    assert [pads_held(log, 1.5).sensor for log in plain] == [log.sensor for log in held]
    later = homes_of(parser.parse_args(["--homes", "3", "--days", "3", "--seed", "4", "--shift", "-2"]))
    assert all(np.array_equal(a.ts_ms - 2 * H, b.ts_ms) for a, b in zip(plain, later, strict=True))


def test_the_stops_of_homes_with_pads_held_or_doors_open_are_chosen_where_the_resident_was() -> None:
    """``--pads-held`` and ``--door-open`` change what the sensors report, not the resident's life: the
    evaluation chooses its stops on the homes as they lived (:func:`lab.homes.sets.truths_of`, at the
    same clock); a set as drawn has no other truth."""
    import argparse

    from lab.homes.eval import evaluate
    from lab.homes.sets import add_set_arguments, homes_of, truths_of

    parser = argparse.ArgumentParser()
    add_set_arguments(parser)
    base = ["--homes", "3", "--days", "16", "--seed", "4", "--shift", "1"]
    assert truths_of(parser.parse_args(base)) is None
    plain = homes_of(parser.parse_args(base))
    for extra in (["--pads-held", "2"], ["--door-open", "1"]):
        args = parser.parse_args([*base, *extra])
        truths = truths_of(args)
        assert truths is not None
        assert [(t.sensor, t.ts_ms.tolist()) for t in truths] == [(p.sensor, p.ts_ms.tolist()) for p in plain]
        logs = homes_of(args)
        assert evaluate(logs, HomeConfig(), 4, 1, truths)["families"]["day"]["injected"] == 4 * len(logs)
        _, trials, _ = evaluate_log(logs[0], HomeConfig(), 4, 2, truth=truths[0])
        assert sorted((t.cut_ms, t.family) for t in trials) == all_cuts(truths[0], 4, 2)
    door = homes_of(parser.parse_args([*base, "--door-open", "1"]))  # the family alone would choose others
    assert any(all_cuts(log, 9, 2) != all_cuts(truth, 9, 2) for log, truth in zip(door, plain, strict=True))
