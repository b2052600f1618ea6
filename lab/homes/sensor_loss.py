"""Sensors that stop sensing: how soon device supervision says so, and how often it says so wrongly.

A sensor can go on checking in while it senses nothing (a door magnet knocked off, a PIR covered, a
pad unplugged). The home detector then reads the resident's ordinary days wrongly: with a dead
entrance-door contact every outing is a silence at home. Device supervision learns how long each
activity sensor is usually mute while the home's other sensors report and says DEVICE_SILENT
("quiet beyond habit", :mod:`stream.kernels.supervision`) once that is far exceeded.

Here each home loses one sensor (drawn per home) from a drawn day on (``--from-day`` … ``--to-day``):
every event of it after that moment is dropped. Reported:

- ``lost``: per sensor kind, the losses, how many were noticed before the log ends and the hours
  from the loss to the notice (mean and the longest);
- ``false_notices``: notices on the homes intact (per home-day), and on the other sensors of the
  homes with a loss: each is a visit to a home whose sensors are fine;
- ``inactivity_alerts``: the home detector's false alerts after the loss against the same homes intact
  (what a lost sensor costs while nobody repairs it), and with it repaired a day after its notice
  (``--repair-h``).

``python -m lab.homes.sensor_loss --homes 12 --days 35 --seed 0 [--dir DIR] [--json]``
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lab.homes.logs import HomeLog
from lab.homes.variants import _rows
from stream.supervision import DeviceSupervisor, SupervisionConfig

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class Loss:
    """One home's lost sensor: ``sensor`` (its log name), ``kind``, ``at_ms`` (epoch ms) and, once
    repaired, ``until_ms`` (senses again from then on; ``None``: never)."""

    sensor: str
    kind: str
    at_ms: int
    until_ms: int | None = None


def notices(log: HomeLog, config: SupervisionConfig, step_ms: int = HOUR_MS) -> list[tuple[str, int]]:
    """``(sensor, detected_ms)`` of every "quiet beyond habit" notice while replaying ``log`` through
    :class:`DeviceSupervisor` (events in steps of ``step_ms``, the tick at the end of each)."""
    supervisor = DeviceSupervisor(config)
    events = log.events()
    out: list[tuple[str, int]] = []
    prefix = f"{log.entry.home}/"
    i, clock = 0, log.entry.first_ms
    while clock < log.entry.last_ms:
        clock = min(clock + step_ms, log.entry.last_ms)
        batch = []
        while i < len(events) and events[i].ts_ms <= clock:
            batch.append(events[i])
            i += 1
        found = supervisor.process(batch, clock) + supervisor.advance(clock)
        out.extend(
            (d.device_id.removeprefix(prefix), d.detected_ms) for d in found if d.key.startswith("device_quiet:")
        )
    return out


def draw_loss(log: HomeLog, rng: np.random.Generator, from_day: int, to_day: int) -> Loss:
    """A sensor of ``log`` and the moment it stops sensing (a day in ``from_day..to_day``, any hour)."""
    sensors = sorted(set(log.sensor))
    sensor = sensors[int(rng.integers(len(sensors)))]
    kind = log.kind[log.sensor.index(sensor)]
    at = log.entry.first_ms + int(rng.integers(from_day * DAY_MS, (to_day + 1) * DAY_MS))
    return Loss(sensor, kind, min(at, log.entry.last_ms))


def lose(log: HomeLog, loss: Loss) -> HomeLog:
    """``log`` without ``loss.sensor``'s events from ``loss.at_ms`` until it is repaired."""
    until = loss.until_ms if loss.until_ms is not None else log.entry.last_ms + 1
    keep = [
        i
        for i, (s, t) in enumerate(zip(log.sensor, log.ts_ms.tolist(), strict=True))
        if s != loss.sensor or not loss.at_ms <= t < until
    ]
    return _rows(log, keep, log.entry.home)


def _inactivity_alerts(log: HomeLog, since_ms: int) -> int:
    from lab.homes.eval import evaluate_log
    from stream.home import HomeConfig

    _, _, alerts = evaluate_log(log, HomeConfig())
    return sum(1 for _, start, _ in alerts if start >= since_ms)


