"""Replay home event logs through the live detection path, in simulated time.

Each home's log becomes :class:`~devices.events.Event` objects fed to
:meth:`StreamCore.process` in batches of one simulated step (60 s), with
:meth:`StreamCore.advance` after every step, so timers fire as they would live; the clock runs to the
home's ``last_ts``. Every detection is one JSON line; the last line summarises the run: home-days and
alerts about the resident per home-day (the logs are normal living, so every one counts as false), and
the device notices apart (a pad that holds "occupied", a sensor that senses nothing: maintenance).

Evaluation by injection (:func:`inject`): cut a home's log at seeded random daytime moments when the
resident is at home, drop everything after the cut (the resident stops moving) and measure the time
from the last activity to the inactivity alert. The state at each cut is a snapshot of the same
single replay, restored into a fresh core (which also exercises snapshot/restore).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from devices.events import Event
from lab.homes.logs import HomeLog, load_home_set, ms_to_iso
from stream.core import Detector, StreamCore
from stream.detections import NOTICE_KINDS, Detection, DetectionKind
from stream.home import HomeActivityDetector, HomeConfig
from stream.supervision import DeviceSupervisor

STEP_MS = 60_000
INACTIVITY_KINDS = frozenset({DetectionKind.INACTIVITY, DetectionKind.NOT_UP, DetectionKind.BATHROOM_LONG})
RESIDENT_KINDS = INACTIVITY_KINDS | {DetectionKind.NIGHT_ABSENCE}
"""The alerts about the resident a replay counts (false alerts: the logs hold no emergency); the device
notices (PAD_STUCK, DEVICE_SILENT, UNMONITORED …) are counted apart, as work for whoever maintains the
home's sensors."""


def home_detectors(
    config: HomeConfig | None = None, routine: tuple[int | None, int | None] | None = None
) -> list[Detector]:
    """The detectors a replay runs: home activity and device supervision (UTC offset 0: local logs);
    ``routine``: the resident's usual wake-up and bed time as the archive would give them
    (:attr:`lab.homes.logs.HomeEntry.routine`)."""
    routine_of = None if routine is None else lambda _resident: routine
    return [HomeActivityDetector(config, utc_offset_min=0, routine_of=routine_of), DeviceSupervisor()]


def run_log(
    core: StreamCore,
    events: Sequence[Event],
    start_ms: int,
    end_ms: int,
    step_ms: int = STEP_MS,
    checkpoints: Sequence[int] = (),
    on_checkpoint: Callable[[int, StreamCore], None] | None = None,
) -> list[Detection]:
    """Drive ``core`` from ``start_ms`` to ``end_ms``: each step's events as one batch, then advance.

    ``events`` sorted by time. ``checkpoints`` (sorted, step-aligned from ``start_ms``) call
    ``on_checkpoint(clock, core)`` after that step.
    """
    found: list[Detection] = []
    ts = np.fromiter((e.ts_ms for e in events), dtype=np.int64, count=len(events))
    i = 0
    n = len(events)
    cp = 0
    clock = start_ms
    while True:
        j = int(np.searchsorted(ts, clock, side="right"))
        if j > i:
            batch: dict[str, list[Event]] = {}
            for event in events[i:j]:
                batch.setdefault(event.resident_id, []).append(event)
            found.extend(core.process(batch, clock))
            i = j
        found.extend(core.advance(clock))
        while cp < len(checkpoints) and checkpoints[cp] <= clock:
            if on_checkpoint is not None:
                on_checkpoint(clock, core)
            cp += 1
        if clock >= end_ms and i >= n:
            break
        clock = min(clock + step_ms, max(end_ms, int(ts[-1]) if n else end_ms))
    return found


def alert_line(file: str, detection: Detection) -> dict[str, Any]:
    details = detection.details
    return {
        "file": file,
        "ts": ms_to_iso(detection.detected_ms),
        "kind": detection.kind.value,
        "silent_s": round((detection.detected_ms - detection.ts_ms) / 1000.0, 1),
        "since": ms_to_iso(detection.ts_ms),
        "threshold_s": details.get("threshold_s"),
        "context": details.get("context"),
        "learned": details.get("learned"),
    }


