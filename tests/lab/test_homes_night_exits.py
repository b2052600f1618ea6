"""The lab's measure of the night-exit watch: a door at night with nothing after is told ten minutes
later, one before the watch when it begins, and a night out is told apart from a resident who was in."""

from __future__ import annotations

from lab.homes.logs import log_of_rows
from lab.homes.night_exits import false_alerts, measure, parse_watch, really_out, trial
from lab.homes.synthetic import synthetic_set

M = 60_000
H = 60 * M
DAY = 24 * H
WATCH = parse_watch("22:00-06:00")


def test_a_night_out_and_a_resident_who_sat_still_after_the_door() -> None:
    rows = [
        (DAY + 20 * H, "pir", "motion", "living", 1),
        (DAY + 23 * H, "front", "door", "hall", 1),  # out at 23:00 ...
        (DAY + 23 * H + 20_000, "front", "door", "hall", 0),
        (DAY + 25 * H, "front", "door", "hall", 1),  # ... back at 01:00
        (DAY + 25 * H + 20_000, "front", "door", "hall", 0),
        (DAY + 25 * H + 20 * M, "pir", "motion", "living", 1),  # seen inside 20 min later
        (2 * DAY + 20 * H, "pir", "motion", "living", 1),
    ]
    log = log_of_rows(rows)
    told = false_alerts(log, WATCH)
    assert [(d.ts_ms, d.details["rule"]) for d in told] == [(DAY + 23 * H, "door_in_watch")]
    assert really_out(log, told[0])  # the next thing the home saw was the door
    assert [d.ts_ms for d in false_alerts(log, parse_watch("02:00-05:00"))] == []
    # the door at 01:00 and the living room 20 min later: one who sat still after it was in
    in_after = log_of_rows([*rows[:1], *rows[3:]])
    [sat] = false_alerts(in_after, WATCH)
    assert sat.ts_ms == DAY + 25 * H and not really_out(in_after, sat)


def test_a_trial_is_told_ten_minutes_after_the_door_and_not_when_already_out() -> None:
    rows = [(DAY + h * H, "pir", "motion", "living", 1) for h in range(8, 21)]
    rows += [(DAY + 21 * H, "front", "door", "hall", 1), (3 * DAY, "pir", "motion", "living", 1)]
    log = log_of_rows(rows)
    events = log.events("resident")
    outcome = trial(log, events, WATCH, DAY + 20 * H + 30 * M)  # 20:30, before the watch: told at 22:00
    assert outcome.valid and outcome.told_ms == DAY + 22 * H
    outcome = trial(log, events, WATCH, DAY + 21 * H - M)
    assert outcome.valid and outcome.told_ms == DAY + 22 * H
    assert not trial(log, events, WATCH, DAY + 23 * H).valid  # out through the door at 21:00 already


def test_the_population_measure() -> None:
    logs = synthetic_set(3, 8, seed=5)
    result = measure(logs, WATCH, inject=4, seed=1)
    assert result["homes"] == 3 and result["watch"] == "22:00-06:00"
    night, early = result["gone_at_night"], result["out_at_watch_start"]
    assert night["injected"] == night["found"] > 0 and 10 <= night["mean_delay_min"] <= 11
    assert early["injected"] == early["found"] > 0 and early["max_delay_min"] <= 1
    false = result["false"]
    assert false["alerts"] == sum(false["by_rule"].values()) >= false["resident_was_out"]
