"""Real homes seen as other homes would see them: the same resident's days through fewer sensors and
at other hours (issue #14: evaluation families cut from the real homes we have).

A real log is the truth of one resident's life, but of one home's sensors and one person's clock.
Each variant keeps the life and changes one of those:

- ``without <group>``: one group of sensors taken away, a group being a kind of sensor in a room
  (``contact:bedroom``, the bedroom door; ``door:hall``, the entrance door; ``motion:kitchen``; the
  bed or seat pad; ``appliance``). A home whose bedroom door reports nothing is a home with no
  bedroom sensor, as privacy often asks; one without its toilet contacts has none in the bathroom.
- ``clock <±h>``: every event shifted by whole hours, the resident going to bed and getting up
  earlier or later (a late sleeper, an early riser) with everything else the same.
- ``pads held <h> h`` (homes with pressure pads): every pad lets go that many hours after the
  resident got up (:func:`pads_held`): bed and couch mats that hold "occupied" for hours, as real
  ones do (issue #14: the unseen homes' did), reporting changes only.

Every event of the original is normal living, so every alert on a variant is false; stops are
injected per evaluation family as in :mod:`lab.homes.eval`, chosen on the home as recorded (at the
variant's clock): where the resident really was, not where the variant's fewer sensors last saw them
(without its bedroom door a home cannot tell a stop at 23:00 in the living room from one after going
to bed unseen; the family would take either for an evening stop), and each is timed from the
resident's last activity as recorded. Nothing is tuned on these: they show
where a rule rests on one sensor or one clock. (Found this way: a home with no bedroom sensor took
every night for an evening silence; see ``HomeConfig.untraced_nights``.)

``python -m lab.homes.variants ../shared/data/homes [--inject 30] [--seeds 3] [--json]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lab.homes.eval import evaluate_log
from lab.homes.logs import HomeLog, log_of_rows
from lab.homes.replay import Trial, summarise_families
from lab.homes.stuck_pads import PADS
from stream.home import KIND_OF_CODE, HomeConfig

HOUR_MS = 3_600_000
CLOCK_SHIFTS_H = (-2, -1, 1, 2, 3)
"""Hours the resident's day is moved by: up and to bed up to two hours earlier or three later."""
PADS_HELD_H = 2
"""Hours the pads of the ``pads held`` variant hold "occupied" after the resident got up."""


def sensor_group(kind: str, location: str) -> str:
    """The group a sensor belongs to: its kind and room (``contact:bedroom``), or the kind alone for
    pads and appliances (one of each per home, wherever they stand)."""
    if kind in ("bed", "seat", "appliance", "flush"):
        return kind
    return f"{kind}:{location.lower() or '?'}"


def without(log: HomeLog, group: str) -> HomeLog:
    """``log`` with every event of sensor group ``group`` (:func:`sensor_group`) taken away."""
    keep = [
        i for i, (kind, loc) in enumerate(zip(log.kind, log.location, strict=True)) if sensor_group(kind, loc) != group
    ]
    return _rows(log, keep, f"{log.entry.home} without {group}")


def shifted(log: HomeLog, hours: int) -> HomeLog:
    """``log`` with every event, its observation window and its enrolled routine ``hours`` later
    (earlier when negative)."""
    delta = hours * HOUR_MS
    told = log.entry.routine

    def later(minutes: int | None) -> int | None:
        return None if minutes is None else (minutes + 60 * hours) % 1440

    entry = dataclasses.replace(
        log.entry,
        home=f"{log.entry.home} clock {hours:+d} h",
        first_ms=log.entry.first_ms + delta,
        last_ms=log.entry.last_ms + delta,
        routine=None if told is None else (later(told[0]), later(told[1])),
    )
    return dataclasses.replace(log, entry=entry, ts_ms=log.ts_ms + delta)


def pads_held(log: HomeLog, hours: float) -> HomeLog:
    """``log`` with every pressure pad letting go ``hours`` later than it did: an occupied span that
    then reaches the pad's next is one with it (no change to report), "occupied" repeated is dropped
    (a mat reports changes), and a release past the end of the log is not seen. Other sensors as
    they were."""
    hold = int(hours * HOUR_MS)
    keep = [i for i, kind in enumerate(log.kind) if kind not in PADS]
    rows = [(int(log.ts_ms[i]), log.sensor[i], log.kind[i], log.location[i], int(log.state[i])) for i in keep]
    pads: dict[str, list[int]] = {}
    for i, kind in enumerate(log.kind):
        if kind in PADS:
            pads.setdefault(log.sensor[i], []).append(i)
    for sensor, index in pads.items():
        kind, location = log.kind[index[0]], log.location[index[0]]
        spans: list[list[int]] = []
        since = -1
        for i in index:
            t, on = int(log.ts_ms[i]), int(log.state[i])
            if on == 1 and since < 0:
                since = t
            elif on == 0 and since < 0 and not spans:  # occupied when the log began: its release only
                spans.append([-1, t + hold])
            elif on == 0 and since >= 0:
                if spans and since <= spans[-1][1]:
                    spans[-1][1] = t + hold
                else:
                    spans.append([since, t + hold])
                since = -1
        if since >= 0:  # occupied when the log ends
            if spans and since <= spans[-1][1]:
                spans[-1][1] = log.entry.last_ms + 1
            else:
                spans.append([since, log.entry.last_ms + 1])
        for on_ms, off_ms in spans:
            if on_ms >= 0:
                rows.append((on_ms, sensor, kind, location, 1))
            if off_ms <= log.entry.last_ms:
                rows.append((off_ms, sensor, kind, location, 0))
    rows.sort(key=lambda row: row[0])
    return log_of_rows(rows, entry=dataclasses.replace(log.entry, home=f"{log.entry.home} pads held {hours:g} h"))


