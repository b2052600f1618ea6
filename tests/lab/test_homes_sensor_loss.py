"""Sensors that stop sensing (lab.homes.sensor_loss): noticed by supervision, and nothing on intact homes."""

from __future__ import annotations

import numpy as np

from lab.homes.sensor_loss import Loss, draw_loss, evaluate, lose, notices
from lab.homes.synthetic import synthetic_home
from stream.supervision import SupervisionConfig

DAY = 86_400_000


def test_a_home_whose_kitchen_motion_sensor_dies_is_noticed_within_days_and_intact_it_is_not() -> None:
    seed = next(s for s in range(100) if synthetic_home("x", 2, s)[1].pir)
    log = synthetic_home("home", 24, seed)[0]
    assert notices(log, SupervisionConfig()) == []
    loss = Loss("pir_kitchen", "motion", log.entry.first_ms + 12 * DAY)
    lost = lose(log, loss)
    assert "pir_kitchen" in log.sensor
    assert not any(
        s == "pir_kitchen" and t >= loss.at_ms for s, t in zip(lost.sensor, lost.ts_ms.tolist(), strict=True)
    )
    assert len(lost) < len(log) and lost.entry == log.entry
    found = notices(lost, SupervisionConfig())
    assert [s for s, _ in found] == ["pir_kitchen"]
    assert 0 < found[0][1] - loss.at_ms < 3 * DAY


def test_the_drawn_loss_is_a_sensor_of_the_home_within_the_days_asked() -> None:
    log = synthetic_home("home", 30, 3)[0]
    for i in range(20):
        loss = draw_loss(log, np.random.default_rng(i), 10, 25)
        assert loss.sensor in log.sensor and loss.kind == log.kind[log.sensor.index(loss.sensor)]
        assert log.entry.first_ms + 10 * DAY <= loss.at_ms < log.entry.first_ms + 26 * DAY


def test_the_summary_counts_every_loss_once() -> None:
    logs = [synthetic_home(f"h{i}", 21, 40 + i)[0] for i in range(2)]
    summary = evaluate(logs, SupervisionConfig(), seed=1, from_day=8, to_day=12, alerts=False)
    assert summary["homes"] == 2 and sum(row["lost"] for row in summary["lost"].values()) == 2
    assert summary["noticed"] <= 2 and summary["false_notices"]["intact"] >= 0
    assert "inactivity_alerts" not in summary


def test_a_repaired_sensor_senses_again_from_the_repair_on() -> None:
    log = synthetic_home("home", 20, 5)[0]
    sensor = log.sensor[len(log) // 2]
    at, until = log.entry.first_ms + 8 * DAY, log.entry.first_ms + 11 * DAY
    fixed = lose(log, Loss(sensor, "", at, until_ms=until))
    times = [t for s, t in zip(fixed.sensor, fixed.ts_ms.tolist(), strict=True) if s == sensor]
    assert not any(at <= t < until for t in times)
    assert any(t < at for t in times) and any(t >= until for t in times)
    assert len(lose(log, Loss(sensor, "", at))) < len(fixed)
