"""The usual wake-up and bed time told at enrolment, in the lab: told, carried in a log set's index,
and what it is worth to the home detector (:mod:`lab.homes.enrolment`)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np

from lab.homes.enrolment import morning_cuts, told, worth
from lab.homes.logs import ms_to_iso, read_home_index, write_log_set
from lab.homes.replay import replay_homes
from lab.homes.synthetic import synthetic_set
from lab.homes.variants import shifted
from stream.home import HomeConfig


def test_a_told_time_is_to_the_half_hour_and_wraps_past_midnight() -> None:
    rng = np.random.default_rng(0)
    assert told(7.0, 0.0, rng) == 420 and told(7.2, 0.0, rng) == 420 and told(7.3, 0.0, rng) == 450
    assert told(25.5, 0.0, rng) == 90  # in bed at 01:30
    spread = [told(7.0, 30.0, rng) for _ in range(400)]
    assert set(spread) <= set(range(0, 1440, 30)) and 270 <= min(spread) < 420 < max(spread) <= 570
    assert abs(np.mean(spread) - 420) < 6 and 25 < np.std(spread) < 40


def test_the_index_carries_the_routine_and_refuses_one_that_is_no_time(tmp_path: Path) -> None:
    """Written and read back with the log set (``usual_wake,usual_bed``); a clock shift moves it; a
    value that is no time of day leaves the home out with its reason, the others replay."""
    logs = synthetic_set(2, 3, 7, enrolled_sd_min=30.0)
    assert all(log.entry.routine is not None for log in logs)
    write_log_set(tmp_path, logs)
    entries, problems = read_home_index(tmp_path)
    assert [e.routine for e in entries] == [log.entry.routine for log in logs] and not problems
    wake, bed = logs[0].entry.routine or (None, None)
    assert shifted(logs[0], 2).entry.routine == ((wake or 0) + 120, ((bed or 0) + 120) % 1440)
    index = (tmp_path / "index.csv").read_text().splitlines()
    index[1] = ",".join([*index[1].split(",")[:4], "7:30", ""])
    (tmp_path / "index.csv").write_text("\n".join(index) + "\n")
    summary = replay_homes(tmp_path, out=io.StringIO(), err=io.StringIO())
    assert "HH:MM" in summary["homes_skipped"][logs[0].entry.file] and summary["homes"] == 1


def test_mornings_in_bed_are_cut_and_nights_out_are_not() -> None:
    log = synthetic_set(1, 10, 3)[0]
    cuts = morning_cuts(log)
    assert cuts and all(ms_to_iso(cut).endswith("03:00:00") and wake >= cut + 30 * 60_000 for cut, wake in cuts)
    act_before = [max(int(t) for t in log.ts_ms if t <= cut) for cut, _ in cuts]
    rows = {int(t): i for i, t in enumerate(log.ts_ms.tolist())}
    assert all(log.location[rows[t]] == "bedroom" or log.kind[rows[t]] == "bed" for t in act_before)
    away = dataclasses.replace(log, location=["hall" if loc == "bedroom" else loc for loc in log.location])
    assert morning_cuts(dataclasses.replace(away, kind=["contact" if k == "bed" else k for k in away.kind])) == []


def test_a_told_wake_up_finds_a_resident_who_stays_in_bed_sooner_in_the_first_week() -> None:
    """The first week's mornings, a resident who does not get up: found sooner after they would have
    got up with the routine told at enrolment (30 min off) than with the population's, for no more
    false alerts."""
    for seed in (3, 5):
        w = worth(synthetic_set(4, 10, seed), synthetic_set(4, 10, seed, enrolled_sd_min=30.0), HomeConfig())
        without, enrolled = w["without"], w["enrolled"]
        assert without["not_up_first_week"]["nights"] == enrolled["not_up_first_week"]["nights"] >= 20
        assert without["not_up_first_week"]["found"] == enrolled["not_up_first_week"]["found"]
        assert (
            enrolled["not_up_first_week"]["mean_h_after_getting_up"]
            < without["not_up_first_week"]["mean_h_after_getting_up"] - 0.3
        )
        assert enrolled["false_alerts_per_home_day"] <= without["false_alerts_per_home_day"]
