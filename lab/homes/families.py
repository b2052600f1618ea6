"""Evaluation families of injected stops: where in a home's life and day a resident stops moving.

Each family picks seeded, step-aligned cut moments in a log (the resident stops moving at the cut:
everything after it is dropped); the alert is timed from the last activity before the cut. The
future of the log is looked at only to *choose* a cut that fits the family (never by the detector):

- ``day``: a daytime stop (08:00–20:00) after the first week, the resident at home and up
  (:func:`lab.homes.replay.pick_cuts`);
- ``first_weeks``: the same in the home's first 7 days, before its routine is learned;
- ``evening``: a stop at 18:00–24:00 after the first week, the last activity that evening outside
  the bedroom and not the entrance door: a collapse in the living room, kitchen, hall or bathroom
  that must not pass for going to bed (not a sticky pad letting go hours late, which says nothing of
  where the resident is, nor with the bed pad reporting "occupied" since: in bed by then; nor a
  report within a minute of activity in the bedroom, such as the bathroom door swinging shut
  behind a resident already in the bedroom);
- ``after_home``: a stop within 3 minutes of coming in through the entrance door (the door after
  ≥ 30 min with nothing but the door, that door's passage having followed activity inside, pads
  aside, and not the door again before the cut), after the first week;
- ``night``: a stop on a night-time trip out of bed (23:00–05:00, after the first week): 1–3 min after
  the first activity outside the bedroom that follows ≥ 60 min with activity only in the bedroom or
  on the bed pad (a fall on the way to the toilet, or to the living room on a sleepless night), not
  out through the entrance door before the cut (gone out: nothing to find at home), nor back in the
  bedroom before it (a trip of a minute or two is over: a stop then is in bed). A NIGHT_ABSENCE
  alert counts as finding it, as do the inactivity kinds.

False alerts are counted per home-day over the whole log, and separately over the first 7 days.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from lab.homes.logs import HomeLog
from lab.homes.replay import STEP_MS, activity_index, after_door, pick_cuts

FAMILIES = ("day", "first_weeks", "evening", "after_home", "night")
NIGHT_FAMILIES = frozenset({"evening", "night"})
"""Families whose stops a NIGHT_ABSENCE alert finds too."""
FIRST_WEEKS_DAYS = 7.0
BEDROOM = frozenset({"bedroom", "bed"})
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
LATE_REPORT_MS = 60_000
"""A report this soon after activity in another room (a door swinging shut behind the resident, a
sensor reporting late) says nothing of where the resident is now."""


def _aligned(log: HomeLog, t: int, step_ms: int) -> int:
    first = log.entry.first_ms
    return first + ((t - first) // step_ms) * step_ms


def _door_between(log: HomeLog, act: npt.NDArray[np.int64], j: int, until_ms: int) -> bool:
    """Whether an entrance-door event is among the activity rows ``act[j:]`` before ``until_ms``."""
    return _any_between(log, act, j, until_ms, lambda i: log.kind[i] == "door")


def _bedroom_between(log: HomeLog, act: npt.NDArray[np.int64], j: int, until_ms: int) -> bool:
    """Whether activity in the bedroom (or on the bed pad) is among the rows ``act[j:]`` before ``until_ms``."""
    return _any_between(log, act, j, until_ms, lambda i: log.kind[i] != "seat" and log.location[i].lower() in BEDROOM)


def _any_between(log: HomeLog, act: npt.NDArray[np.int64], j: int, until_ms: int, row: Callable[[int], bool]) -> bool:
    """Whether ``row(i)`` holds for a log row ``i`` among the activity rows ``act[j:]`` before ``until_ms``."""
    while j < act.size and int(log.ts_ms[act[j]]) < until_ms:
        if row(int(act[j])):
            return True
        j += 1
    return False


def late_releases(log: HomeLog) -> npt.NDArray[np.bool_]:
    """Rows where a pressure pad lets go late: after repeating "occupied" while held (a sticky mat that
    re-reports), or after the resident was seen in another room since it was occupied (more than
    ``LATE_REPORT_MS`` after; a mat that holds "occupied" reports changes only). Such a pad lets go
    when it will, hours after the resident got up, so its release says nothing of where they are."""
    late = np.zeros(len(log.kind), dtype=bool)
    held: dict[str, tuple[int, bool, int, str]] = {}  # sensor → (state, repeated, since ms, room)
    for i, (kind, sensor) in enumerate(zip(log.kind, log.sensor, strict=True)):
        t, value = int(log.ts_ms[i]), int(log.state[i])
        if kind not in ("bed", "seat"):
            if value == 1 or kind != "motion":  # seen (a motion sensor clearing is no sighting)
                room = log.location[i].lower()
                for pad, (on, _, on_ms, pad_room) in held.items():
                    if on == 1 and room != pad_room and t - on_ms > LATE_REPORT_MS:
                        held[pad] = (on, True, on_ms, pad_room)
            continue
        state, repeated, since, where = held.get(sensor, (-1, False, t, log.location[i].lower()))
        late[i] = value == 0 and state == 1 and repeated
        if value != state:  # a change starts a new span
            repeated, since = False, t
        elif value == 1:  # "occupied" again while held
            repeated = True
        held[sensor] = (value, repeated, since, where)
    return late


def evening_cuts(log: HomeLog, n: int, rng: np.random.Generator, step_ms: int = STEP_MS) -> list[int]:
    """``n`` moments at 18:00–24:00 after the first week whose last activity (same evening, from 17:00)
    is neither in the bedroom nor the entrance door, nor a pad letting go late (:func:`late_releases`)."""
    act = activity_index(log)
    late = late_releases(log)
    lo = log.entry.first_ms + int(FIRST_WEEKS_DAYS * DAY_MS)
    if lo >= log.entry.last_ms or act.size == 0:
        return []
    cuts: set[int] = set()
    for _ in range(200 * n):
        if len(cuts) >= n:
            break
        t = _aligned(log, int(rng.integers(lo, log.entry.last_ms)), step_ms)
        if not 18 <= (t // HOUR_MS) % 24 < 24:
            continue
        j = int(np.searchsorted(log.ts_ms[act], t, side="right")) - 1
        if j < 0:
            continue
        i = int(act[j])
        previous = int(log.ts_ms[i])
        if previous // DAY_MS != t // DAY_MS or (previous // HOUR_MS) % 24 < 17:
            continue
        if after_door(log, act, j) or log.location[i].lower() in BEDROOM or log.kind[i] == "bed" or late[i]:
            continue
        j0 = int(np.searchsorted(log.ts_ms[act], previous - LATE_REPORT_MS, side="left"))
        if _bedroom_between(log, act, j0, previous + 1):
            continue  # the bedroom reached just before: a door swinging shut behind the resident, a late report
        upto = int(np.searchsorted(log.ts_ms, t, side="right"))
        if any(log.kind[x] == "bed" and log.state[x] == 1 for x in range(i + 1, upto)):
            continue  # the bed pad reports someone on it since (a repeat is no activity, but it is in bed)
        cuts.add(t)
    return sorted(cuts)


def arrival_cuts(
    log: HomeLog, n: int, rng: np.random.Generator, step_ms: int = STEP_MS, away_min_s: float = 1800.0
) -> list[int]:
    """Up to ``n`` moments just after coming home: the first step boundary ≥ 1 min after an entrance-door
    event that follows ≥ ``away_min_s`` of nothing but the door, within 3 minutes of it, where the
    passage before that gap followed activity inside (it went out; a door after door, gap, door, gap
    may be going out again)."""
    act = activity_index(log)
    lo = log.entry.first_ms + int(FIRST_WEEKS_DAYS * DAY_MS)
    ts = log.ts_ms[act]
    arrivals: list[int] = []
    for j in range(1, act.size):
        i = int(act[j])
        if log.kind[i] != "door" or int(ts[j]) < lo:
            continue
        before = int(act[j - 1])
        if log.kind[before] != "door" or int(ts[j] - ts[j - 1]) < away_min_s * 1000:
            continue
        # the passage before that gap went out (activity inside before it, pads aside: a pad may let go
        # long after the resident left): after door, gap, door, gap, the log cannot tell whether this
        # door is coming in or going out again
        b = j - 1
        while b > 0 and log.kind[int(act[b - 1])] == "door" and int(ts[b] - ts[b - 1]) <= 60_000:
            b -= 1
        if b == 0 or after_door(log, act, b - 1):
            continue
        # the last door event of this passage (open and close within 1 min)
        k = j
        while k + 1 < act.size and log.kind[int(act[k + 1])] == "door" and int(ts[k + 1] - ts[k]) <= 60_000:
            k += 1
        door = int(ts[k])
        cut = _aligned(log, door + 60_000 + step_ms - 1, step_ms)
        # through the door again before the cut, or at it (events at the cut are the detector's)
        out_again = _door_between(log, act, k + 1, cut + 1)
        if cut - door <= 180_000 and cut < log.entry.last_ms and not out_again:
            arrivals.append(cut)
    if len(arrivals) > n:
        arrivals = sorted(rng.choice(arrivals, size=n, replace=False).tolist())
    return sorted(set(int(a) for a in arrivals))


def night_cuts(log: HomeLog, n: int, rng: np.random.Generator, step_ms: int = STEP_MS) -> list[int]:
    """Up to ``n`` moments on a night-time trip out of bed (see the module docstring)."""
    act = activity_index(log)
    lo = log.entry.first_ms + int(FIRST_WEEKS_DAYS * DAY_MS)
    ts = log.ts_ms[act]
    last_out = -1  # the last activity outside the bedroom and off the pads
    cuts: list[int] = []
    for j in range(act.size):
        i = int(act[j])
        t = int(ts[j])
        kind = log.kind[i]
        if kind in ("bed", "seat") or log.location[i].lower() in BEDROOM:
            continue
        before, last_out = last_out, t
        hour = (t // HOUR_MS) % 24
        if t < lo or not (hour >= 23 or hour < 5) or kind == "door" or before < 0 or t - before < HOUR_MS:
            continue
        # in bed since: the hour before shows the bedroom or the bed pad
        k = int(np.searchsorted(ts, t, side="left")) - 1
        if k < 0 or t - int(ts[k]) > 6 * HOUR_MS:
            continue
        cut = _aligned(log, t + int(rng.integers(1, 4)) * step_ms, step_ms)
        # out through the entrance door before the cut: gone out, not fallen on the way to the toilet;
        # back in the bedroom before it: a trip of a minute or two is over, and a stop then is in bed
        out = _door_between(log, act, j + 1, cut + 1)
        back = _bedroom_between(log, act, j + 1, cut + 1)
        if t < cut <= t + 3 * step_ms and cut < log.entry.last_ms and not out and not back:
            cuts.append(cut)
    if len(cuts) > n:
        cuts = sorted(rng.choice(cuts, size=n, replace=False).tolist())
    return sorted(set(int(c) for c in cuts))


def family_cuts(log: HomeLog, family: str, n: int, rng: np.random.Generator, step_ms: int = STEP_MS) -> list[int]:
    """The cuts of one family (see the module docstring)."""
    if family == "day":
        return pick_cuts(log, n, rng, step_ms=step_ms)
    if family == "first_weeks":
        return pick_cuts(log, n, rng, warmup_days=0.0, until_days=FIRST_WEEKS_DAYS, step_ms=step_ms)
    if family == "evening":
        return evening_cuts(log, n, rng, step_ms)
    if family == "after_home":
        return arrival_cuts(log, n, rng, step_ms)
    if family == "night":
        return night_cuts(log, n, rng, step_ms)
    raise ValueError(f"unknown family {family!r}; one of {', '.join(FAMILIES)}")


def all_cuts(log: HomeLog, n: int, seed: int, step_ms: int = STEP_MS) -> list[tuple[int, str]]:
    """Every family's cuts (each family from its own seeded stream), sorted by time."""
    out: list[tuple[int, str]] = []
    for number, family in enumerate(FAMILIES):
        rng = np.random.default_rng([seed, number]) if family != "day" else np.random.default_rng(seed)
        out.extend((cut, family) for cut in family_cuts(log, family, n, rng, step_ms))
    return sorted(out)
