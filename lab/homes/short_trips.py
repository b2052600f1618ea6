"""Short trips out through the entrance door: found when the resident collapses right after coming
back, and no false alert when they only turned back for the keys.

A passage through the entrance door within ``away_min_s`` (30 min) of going out is taken neither for
coming in (back for the keys and out again is no arrival) nor, any more, for certainly out: a resident
back from the letter box or the bins who collapses in the hall before any sensor sees them was never
found. The home detector now gives such a silence this home's outings (``margin ×`` the longest lately,
at least ``arrival_limit_s``, at most ``back_soon_ceil_s``: :func:`stream.kernels.home.back_soon_limit_s`).

Neither case is in the synthetic homes (their outings last 40 min to 4 h), so here each home is given:

- ``trips``: short trips out (3–25 min, drawn) put into quiet spells of the day and evening (from 08:00 to
  22:00, no event for the trip and 30 min more, ending before 23:00: not the
  night's sleep; between two events inside, no pad occupied): the door out, the door back in, the hall
  motion sensor on the way where the home has one. A stop 30 s after the door back in (nothing of
  the home after it until the stop is found): how long until an alert, and how many never;
- ``keys``: every outing of 40 min or more begins with turning back for the keys (the door back in
  2–10 min after going out, and out again 1–3 min later): the false alerts this costs against the
  homes as they were.

``python -m lab.homes.short_trips --homes 12 --days 35 --seed S [--layout L] [--dir DIR] [--json]``
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from lab.homes.eval import evaluate_log
from lab.homes.logs import HomeLog, log_of_rows, rows_of
from lab.homes.stuck_pads import PADS
from stream.home import HomeConfig

MIN_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
Row = tuple[int, str, str, str, int]

TRIP_MIN = (3.0, 25.0)
"""A short trip's length, minutes (drawn uniformly): under ``away_min_s``."""
TRIP_HOURS = (8, 22)
"""Local hours a short trip may begin in: the day and the evening (the bins after dinner)."""
SPELL_END_H = 23
"""... into a spell that ends (the home's next event) before this local hour the same day: not the night's sleep."""
QUIET_AFTER_MIN = 30.0
"""A trip is put only into a spell with no event for its length and this long after it."""
STOP_AFTER_MS = 30_000
"""A stop this long after the door back in: a collapse in the hall before any other sensor sees them."""
KEYS_BACK_MIN = (2.0, 10.0)
KEYS_OUT_AGAIN_MIN = (1.0, 3.0)
OUTING_MIN = 40.0
"""An outing this long or longer begins with turning back for the keys (``keys``)."""
HORIZON_S = 48 * 3600.0


def _door(log: HomeLog) -> tuple[str, str] | None:
    """The entrance door's sensor and location, or None when the home has none."""
    i = next((i for i, kind in enumerate(log.kind) if kind == "door"), None)
    return None if i is None else (log.sensor[i], log.location[i])


def _hall_motion(log: HomeLog) -> tuple[str, str] | None:
    i = next(
        (i for i, (k, loc) in enumerate(zip(log.kind, log.location, strict=True)) if k == "motion" and loc == "hall"),
        None,
    )
    return None if i is None else (log.sensor[i], log.location[i])


def _passage(rows: list[Row], door: tuple[str, str], t: int) -> None:
    rows.append((t, door[0], "door", door[1], 1))
    rows.append((t + 10_000, door[0], "door", door[1], 0))


def with_trips(log: HomeLog, rng: np.random.Generator, per_day: float = 0.5) -> tuple[HomeLog, list[int]]:
    """``log`` with short trips out put into quiet daytime spells (about ``per_day`` a day) and the
    times of the doors back in (each trip's last event)."""
    door = _door(log)
    if door is None:
        return log, []
    hall = _hall_motion(log)
    rows = rows_of(log)
    ts = log.ts_ms
    backs: list[int] = []
    occupied: set[str] = set()
    for i in range(len(ts) - 1):
        if log.kind[i] in PADS:
            (occupied.add if log.state[i] else occupied.discard)(log.sensor[i])
        if log.kind[i] == "door" or log.kind[i + 1] == "door" or occupied:
            continue  # inside between two events of the home (not on a pad), not on the way out or in
        start = int(ts[i]) + MIN_MS
        trip = int(rng.uniform(*TRIP_MIN) * MIN_MS)
        hour = (start % DAY_MS) / HOUR_MS
        quiet_to = int(ts[i + 1])
        if not TRIP_HOURS[0] <= hour < TRIP_HOURS[1] or quiet_to - start < trip + int(QUIET_AFTER_MIN * MIN_MS):
            continue
        if quiet_to - start // DAY_MS * DAY_MS > SPELL_END_H * HOUR_MS:
            continue  # the spell runs into the night: gone to bed, not out
        if rng.random() >= per_day / 4:  # (a day has about four such spells)
            continue
        if hall is not None:
            rows.append((start - 20_000, hall[0], "motion", hall[1], 1))
        _passage(rows, door, start)
        back = start + trip
        _passage(rows, door, back)
        if hall is not None:
            rows.append((back + 15_000, hall[0], "motion", hall[1], 1))
        backs.append(back + 10_000 if hall is None else back + 15_000)
    rows.sort(key=lambda row: row[0])
    entry = dataclasses.replace(log.entry, home=f"{log.entry.home} short trips")
    return log_of_rows(rows, entry=entry), backs