@dataclass(frozen=True, slots=True)
class Trial:
    """One injected stop: the cut, the last activity before it, and the alert (if any)."""

    home: str
    cut_ms: int
    last_activity_ms: int
    alert_ms: int | None
    kind: str | None
    family: str = "day"

    @property
    def delay_s(self) -> float | None:
        return None if self.alert_ms is None else (self.alert_ms - self.last_activity_ms) / 1000.0


def activity_index(log: HomeLog) -> npt.NDArray[np.int64]:
    """Indices of the log rows that are activity: everything but a PIR clearing (motion with state 0)
    and a pressure pad repeating the state it last reported."""
    clearing = np.array([kind == "motion" for kind in log.kind], dtype=bool) & (log.state == 0)
    repeat = np.zeros(len(log.kind), dtype=bool)  # a pad repeating its state ("occupied" for long)
    state: dict[str, int] = {}
    for i, (kind, sensor) in enumerate(zip(log.kind, log.sensor, strict=True)):
        if kind in ("bed", "seat"):
            value = int(log.state[i])
            repeat[i] = state.get(sensor) == value
            state[sensor] = value
    return np.flatnonzero(~(clearing | repeat)).astype(np.int64)


def after_door(log: HomeLog, act: npt.NDArray[np.int64], j: int) -> bool:
    """Whether the last activity but pressure pads up to ``act[j]`` is the entrance door: the resident is
    likely out (a pad may let go long after they got up, even after they left)."""
    while j >= 0 and log.kind[int(act[j])] in ("bed", "seat"):
        j -= 1
    return j >= 0 and log.kind[int(act[j])] == "door"


def last_activity_ms(log: HomeLog, t: int) -> int:
    """Time of the last activity at or before ``t`` (epoch ms), −1 if none."""
    act = activity_index(log)
    j = int(np.searchsorted(log.ts_ms[act], t, side="right")) - 1
    return -1 if j < 0 else int(log.ts_ms[int(act[j])])


