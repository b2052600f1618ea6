"""Fast evaluation of the home detector on many homes: the kernels alone, event by event.

The live replay (:mod:`lab.homes.replay`) steps a whole :class:`StreamCore` every simulated
minute; for choosing defaults over many synthetic homes that is too slow. Here the kernels run over
each home's events in one pass (timers fire when the next event arrives or at the end of the log,
which gives the same alerts up to the replay's one-minute step), and an injected stop is timed from
the kernel state at the cut: the pending deadline of the current silence. Only events up to the cut
are fed before reading it, so nothing after the cut is used (no look-ahead). The figures of a chosen
configuration are then confirmed with the live replay.

``python -m lab.homes.eval --homes 12 --days 35 --seed 0 --inject 30 [--layout L] [--door-open 0.5]
[--shift -2] [--pads-held 2] [--set margin=1.3 ...]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from lab.homes.families import NIGHT_FAMILIES, all_cuts
from lab.homes.logs import HomeLog
from lab.homes.replay import (
    Trial,
    first_weeks_alerts,
    last_activity_ms,
    layout_of,
    summarise_families,
    summarise_layouts,
    summarise_trials,
)
from stream.home import KIND_OF_CODE, HomeActivityDetector, HomeConfig
from stream.kernels import home as k

INACTIVITY_CODES = (k.K_INACTIVITY, k.K_NOT_UP, k.K_BATHROOM)


def _state(config: HomeConfig) -> tuple[np.ndarray, ...]:
    return (
        k.new_state(1, 0),
        k.new_hist(1, config.hist_bins),
        k.new_rings(1, config.wake_buffer),
    )


def evaluate_log(
    log: HomeLog,
    config: HomeConfig,
    inject_n: int = 0,
    seed: int = 0,
    horizon_s: float = 24 * 3600.0,
    cuts: list[tuple[int, str]] | None = None,
    moves: list[tuple[int, int, int]] | None = None,
    truth: HomeLog | None = None,
) -> tuple[int, list[Trial], list[tuple[int, int, int]]]:
    """Alerts over the whole log and injected stops: ``(n_alerts, trials, alerts as (kind, start, due))``;
    the stops are ``inject_n`` of each family's, or ``cuts`` (sorted ``(cut, family)``) when given.
    ``moves`` (when given) gets the moving-again notices, ``(alert's kind, alert's start, moved_ms)``.
    ``truth``: the same resident's life as recorded (``log`` seen through fewer sensors, its pads
    held, its bedroom door left open): the stops are chosen on it and timed from its last activity,
    and found no sooner than the stop (an alert ``log`` raised before it, in a silence that ran on into
    the stop, finds it at the stop); where the resident was, not where ``log`` last saw them."""
    detector = HomeActivityDetector(config, utc_offset_min=0)
    a = detector.arrays(log.events())
    params = config.params()
    mon = np.ones(1, dtype=np.uint8)
    res = np.zeros_like(a.res)
    chosen_on = log if truth is None else truth
    tagged = cuts if cuts is not None else all_cuts(chosen_on, inject_n, seed) if inject_n > 0 else []
    if truth is not None:  # before anything of the home was seen there is no silence to time (nor a home yet)
        tagged = [(cut, family) for cut, family in tagged if last_activity_ms(log, cut) >= 0]
    si, hist, wake = _state(config)
    if log.entry.routine is not None:  # the archive's, as the registry gives it to the live detector
        si[0, k.S_ENROLL_WAKE], si[0, k.S_ENROLL_BED] = (-1 if m is None else m for m in log.entry.routine)
    out_i = np.zeros((k.OUT_ROWS_PER_EVENT * len(res) + 2, 5), dtype=np.int64)
    out_f = np.zeros((k.OUT_ROWS_PER_EVENT * len(res) + 2, 2), dtype=np.float64)
    alerts: list[tuple[int, int, int]] = []
    trials: list[Trial] = []

    def run(lo: int, hi: int) -> None:
        n = k.home_process(
            si,
            hist,
            wake,
            res[lo:hi],
            a.ts[lo:hi],
            a.code[lo:hi],
            a.value[lo:hi],
            a.room[lo:hi],
            a.pir[lo:hi],
            mon,
            params,
            out_i,
            out_f,
        )
        alerts.extend((int(r[1]), int(r[2]), int(r[3])) for r in out_i[:n] if r[1] != k.K_MOVING)
        if moves is not None:
            moves.extend((int(r[4]), int(r[2]), int(r[3])) for r in out_i[:n] if r[1] == k.K_MOVING)

    done = 0
    horizon_ms = int(horizon_s * 1000)
    for cut, family in tagged:
        upto = int(np.searchsorted(a.ts, cut, side="right"))
        run(done, upto)
        done = upto
        last = last_activity_ms(log, cut)  # what the detector last saw
        codes = INACTIVITY_CODES + ((k.K_NIGHT_ABSENCE,) if family in NIGHT_FAMILIES else ())
        alert = next((due for kind, start, due in alerts if kind in codes and start >= last), None)
        if alert is None:
            pending = []
            if si[0, k.S_FIRED] == 0 and si[0, k.S_DKIND] in INACTIVITY_CODES:
                pending.append(int(si[0, k.S_DEADLINE]))
            if family in NIGHT_FAMILIES and si[0, k.S_ABS_DEADLINE] != k.NEVER:
                pending.append(int(si[0, k.S_ABS_DEADLINE]))
            # the silence pending at the cut is the one the resident is in (it may have begun before the
            # scorer's last activity: a stale pad letting go is no activity to the detector)
            if pending and min(pending) - cut <= horizon_ms:
                alert = max(min(pending), cut)
        if truth is not None:
            last = last_activity_ms(truth, cut)
            alert = None if alert is None else max(alert, cut)
        trials.append(Trial(log.entry.home, cut, last, alert, None, family))
    run(done, len(res))
    n = k.home_advance(si, 1, log.entry.last_ms, mon, params, out_i, out_f)
    alerts.extend((int(r[1]), int(r[2]), int(r[3])) for r in out_i[:n])
    return len(alerts), trials, alerts


def evaluate(
    logs: Iterable[HomeLog],
    config: HomeConfig,
    inject_n: int = 0,
    seed: int = 0,
    truths: Iterable[HomeLog] | None = None,
) -> dict[str, Any]:
    """False alerts per home-day over ``logs`` and the injected-stop delays (as the replay summary), and
    both per sensor layout (``by_layout``); with ``truths`` (each log's home as recorded, in order) the
    stops are chosen on those (:func:`evaluate_log`)."""
    home_days = 0.0
    layouts: list[tuple[str, float, int, list[Trial]]] = []
    n_alerts = 0
    by_kind = dict.fromkeys((kind.value for kind in KIND_OF_CODE.values()), 0)
    early_alerts, early_days = 0, 0.0
    trials: list[Trial] = []
    per_home: list[tuple[str, int]] = []
    after_alert_min: list[float] = []
    logs = list(logs)
    truth_of = list(truths) if truths is not None else [None] * len(logs)
    for number, (log, truth) in enumerate(zip(logs, truth_of, strict=True), 1):
        moves: list[tuple[int, int, int]] = []
        n, home_trials, alerts = evaluate_log(log, config, inject_n, seed + number, moves=moves, truth=truth)
        after_alert_min.extend(minutes_to_moving(alerts, moves))
        n_alerts += n
        for kind, _, _ in alerts:
            by_kind[KIND_OF_CODE[kind].value] += 1
        home_days += log.days
        early = first_weeks_alerts((due for _, _, due in alerts), log.entry.first_ms, log.entry.last_ms)
        early_alerts, early_days = early_alerts + early[0], early_days + early[1]
        trials.extend(home_trials)
        per_home.append((log.entry.home, n))
        layouts.append((layout_of(log), log.days, n, home_trials))
    summary: dict[str, Any] = {
        "home_days": round(home_days, 2),
        "alerts": n_alerts,
        "false_alerts_per_home_day": round(n_alerts / home_days, 4) if home_days else None,
        "alerts_by_kind": by_kind,
        "first_weeks_false_alerts_per_home_day": round(early_alerts / early_days, 4) if early_days else None,
        "per_home_alerts": per_home,
        "moving_again": summarise_moving(after_alert_min, n_alerts),
    }
    if inject_n > 0:
        summary["injection"] = summarise_trials(t for t in trials if t.family == "day")
        summary["families"] = summarise_families(trials)
    summary["by_layout"] = summarise_layouts(layouts)
    return summary


def minutes_to_moving(alerts: list[tuple[int, int, int]], moves: list[tuple[int, int, int]]) -> list[float]:
    """For each alert that a moving-again notice followed, the minutes from the alert to the notice."""
    moved = {(kind, start): at for kind, start, at in moves}
    return [(moved[(kind, start)] - due) / 60_000 for kind, start, due in alerts if (kind, start) in moved]


def summarise_moving(after_alert_min: list[float], n_alerts: int) -> dict[str, Any]:
    """How soon the resident was seen moving again after the (false) alerts: the share told within 15,
    30 and 60 min and the median, in minutes. What the operator has in hand before calling."""
    if not n_alerts:
        return {"alerts": 0}
    minutes = np.asarray(after_alert_min)
    return {
        "alerts": n_alerts,
        "followed": len(minutes),
        **{f"within_{m}_min": round(float(np.count_nonzero(minutes <= m)) / n_alerts, 3) for m in (15, 30, 60)},
        "median_min": round(float(np.median(minutes)), 1) if len(minutes) else None,
    }


FALSE_WORDS = frozenset({"0", "0.0", "false", "no", "off"})
TRUE_WORDS = frozenset({"1", "1.0", "true", "yes", "on"})


def _parse_value(kind: type, value: str) -> Any:
    """``value`` as a field of type ``kind``: a flag from 0/1, true/false, yes/no, on/off (``bool("0")``
    would be True); numbers through float, so ``3600`` and ``3.6e3`` both work for an int."""
    if kind is bool:
        word = value.strip().lower()
        if word in FALSE_WORDS:
            return False
        if word in TRUE_WORDS:
            return True
        raise ValueError(f"not a flag: {value!r} (0/1, true/false, yes/no, on/off)")
    if kind in (int, float):
        return kind(float(value))
    return kind(value)


def _parse_set(items: list[str]) -> dict[str, Any]:
    """``name=value`` overrides of :class:`HomeConfig`, each parsed as its field's type."""
    defaults = HomeConfig()
    fields = {f.name for f in dataclasses.fields(HomeConfig)}
    out: dict[str, Any] = {}
    for item in items:
        name, value = item.split("=", 1)
        if name not in fields:
            raise ValueError(f"no HomeConfig field {name!r}")
        out[name] = _parse_value(type(getattr(defaults, name)), value)
    return out


def home_config(items: list[str]) -> HomeConfig:
    """The default :class:`HomeConfig` with ``name=value`` overrides (``--set``)."""
    return HomeConfig(**_parse_set(items))


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - command line
    from lab.homes.sets import add_set_arguments, homes_of, truths_of

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(parser)
    parser.add_argument("--inject", type=int, default=30)
    parser.add_argument("--set", nargs="*", default=[], help="HomeConfig overrides, name=value")
    args = parser.parse_args(argv)
    logs = homes_of(args)
    config = home_config(args.set)
    print(json.dumps(evaluate(logs, config, args.inject, args.seed, truths_of(args))))


if __name__ == "__main__":  # pragma: no cover
    main()
