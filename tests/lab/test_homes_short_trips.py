"""The lab's short trips out: collapses right after coming back are found, turning back for the keys
raises nothing (:mod:`lab.homes.short_trips`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from lab.homes.logs import HomeLog, log_of_rows
from lab.homes.short_trips import evaluate, with_keys, with_trips
from stream.home import HomeConfig

M = 60_000
H = 60 * M
DAY = 24 * H


def _home(days: int = 12) -> HomeLog:
    """Contacts only: the kitchen every 20 min from 07:00 to 20:40 but for a quiet spell 10:00–12:00, to
    bed through the bedroom door at 22:00, and out through the entrance door 14:00–16:00 every day."""
    rows = []
    for d in range(days):
        day = d * DAY
        for minute in range(7 * 60, 21 * 60, 20):
            if not (10 * 60 < minute < 12 * 60 or 14 * 60 - 20 < minute < 16 * 60 + 20):
                rows.append((day + minute * M, "cupboard", "contact", "kitchen", minute % 40 // 20))
        for t in (day + 14 * H, day + 16 * H):
            rows += [(t, "front", "door", "hall", 1), (t + 10_000, "front", "door", "hall", 0)]
        rows += [(day + 22 * H, "bedroom_door", "contact", "bedroom", 1)]
    return log_of_rows(sorted(rows))


def test_short_trips_go_into_quiet_spells_and_keys_before_outings() -> None:
    log = _home()
    tripped, backs = with_trips(log, np.random.default_rng(0), per_day=4.0)
    assert len(backs) == 24  # one in each day's quiet spell and one after the last cup of the evening
    assert all(10 * H < back % DAY < 12 * H or 20 * H < back % DAY < 22 * H for back in backs)
    assert tripped.kind.count("door") == log.kind.count("door") + 4 * len(backs)
    keys = with_keys(log, np.random.default_rng(0))
    assert keys.kind.count("door") == log.kind.count("door") + 4 * 12  # back in and out again, each outing


def test_a_collapse_right_after_a_short_trip_is_found_and_the_keys_cost_nothing() -> None:
    summary = evaluate([_home()], HomeConfig(), per_day=4.0)
    assert summary["stops"] == summary["found"] == 24 and summary["missed"] == 0
    assert summary["longest_h"] <= 8.0  # at most the first days' prior; then 1.6 × the 2-hour outings
    assert summary["false_alerts"]["keys"] == summary["false_alerts"]["as_recorded"]
    before = evaluate([_home()], dataclasses.replace(HomeConfig(), back_soon_ceil_s=0.0), per_day=4.0)
    assert before["missed"] == 24  # taken for out: never due
