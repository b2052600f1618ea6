"""The night-exit watch on a population: how soon a resident gone out at night is told, and how often a
watched resident who did not wander is.

Every home's resident is watched (``--watch``, local time; the logs' clock is the homes'). Reported:

- ``false``: NIGHT_EXIT on the logs as they are, per home-day and by rule (``door_in_watch``: the
  door used in the watch and nothing moving inside for ``grace_s`` after; ``out_when_watch_began``: out
  since before it). The synthetic residents do not wander: each is a call for someone who came home
  late or left early (``resident_was_out``: the home's next evidence is the door, coming back) or who
  sat still right after the door (``resident_was_in_per_home_day``). An upper bound, as only residents
  known to wander are watched. ``back_inside_*``: how many were followed by the resident back inside
  (the notice on the alert) and the median minutes from the alert to it, for each.
- ``gone_at_night``: ``--inject`` nights per home, at a drawn moment in the watch when the resident is
  in (the home's last event before it is not the entrance door), the door opens and closes and nothing
  is heard from the home after: found (told with that door as the exit) and the delay from the door.
- ``out_at_watch_start``: the same, the door 30 min to 3 h before the watch begins: the delay from
  the watch's start.

A trial runs the live detector (:class:`stream.exits.NightExitDetector`) over the day before the door
(enough for its state: the last door and the last activity inside), then steps its clock a minute at
a time for up to six hours.

``python -m lab.homes.night_exits --homes 12 --days 35 --seed 0 [--layout L] [--watch 22:00-06:00]
[--inject 30] [--json]``
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any, NamedTuple

import numpy as np

from devices.events import Event
from lab.homes.logs import HomeLog, to_event
from registry.models import minutes_of_day
from stream.detections import Detection, DetectionKind
from stream.exits import NightExitDetector, Watch, exit_code, watch_text
from stream.kernels.exits import X_EXIT, XE_DOOR, XE_NONE

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
STEP_LIMIT_MS = 6 * HOUR_MS
RESIDENT = "resident"


def parse_watch(text: str) -> Watch:
    """``"22:00-06:00"`` → ``(1320, 360)`` (the inverse of :func:`stream.exits.watch_text`)."""
    start, end = (minutes_of_day(part) for part in text.split("-"))
    return start, end


def _detector(watch: Watch) -> NightExitDetector:
    detector = NightExitDetector(utc_offset_min=0)
    detector.set_watch(RESIDENT, watch)
    return detector


def _exits(found: list[Detection]) -> list[Detection]:
    return [d for d in found if d.kind is DetectionKind.NIGHT_EXIT]


def really_out(log: HomeLog, told: Detection) -> bool:
    """Whether the resident was out when told, by the home's next evidence: the next event that says
    where they are (:func:`stream.exits.exit_code`) is the entrance door (coming back), not activity inside."""
    k = int(np.searchsorted(log.ts_ms, told.detected_ms, side="right"))
    for j in range(k, len(log.ts_ms)):
        code = exit_code(to_event(RESIDENT, log.sensor[j], log.kind[j], log.location[j], 0, bool(log.state[j])))
        if code != XE_NONE:
            return code == XE_DOOR
    return True


def false_alerts(log: HomeLog, watch: Watch, back: dict[str, int] | None = None) -> list[Detection]:
    """NIGHT_EXITs over the whole log, a day at a time (timers checked every minute in between);
    ``back`` (when given) gets each one's back-inside notice: its time by the alert's key."""
    detector = _detector(watch)
    events = log.events(RESIDENT)
    told: list[Detection] = []
    i = 0
    for now in range(log.entry.first_ms, log.entry.last_ms + MINUTE_MS, MINUTE_MS):
        j = i
        while j < len(events) and events[j].ts_ms < now:
            j += 1
        found = []
        if j > i:
            found = detector.process(events[i:j], events[j - 1].ts_ms)
            i = j
        found += detector.advance(now)
        told += _exits(found)
        if back is not None:
            back.update((str(d.details["alert_key"]), d.ts_ms) for d in found if d.kind is DetectionKind.MOVING_AGAIN)
    return told


def _median_min(minutes: list[float]) -> float | None:
    return round(float(np.median(minutes)), 1) if minutes else None


def _at_home(log: HomeLog, t: int) -> bool:
    """Whether the home heard from the resident within a day before ``t`` and its last event was not the
    entrance door (:func:`trial` then checks the detector agrees)."""
    k = int(np.searchsorted(log.ts_ms, t, side="left")) - 1
    return k >= 0 and t - int(log.ts_ms[k]) < DAY_MS and log.kind[k] != "door"


class Outcome(NamedTuple):
    """One injected door: ``valid`` False when the detector took the resident for out already (the
    home's last activity inside was before its last door: no trial); ``told_ms`` when NIGHT_EXIT named
    the door, None if it did not within six hours."""

    valid: bool
    told_ms: int | None


def trial(log: HomeLog, events: list[Event], watch: Watch, door_ms: int) -> Outcome:
    """The door opened and closed at ``door_ms`` and nothing heard after (``events``: the log's)."""
    lo = int(np.searchsorted(log.ts_ms, door_ms - DAY_MS, side="left"))
    hi = int(np.searchsorted(log.ts_ms, door_ms, side="left"))
    detector = _detector(watch)
    detector.process(events[lo:hi], door_ms)
    slot = detector.residents.get(RESIDENT)
    if slot is None or detector.state[slot, X_EXIT] >= 0:
        return Outcome(False, None)
    opened = to_event(RESIDENT, "entrance_door", "door", "hall", door_ms, True)
    closed = to_event(RESIDENT, "entrance_door", "door", "hall", door_ms + 15_000, False)
    if _named(detector.process([opened, closed], door_ms + 15_000), door_ms):
        return Outcome(True, door_ms + 15_000)
    for now in range(door_ms + MINUTE_MS, door_ms + STEP_LIMIT_MS, MINUTE_MS):
        if _named(detector.advance(now), door_ms):
            return Outcome(True, now)
    return Outcome(True, None)


def _named(found: list[Detection], door_ms: int) -> bool:
    return any(d.ts_ms == door_ms for d in _exits(found))


def _draw(
    log: HomeLog, watch: Watch, rng: np.random.Generator, n: int, before_h: tuple[float, float] | None
) -> list[int]:
    """Up to ``3 n`` door times when the resident is in (the first ``n`` the detector agrees on are tried):
    in the watch, or ``before_h`` hours before it begins."""
    start_min = watch[0]
    days = int((log.entry.last_ms - log.entry.first_ms) // DAY_MS)
    chosen: list[int] = []
    for _ in range(50 * n):
        if len(chosen) == 3 * n or days < 2:
            break
        day0 = (log.entry.first_ms // DAY_MS + int(rng.integers(1, days))) * DAY_MS
        if before_h is None:
            length = (watch[1] - watch[0]) % 1440
            t = day0 + (start_min + int(rng.integers(0, length))) * MINUTE_MS + int(rng.integers(0, MINUTE_MS))
        else:
            t = day0 + start_min * MINUTE_MS - int(rng.uniform(*before_h) * HOUR_MS)
        if log.entry.first_ms + DAY_MS <= t <= log.entry.last_ms - STEP_LIMIT_MS and _at_home(log, t):
            chosen.append(t)
    return chosen


def _family(results: list[tuple[int, int | None]], origin: list[int]) -> dict[str, Any]:
    found = [(told - zero) / MINUTE_MS for (_, told), zero in zip(results, origin, strict=True) if told is not None]
    return {
        "injected": len(results),
        "found": len(found),
        "mean_delay_min": round(float(np.mean(found)), 1) if found else None,
        "max_delay_min": round(float(np.max(found)), 1) if found else None,
    }


def measure(logs: list[HomeLog], watch: Watch, inject: int = 30, seed: int = 0) -> dict[str, Any]:
    """The figures of the module docstring over ``logs``."""
    home_days = sum(log.days for log in logs)
    rules: Counter[str] = Counter()
    were_out = 0
    night: list[tuple[int, int | None]] = []
    night_origin: list[int] = []
    early: list[tuple[int, int | None]] = []
    early_origin: list[int] = []
    no_door = 0
    back_out: list[float] = []  # minutes from the alert to back inside, residents who were out / in
    back_in: list[float] = []
    for number, log in enumerate(logs):
        back: dict[str, int] = {}
        told = false_alerts(log, watch, back)
        rules.update(str(d.details["rule"]) for d in told)
        for d in told:
            out = really_out(log, d)
            were_out += out
            if d.key in back:
                (back_out if out else back_in).append((back[d.key] - d.detected_ms) / MINUTE_MS)
        if "door" not in log.kind:
            no_door += 1
        rng = np.random.default_rng([seed, number])
        events = log.events(RESIDENT)
        for before_h, results, origins in ((None, night, night_origin), ((0.5, 3.0), early, early_origin)):
            tried = 0
            for t in _draw(log, watch, rng, inject, before_h):
                outcome = trial(log, events, watch, t)
                if not outcome.valid:
                    continue
                results.append((t, outcome.told_ms))
                origins.append(t if before_h is None else (t // DAY_MS) * DAY_MS + watch[0] * MINUTE_MS)
                tried += 1
                if tried == inject:
                    break
    total = sum(rules.values())
    return {
        "homes": len(logs),
        "home_days": round(home_days, 1),
        "homes_without_entrance_door_contact": no_door,
        "watch": watch_text(watch),
        "false": {
            "alerts": total,
            "per_home_day": round(total / home_days, 4) if home_days else None,
            "by_rule": dict(rules),
            "resident_was_out": were_out,
            "resident_was_in_per_home_day": round((total - were_out) / home_days, 4) if home_days else None,
            "back_inside_told": len(back_out) + len(back_in),
            "back_inside_median_min_was_out": _median_min(back_out),
            "back_inside_median_min_was_in": _median_min(back_in),
        },
        "gone_at_night": _family(night, night_origin),
        "out_at_watch_start": _family(early, early_origin),
    }


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - command line
    from lab.homes.sets import add_set_arguments, homes_of
    from lab.report import print_figures

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(parser)
    parser.add_argument("--watch", default="22:00-06:00", help="every resident's watch, HH:MM-HH:MM local")
    parser.add_argument("--inject", type=int, default=30, help="drawn nights per home and family")
    parser.add_argument("--json", action="store_true", help="one JSON object as the last line")
    args = parser.parse_args(argv)
    result = measure(homes_of(args), parse_watch(args.watch), args.inject, args.seed)
    print_figures(result, args.json)


if __name__ == "__main__":  # pragma: no cover
    main()
