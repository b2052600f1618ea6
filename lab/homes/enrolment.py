"""What the archive records of a synthetic resident at enrolment: their usual wake-up and bed time
(:attr:`lab.homes.logs.HomeEntry.routine`), as the resident or their family would tell it at the
door: their drawn usual times (:class:`lab.homes.residents.Profile`) off by a drawn error of
``sd_min`` minutes and rounded to the half hour. The live detector gets the same from the registry
(``routine_of``); ``--enrolled SD_MIN`` of the lab's home commands gives it to theirs.

What it is worth (:func:`worth`): the same homes without and with it, their false alerts and how
long after getting up a resident who stays in bed is found in the first week (:func:`morning_cuts`).
``python -m lab.homes.enrolment --homes 12 --days 35 --seed S [--enrolled 30] [--json]``"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from lab.homes.logs import HomeLog
from lab.homes.residents import Profile
from stream.home import HomeConfig

DAY_MIN = 24 * 60
ROUND_MIN = 30
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
FIRST_WEEK_DAYS = 7.0


def told(hour: float, sd_min: float, rng: np.random.Generator) -> int:
    """A usual time ``hour`` (hours after local midnight, past 24 for after midnight) as told: minutes
    after local midnight, off by a normal error of ``sd_min`` minutes, rounded to ``ROUND_MIN``."""
    minutes = hour * 60.0 + rng.normal(0.0, sd_min)
    return int(round(minutes / ROUND_MIN) * ROUND_MIN) % DAY_MIN


def enrolled(log: HomeLog, profile: Profile, sd_min: float, rng: np.random.Generator) -> HomeLog:
    """``log`` with the routine its resident would have told at enrolment."""
    routine = (told(profile.wake_h, sd_min, rng), told(profile.bed_h, sd_min, rng))
    return dataclasses.replace(log, entry=dataclasses.replace(log.entry, routine=routine))


def enrol(homes: list[tuple[HomeLog, Profile]], seeds: list[int], sd_min: float | None) -> list[HomeLog]:
    """The logs of ``homes`` (each with its profile and seed), enrolled (:func:`enrolled`, each home's
    error drawn from ``(seed, 9)``) unless ``sd_min`` is None."""
    if sd_min is None:
        return [log for log, _ in homes]
    return [enrolled(log, p, sd_min, np.random.default_rng([s, 9])) for (log, p), s in zip(homes, seeds, strict=True)]


# -- what it is worth: "not up" in a home's first week --------------------------------------------
IN_BED_MS = 30 * 60_000
"""At the cut the resident has been in the bedroom this long at least, and sleeps on this long after."""


def morning_cuts(log: HomeLog, days: float = FIRST_WEEK_DAYS, at_h: int = 3) -> list[tuple[int, int]]:
    """``(cut, wake)`` for each night of the first ``days`` on which the resident is in bed at ``at_h``
    (local): the last activity before it in the bedroom, nothing outside the bedroom in the
    ``IN_BED_MS`` before, and the first activity outside it
    (``wake``, as the log has it) at least ``IN_BED_MS`` after. A stop there is a resident who does not
    get up: "not up" finds it, and its delay is counted from when they did get up."""
    from lab.homes.replay import activity_index

    act = activity_index(log)
    ts = log.ts_ms[act]
    outside = np.array([log.location[i] != "bedroom" and log.kind[i] != "bed" for i in act.tolist()], dtype=bool)
    out: list[tuple[int, int]] = []
    day = (log.entry.first_ms // DAY_MS) * DAY_MS
    while day < log.entry.first_ms + days * DAY_MS:
        day += DAY_MS
        cut = day + at_h * HOUR_MS
        j = int(np.searchsorted(ts, cut, side="right"))
        before = np.flatnonzero(outside[:j])
        after = np.flatnonzero(outside[j:])
        if j == 0 or outside[j - 1] or not len(after) or cut >= log.entry.last_ms:
            continue  # (the last activity before the cut must be in the bedroom: in bed, not out)
        last_out = int(ts[before[-1]]) if len(before) else log.entry.first_ms
        wake = int(ts[j + after[0]])
        if cut - last_out >= IN_BED_MS and wake - cut >= IN_BED_MS:
            out.append((cut, wake))
    return out


def not_up_delays(logs: Sequence[HomeLog], config: HomeConfig) -> dict[str, Any]:
    """Over the first weeks' mornings (:func:`morning_cuts`): stops found by the inactivity kinds within
    a day, and the hours from the resident's getting up (as the log has it) to the alert."""
    from lab.homes.eval import evaluate_log

    delays: list[float] = []
    nights = 0
    for log in logs:
        cuts = morning_cuts(log)
        nights += len(cuts)
        if not cuts:
            continue
        _, trials, _ = evaluate_log(log, config, cuts=[(cut, "morning") for cut, _ in cuts])
        for trial, (_, wake) in zip(trials, cuts, strict=True):
            if trial.alert_ms is not None:
                delays.append((trial.alert_ms - wake) / HOUR_MS)
    found = np.asarray(delays)
    return {
        "nights": nights,
        "found": len(delays),
        "mean_h_after_getting_up": round(float(found.mean()), 2) if len(found) else None,
        "p90_h_after_getting_up": round(float(np.quantile(found, 0.9)), 2) if len(found) else None,
    }


def worth(plain: Sequence[HomeLog], enrolled: Sequence[HomeLog], config: HomeConfig) -> dict[str, Any]:
    """The same homes without and with their routines told at enrolment: false alerts per home-day
    (all days, first week) and "not up" in the first week (:func:`not_up_delays`)."""
    from lab.homes.eval import evaluate

    out: dict[str, Any] = {}
    for name, homes in (("without", plain), ("enrolled", enrolled)):
        summary = evaluate(homes, config)
        out[name] = {
            "false_alerts_per_home_day": summary["false_alerts_per_home_day"],
            "first_weeks_false_alerts_per_home_day": summary["first_weeks_false_alerts_per_home_day"],
            "alerts_by_kind": {kind: n for kind, n in summary["alerts_by_kind"].items() if n},
            "not_up_first_week": not_up_delays(homes, config),
        }
    return out


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - command line
    from lab.homes.sets import add_set_arguments, varied
    from lab.homes.synthetic import synthetic_set

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(parser, log_dir=False)
    parser.add_argument("--json", action="store_true", help="one JSON object (the last line)")
    args = parser.parse_args(argv)
    told = 30.0 if args.enrolled is None else args.enrolled
    plain = synthetic_set(args.homes, args.days, args.seed, args.layout, args.door_open)
    enrolled = synthetic_set(args.homes, args.days, args.seed, args.layout, args.door_open, told)
    plain, enrolled = varied(plain, args), varied(enrolled, args)
    summary = {"seed": args.seed, "enrolled_sd_min": told, **worth(plain, enrolled, HomeConfig())}
    print(json.dumps(summary) if args.json else json.dumps(summary, indent=1))


if __name__ == "__main__":  # pragma: no cover
    main()