def evaluate(
    logs: Sequence[HomeLog],
    config: SupervisionConfig,
    seed: int = 0,
    from_day: int = 10,
    to_day: int = 25,
    alerts: bool = True,
    repair_h: float = 24.0,
) -> dict[str, Any]:
    """The figures of the module docstring over ``logs`` (one drawn loss per home, seeded); the alerts
    also with the sensor repaired ``repair_h`` after its notice."""
    rng = np.random.default_rng([seed, 0x5E17])
    intact_days = 0.0
    intact_false = 0
    other_false = 0
    by_kind: dict[str, dict[str, Any]] = {}
    hours: list[float] = []
    cost_before, cost_after, cost_repaired = 0, 0, 0
    for log in logs:
        intact_days += log.days
        intact_false += len(notices(log, config))
        loss = draw_loss(log, rng, from_day, to_day)
        lost = lose(log, loss)
        found = notices(lost, config)
        mine = [t for s, t in found if s == loss.sensor and t >= loss.at_ms]
        other_false += sum(1 for s, t in found if s != loss.sensor or t < loss.at_ms)
        row = by_kind.setdefault(loss.kind, {"lost": 0, "noticed": 0, "hours": []})
        row["lost"] += 1
        if mine:
            row["noticed"] += 1
            row["hours"].append((min(mine) - loss.at_ms) / HOUR_MS)
            hours.append((min(mine) - loss.at_ms) / HOUR_MS)
        if alerts:
            cost_before += _inactivity_alerts(log, loss.at_ms)
            cost_after += _inactivity_alerts(lost, loss.at_ms)
            fixed = replace(loss, until_ms=min(mine) + int(repair_h * HOUR_MS)) if mine else loss
            cost_repaired += _inactivity_alerts(lose(log, fixed), loss.at_ms)
    lost_summary = {
        kind: {
            "lost": row["lost"],
            "noticed": row["noticed"],
            "mean_hours": round(float(np.mean(row["hours"])), 1) if row["hours"] else None,
            "max_hours": round(float(np.max(row["hours"])), 1) if row["hours"] else None,
        }
        for kind, row in sorted(by_kind.items())
    }
    summary: dict[str, Any] = {
        "homes": len(logs),
        "home_days": round(intact_days, 1),
        "lost": lost_summary,
        "noticed": sum(row["noticed"] for row in by_kind.values()),
        "noticed_mean_hours": round(float(np.mean(hours)), 1) if hours else None,
        "false_notices": {
            "intact": intact_false,
            "intact_per_home_day": round(intact_false / intact_days, 4) if intact_days else None,
            "other_sensors_of_lossy_homes": other_false,
        },
    }
    if alerts:
        summary["inactivity_alerts"] = {
            "intact_after_loss_time": cost_before,
            "with_the_loss": cost_after,
            f"repaired_{repair_h:g}_h_after_the_notice": cost_repaired,
        }
    return summary


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - command line
    from lab.homes.sets import add_set_arguments, homes_of

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(parser)
    parser.add_argument("--from-day", type=int, default=10)
    parser.add_argument("--to-day", type=int, default=25)
    parser.add_argument("--factor", type=float, default=None, help="SupervisionConfig.quiet_factor")
    parser.add_argument("--floor-h", type=float, default=None, help="SupervisionConfig.quiet_floor_s in hours")
    parser.add_argument("--no-alerts", action="store_true", help="skip the home detector's alert counts")
    parser.add_argument("--repair-h", type=float, default=24.0, help="hours from the notice to the repair")
    parser.add_argument("--json", action="store_true", help="one JSON object (the last line)")
    args = parser.parse_args(argv)
    config = SupervisionConfig()
    if args.factor is not None:
        config = replace(config, quiet_factor=args.factor)
    if args.floor_h is not None:
        config = replace(config, quiet_floor_s=args.floor_h * 3600.0)
    logs = homes_of(args)
    summary = evaluate(logs, config, args.seed, args.from_day, args.to_day, not args.no_alerts, args.repair_h)
    print(json.dumps(summary) if args.json else json.dumps(summary, indent=1))


if __name__ == "__main__":  # pragma: no cover
    main()
