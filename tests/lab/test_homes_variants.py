"""Real homes seen as other homes would see them (lab.homes.variants): fewer sensors, other clocks."""

from __future__ import annotations

import numpy as np

from lab.homes.eval import evaluate_log
from lab.homes.logs import HomeLog
from lab.homes.synthetic import synthetic_home
from lab.homes.variants import CLOCK_SHIFTS_H, evaluate_variants, sensor_group, shifted, variants, without
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
    names = [name for name, _ in variants(log)]
    groups = {sensor_group(k, loc) for k, loc in zip(log.kind, log.location, strict=True)}
    assert names[0] == "as recorded" and len(names) == 1 + len(groups) + len(CLOCK_SHIFTS_H)
    assert {f"without {g}" for g in groups} <= set(names)


def test_every_variant_is_evaluated_as_the_fast_evaluation_does() -> None:
    log = _home()
    lines: list[str] = []
    result = evaluate_variants([log], HomeConfig(), inject_n=3, seeds=1, progress=lines.append)
    rows = result[log.entry.home]
    assert len(lines) == len(rows) and set(rows) == {name for name, _ in variants(log)}
    n, _, _ = evaluate_log(log, HomeConfig(), 3, 1)
    assert rows["as recorded"]["alerts"] == n
    assert rows["as recorded"]["families"]["day"]["injected"] == 3
    assert all(row["false_alerts_per_home_day"] is not None for row in rows.values())