def pick_cuts(
    log: HomeLog,
    n: int,
    rng: np.random.Generator,
    *,
    warmup_days: float = 7.0,
    until_days: float | None = None,
    day_hours: tuple[int, int] = (8, 20),
    step_ms: int = STEP_MS,
) -> list[int]:
    """``n`` step-aligned daytime moments after the warm-up (and before ``until_days`` into the log)
    when the resident is at home.

    At home and up: the last activity before the cut (a PIR clearing is not activity) is not the
    entrance door (after the door and a silence the resident is most likely out) and happened the
    same day within ``day_hours`` (a cut while still asleep would test "not up", not a stop during
    the day). Only the log up to the cut is looked at.
    """
    first, last = log.entry.first_ms, log.entry.last_ms
    lo = first + int(warmup_days * 86_400_000)
    if until_days is not None:
        last = min(last, first + int(until_days * 86_400_000))
    act = activity_index(log)
    if lo >= last or act.size == 0:
        return []
    cuts: set[int] = set()
    for _ in range(200 * n):
        if len(cuts) >= n:
            break
        t = int(rng.integers(lo, last))
        t = first + ((t - first) // step_ms) * step_ms
        hour = (t // 3_600_000) % 24
        if not day_hours[0] <= hour < day_hours[1]:
            continue
        j = int(np.searchsorted(log.ts_ms[act], t, side="right")) - 1
        if j < 0 or after_door(log, act, j):
            continue
        k = int(act[j])
        previous = int(log.ts_ms[k])
        if previous // 86_400_000 != t // 86_400_000 or (previous // 3_600_000) % 24 < day_hours[0]:
            continue
        cuts.add(t)
    return sorted(cuts)


def inject(
    log: HomeLog,
    n: int,
    seed: int = 0,
    *,
    horizon_s: float = 24 * 3600.0,
    config: HomeConfig | None = None,
    step_ms: int = STEP_MS,
) -> list[Trial]:
    """Cut ``log`` at ``n`` seeded moments per evaluation family (:mod:`lab.homes.families`) and time
    the inactivity alert after each cut."""
    from lab.homes.families import all_cuts

    tagged = all_cuts(log, n, seed, step_ms)
    if not tagged:
        return []
    cuts = sorted({cut for cut, _ in tagged})
    events = log.events()
    snapshots: list[tuple[int, bytes]] = []

    def keep(clock: int, core: StreamCore) -> None:
        snapshots.append((clock, core.snapshot()))

    before = run_log(
        StreamCore(home_detectors(config, log.entry.routine)),
        events,
        log.entry.first_ms,
        cuts[-1],
        step_ms,
        checkpoints=cuts,
        on_checkpoint=keep,
    )
    trials: list[Trial] = []
    horizon_ms = int(horizon_s * 1000)
    blobs = dict(snapshots)
    from lab.homes.families import NIGHT_FAMILIES

    for cut, family in tagged:
        kinds = INACTIVITY_KINDS | {DetectionKind.NIGHT_ABSENCE} if family in NIGHT_FAMILIES else INACTIVITY_KINDS
        blob = blobs[cut]
        last_activity = last_activity_ms(log, cut)
        core = StreamCore(home_detectors(config, log.entry.routine))
        core.restore(blob)
        alert: Detection | None = next(  # this silence may have alerted before the cut already
            (d for d in before if d.kind in kinds and d.ts_ms >= last_activity and d.detected_ms <= cut),
            None,
        )
        clock = cut
        while alert is None and clock < cut + horizon_ms:
            clock += step_ms
            for detection in core.advance(clock):
                if detection.kind in kinds:  # nothing after the cut: the silence of the cut
                    alert = detection
                    break
        trials.append(
            Trial(
                log.entry.home,
                cut,
                last_activity,
                None if alert is None else alert.detected_ms,
                None if alert is None else alert.kind.value,
                family,
            )
        )
    return trials


def summarise_families(trials: Iterable[Trial]) -> dict[str, dict[str, Any]]:
    """:func:`summarise_trials` per evaluation family (in the order of :data:`FAMILIES`)."""
    from lab.homes.families import FAMILIES

    trials = list(trials)
    return {f: summarise_trials(t for t in trials if t.family == f) for f in FAMILIES}


def first_weeks_alerts(found: Iterable[int], first_ms: int, last_ms: int) -> tuple[int, float]:
    """``(alerts, home-days)`` in a log's first weeks, from the alerts' detection times (epoch ms)."""
    from lab.homes.families import FIRST_WEEKS_DAYS

    end = min(last_ms, first_ms + int(FIRST_WEEKS_DAYS * 86_400_000))
    return sum(1 for t in found if t < end), max(0.0, (end - first_ms) / 86_400_000)


def summarise_trials(trials: Iterable[Trial]) -> dict[str, Any]:
    trials = list(trials)
    delays = np.array([t.delay_s for t in trials if t.delay_s is not None], dtype=np.float64)
    return {
        "injected": len(trials),
        "detected": int(delays.size),
        "missed": len(trials) - int(delays.size),
        "mean_delay_s": round(float(delays.mean()), 1) if delays.size else None,
        "median_delay_s": round(float(np.median(delays)), 1) if delays.size else None,
        "p90_delay_s": round(float(np.quantile(delays, 0.9)), 1) if delays.size else None,
    }


def layout_of(log: HomeLog) -> str:
    """What a home's sensors see, from its log: the rooms with motion sensors ("no motion": contacts and
    pads only)."""
    rooms = sorted({loc.lower() for loc, kind in zip(log.location, log.kind, strict=True) if kind == "motion"})
    return "motion in " + "+".join(rooms) if rooms else "no motion"


def summarise_layouts(rows: list[tuple[str, float, int, list[Trial]]]) -> dict[str, dict[str, Any]]:
    """False alerts per home-day, the daytime delay and every family's injected stops (``families``, as
    :func:`summarise_families`) per sensor layout (:func:`layout_of`): a population's figures hide
    how its sparsely sensed homes fare (their evenings and homecomings most of all)."""
    out: dict[str, dict[str, Any]] = {}
    for layout in sorted({row[0] for row in rows}):
        mine = [row for row in rows if row[0] == layout]
        days = sum(row[1] for row in mine)
        alerts = sum(row[2] for row in mine)
        trials = [t for row in mine for t in row[3]]
        families = summarise_families(trials)
        out[layout] = {
            "homes": len(mine),
            "home_days": round(days, 2),
            "alerts": alerts,
            "false_alerts_per_home_day": round(alerts / days, 4) if days else None,
            "day_mean_delay_s": families["day"]["mean_delay_s"],
            "families": {name: f for name, f in families.items() if f["injected"]},
        }
    return out


def replay_homes(
    directory: Path,
    out: IO[str] = sys.stdout,
    *,
    inject_n: int = 0,
    seed: int = 0,
    config: HomeConfig | None = None,
    err: IO[str] = sys.stderr,
) -> dict[str, Any]:
    """Replay every home of a log set; one JSON line per alert, a summary line last (also returned)."""
    logs, unreadable = load_home_set(Path(directory))
    for file, problem in unreadable.items():
        print(f"cannot read {file}: {problem}", file=err, flush=True)
    home_days = 0.0
    n_alerts = 0
    early_alerts, early_days = 0, 0.0
    by_kind: dict[str, int] = {}
    notices: dict[str, int] = {}
    moved = 0
    trials: list[Trial] = []
    layouts: list[tuple[str, float, int, list[Trial]]] = []
    skipped: Counter[str] = Counter()
    for number, log in enumerate(logs, 1):
        print(f"[{number}/{len(logs)}] {log.entry.file}: {len(log)} events, {log.days:.1f} days", file=err, flush=True)
        if log.skipped:
            print(f"  rows left out: {log.skipped}", file=err, flush=True)
        skipped.update(log.skipped)
        core = StreamCore(home_detectors(config, log.entry.routine))
        found = run_log(core, log.events(), log.entry.first_ms, log.entry.last_ms)
        moved += sum(d.kind in NOTICE_KINDS for d in found)  # notices on the alerts above, not alerts
        found = [d for d in found if d.kind not in NOTICE_KINDS]
        for detection in found:
            print(json.dumps(alert_line(log.entry.file, detection)), file=out, flush=True)
            counts = by_kind if detection.kind in RESIDENT_KINDS else notices
            counts[detection.kind.value] = counts.get(detection.kind.value, 0) + 1
        found = [d for d in found if d.kind in RESIDENT_KINDS]
        n_alerts += len(found)
        home_days += log.days
        early = first_weeks_alerts((d.detected_ms for d in found), log.entry.first_ms, log.entry.last_ms)
        early_alerts, early_days = early_alerts + early[0], early_days + early[1]
        home_trials = inject(log, inject_n, seed + number, config=config) if inject_n > 0 else []
        trials.extend(home_trials)
        if inject_n > 0:
            print(f"  injected {len(home_trials)} stops: {summarise_trials(home_trials)}", file=err, flush=True)
        layouts.append((layout_of(log), log.days, len(found), home_trials))
    summary: dict[str, Any] = {
        "summary": True,
        "homes": len(logs),
        "home_days": round(home_days, 2),
        "alerts": n_alerts,
        "alerts_by_kind": by_kind,
        "false_alerts_per_home_day": round(n_alerts / home_days, 4) if home_days > 0 else None,
        "device_notices_by_kind": notices,
        "moving_again_after_alerts": moved,
        "first_weeks_false_alerts_per_home_day": round(early_alerts / early_days, 4) if early_days > 0 else None,
        "rows_skipped": dict(skipped),
        "homes_skipped": unreadable,
    }
    if inject_n > 0:
        day = [t for t in trials if t.family == "day"]
        summary["injection"] = {"seed": seed, "per_home": inject_n, **summarise_trials(day)}
        summary["families"] = summarise_families(trials)
    summary["by_layout"] = summarise_layouts(layouts)
    print(json.dumps(summary), file=out, flush=True)
    return summary