def with_keys(log: HomeLog, rng: np.random.Generator) -> HomeLog:
    """``log`` with every outing of ``OUTING_MIN`` or more begun by turning back for the keys."""
    door = _door(log)
    if door is None:
        return log
    rows = rows_of(log)
    passages: list[int] = []
    last = -(10**15)
    for i, kind in enumerate(log.kind):
        if kind == "door":
            if int(log.ts_ms[i]) - last > MIN_MS:
                passages.append(i)
            last = int(log.ts_ms[i])
    for a, b in itertools.pairwise(passages):
        inside = any(log.kind[j] != "door" for j in range(a + 1, b))
        out_ms = int(log.ts_ms[b]) - int(log.ts_ms[a])
        if inside or out_ms < OUTING_MIN * MIN_MS:
            continue
        back = int(log.ts_ms[a]) + int(rng.uniform(*KEYS_BACK_MIN) * MIN_MS)
        _passage(rows, door, back)
        _passage(rows, door, back + int(rng.uniform(*KEYS_OUT_AGAIN_MIN) * MIN_MS))
    rows.sort(key=lambda row: row[0])
    return log_of_rows(rows, entry=dataclasses.replace(log.entry, home=f"{log.entry.home} keys"))


def evaluate(logs: Sequence[HomeLog], config: HomeConfig, seed: int = 0, per_day: float = 0.5) -> dict[str, Any]:
    """The short trips' stops (found, never found, delay from the door back in) and the false alerts of
    the homes as they were, with the short trips and with turning back for the keys."""
    delays: list[float] = []
    missed = 0
    alerts = {"as_recorded": 0, "short_trips": 0, "keys": 0}
    days = 0.0
    for number, log in enumerate(logs):
        rng = np.random.default_rng([seed, number])
        tripped, backs = with_trips(log, rng, per_day)
        keys = with_keys(log, rng)
        days += log.days
        alerts["as_recorded"] += evaluate_log(log, config)[0]
        alerts["short_trips"] += evaluate_log(tripped, config)[0]
        alerts["keys"] += evaluate_log(keys, config)[0]
        cuts = [(back + STOP_AFTER_MS, "after_home") for back in backs]
        _, trials, _ = evaluate_log(tripped, config, horizon_s=HORIZON_S, cuts=cuts)
        for trial in trials:
            if trial.delay_s is None:
                missed += 1
            else:
                delays.append(trial.delay_s)
    found = np.asarray(delays)
    return {
        "home_days": round(days, 2),
        "stops": len(delays) + missed,
        "found": len(delays),
        "missed": missed,
        "mean_delay_h": round(float(found.mean()) / 3600, 2) if len(found) else None,
        "longest_h": round(float(found.max()) / 3600, 2) if len(found) else None,
        "false_alerts": alerts,
        "false_alerts_per_home_day": {name: round(n / days, 4) if days else None for name, n in alerts.items()},
    }


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - command line
    from lab.homes.eval import home_config
    from lab.homes.sets import add_set_arguments, homes_of

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(parser)
    parser.add_argument("--per-day", type=float, default=0.5, help="short trips out per home-day, about")
    parser.add_argument("--set", nargs="*", default=[], help="HomeConfig overrides, name=value")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    summary = evaluate(homes_of(args), home_config(args.set), args.seed, args.per_day)
    if not args.json:
        alerts = summary["false_alerts"]
        print(
            f"short trips: {summary['found']} of {summary['stops']} stops found, {summary['missed']} never; "
            f"mean {summary['mean_delay_h']} h, longest {summary['longest_h']} h\n"
            f"false alerts: as recorded {alerts['as_recorded']}, with short trips {alerts['short_trips']}, "
            f"turning back for the keys {alerts['keys']} ({summary['home_days']} home-days)"
        )
    print(json.dumps(summary))


if __name__ == "__main__":  # pragma: no cover
    main()