def door_left_open(log: HomeLog, share: float, rng: np.random.Generator) -> HomeLog:
    """``log`` without the bedroom door's events from 20:00 to 10:00 on a ``share`` of nights (each
    night drawn in time order): a resident who leaves it open then (``--door-open`` of the synthetic
    homes, a habit never drawn)."""
    chosen: dict[int, bool] = {}
    keep: list[int] = []
    for i, (t, sensor) in enumerate(zip(log.ts_ms.tolist(), log.sensor, strict=True)):
        hour = (t // HOUR_MS) % 24
        if sensor == "bedroom_door" and (hour >= 20 or hour < 10):
            night = (t - 10 * HOUR_MS) // (24 * HOUR_MS)
            if night not in chosen:
                chosen[night] = bool(rng.random() < share)
            if chosen[night]:
                continue
        keep.append(i)
    return _rows(log, keep, log.entry.home)


def _rows(log: HomeLog, keep: list[int], home: str) -> HomeLog:
    """The rows ``keep`` of ``log`` as a log of home ``home``."""
    index = np.asarray(keep, dtype=np.int64)
    return HomeLog(
        entry=dataclasses.replace(log.entry, home=home),
        ts_ms=log.ts_ms[index],
        sensor=[log.sensor[i] for i in keep],
        kind=[log.kind[i] for i in keep],
        location=[log.location[i] for i in keep],
        state=log.state[index],
    )


def variants(log: HomeLog) -> Iterator[tuple[str, HomeLog, HomeLog]]:
    """``(name, variant, truth)``: the original, then each sensor group taken away (those the home has,
    in order of their first report), then each clock shift, then its pads held (when it has any);
    ``truth`` is the home as recorded at the variant's clock, where its stops are chosen."""
    yield "as recorded", log, log
    groups = list(dict.fromkeys(sensor_group(k, loc) for k, loc in zip(log.kind, log.location, strict=True)))
    for group in groups:
        yield f"without {group}", without(log, group), log
    for hours in CLOCK_SHIFTS_H:
        later = shifted(log, hours)
        yield f"clock {hours:+d} h", later, later
    if PADS & set(log.kind):
        yield f"pads held {PADS_HELD_H} h", pads_held(log, PADS_HELD_H), log


def evaluate_variant(
    log: HomeLog, config: HomeConfig, inject_n: int, seeds: int, truth: HomeLog | None = None
) -> dict[str, Any]:
    """False alerts per home-day (alerts by kind) and the families' delays over ``seeds`` draws of stops,
    chosen on ``truth`` (the home as recorded at the variant's clock; :func:`lab.homes.eval.evaluate_log`)."""
    trials: list[Trial] = []
    alerts: list[tuple[int, int, int]] = []
    for seed in range(1, seeds + 1):
        _, found, alerts = evaluate_log(log, config, inject_n, seed, truth=truth)  # alerts: the same every draw
        trials.extend(found)
    by_kind: dict[str, int] = {}
    for code, _, _ in alerts:
        by_kind[KIND_OF_CODE[code].value] = by_kind.get(KIND_OF_CODE[code].value, 0) + 1
    return {
        "home_days": round(log.days, 2),
        "alerts": len(alerts),
        "false_alerts_per_home_day": round(len(alerts) / log.days, 4) if log.days else None,
        "alerts_by_kind": by_kind,
        "families": summarise_families(trials) if inject_n > 0 else {},
    }


def evaluate_variants(
    logs: list[HomeLog], config: HomeConfig, inject_n: int = 30, seeds: int = 3, progress: Any = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every variant of every home: ``{home: {variant: summary}}``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for log in logs:
        mine: dict[str, dict[str, Any]] = {}
        for name, variant, truth in variants(log):
            mine[name] = evaluate_variant(variant, config, inject_n, seeds, truth)
            if progress is not None:
                progress(f"{log.entry.home}: {name}: {mine[name]['alerts']} false alerts")
        out[log.entry.home] = mine
    return out


def _hours(summary: dict[str, Any] | None) -> str:
    if not summary or not summary.get("detected"):
        return "-"
    return f"{summary['mean_delay_s'] / 3600:.2f} h"


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - command line
    from lab.homes.eval import home_config
    from lab.homes.logs import load_homes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="a home event log set (index.csv and one log per home)")
    parser.add_argument("--inject", type=int, default=30, help="stops per family and draw")
    parser.add_argument("--seeds", type=int, default=3, help="draws of the stops")
    parser.add_argument("--set", nargs="*", default=[], help="HomeConfig overrides, name=value")
    parser.add_argument("--json", action="store_true", help="one JSON object as the last line")
    args = parser.parse_args(argv)
    result = evaluate_variants(
        load_homes(args.dir),
        home_config(args.set),
        args.inject,
        args.seeds,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    if args.json:
        print(json.dumps(result))
        return
    for home, rows in result.items():
        print(home)
        for name, row in rows.items():
            fam = row["families"]
            delays = "  ".join(
                f"{f} {_hours(fam.get(f))}" for f in ("day", "first_weeks", "evening", "after_home", "night")
            )
            print(f"  {name:28s} {row['false_alerts_per_home_day']:.3f}/day ({row['alerts']})  {delays}")


if __name__ == "__main__":  # pragma: no cover
    main()
