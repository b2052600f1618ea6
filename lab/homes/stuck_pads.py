"""Pressure pads that hold "occupied" after the resident left them: how soon PAD_STUCK says so, and how
often it says so of a pad that is fine.

Each home's log goes through the live detector (:class:`stream.home.HomeActivityDetector`) a day at a
time. A synthetic home's pads are sticky when they re-report "occupied" while already occupied (the
synthetic sticky pads do, :mod:`lab.homes.synthetic`, and let go hours late); a home event log set
(``--dir``) has no such label, so every report there is counted as a visit to a pad that may be fine.
Reported: the homes with pads, those with sticky pads and how many were reported, after how many
days on average (from the start of the log), and the reports on homes whose pads are not sticky.

``python -m lab.homes.stuck_pads --homes 12 --days 35 --seed 0 [--layout L] [--dir DIR] [--json]``
"""

from __future__ import annotations

import argparse
from typing import Any

from lab.homes.logs import HomeLog
from stream.detections import DetectionKind
from stream.home import HomeActivityDetector, HomeConfig

DAY_MS = 86_400_000
PADS = frozenset({"bed", "seat"})


def sticky(log: HomeLog) -> bool:
    """Whether a pad of the home re-reports "occupied" while already occupied (a synthetic sticky pad)."""
    state: dict[str, int] = {}
    for sensor, kind, on in zip(log.sensor, log.kind, log.state.tolist(), strict=True):
        if kind in PADS:
            if on == 1 and state.get(sensor) == 1:
                return True
            state[sensor] = on
    return False


def first_report_days(log: HomeLog, config: HomeConfig | None = None) -> float | None:
    """Days from the start of ``log`` to its first PAD_STUCK, None if there is none."""
    detector = HomeActivityDetector(config, utc_offset_min=0)
    events = log.events()
    start, i = log.entry.first_ms, 0
    for day_end in range(start + DAY_MS, log.entry.last_ms + DAY_MS, DAY_MS):
        j = i
        while j < len(events) and events[j].ts_ms < day_end:
            j += 1
        if j > i:
            found = detector.process(events[i:j], events[j - 1].ts_ms)
            stuck = [d for d in found if d.kind is DetectionKind.PAD_STUCK]
            if stuck:
                return round((stuck[0].detected_ms - start) / DAY_MS, 2)
        i = j
    return None


def measure(logs: list[HomeLog], config: HomeConfig | None = None) -> dict[str, Any]:
    """The figures of the module docstring over ``logs``."""
    with_pads = [log for log in logs if PADS & set(log.kind)]
    sticky_days: list[float | None] = []
    false_reports = 0
    for log in with_pads:
        days = first_report_days(log, config)
        if sticky(log):
            sticky_days.append(days)
        elif days is not None:
            false_reports += 1
    found = [d for d in sticky_days if d is not None]
    return {
        "homes_with_pads": len(with_pads),
        "sticky": len(sticky_days),
        "sticky_reported": len(found),
        "mean_days_to_report": round(sum(found) / len(found), 2) if found else None,
        "reported_not_sticky": false_reports,
    }


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - command line
    from lab.homes.sets import add_set_arguments, homes_of
    from lab.report import print_figures

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object as the last line")
    args = parser.parse_args(argv)
    result = measure(homes_of(args))
    print_figures(result, args.json)


if __name__ == "__main__":  # pragma: no cover
    main()
