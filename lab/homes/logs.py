"""Loader for the "home event log set" (``index.csv`` + one CSV of binary sensor events per home).

Format (see ``data/README.md`` of the shared data): ``index.csv`` has ``file,home,first_ts,last_ts``,
and optionally ``usual_wake,usual_bed`` (``HH:MM``, what the archive records of the resident at
enrolment; a replay gives them to the detector as the registry would, an empty cell: not recorded);
each log has ``ts,sensor,kind,location,state`` with ``ts`` in ISO local time, ``kind`` one of
``motion, door, contact, bed, seat, flush, appliance`` and ``state`` 1 (on) / 0 (off). Local times
are kept as they are: a naive ISO time becomes epoch ms as if it were UTC, so a replay runs with a
UTC offset of 0 and sees the log's own clock. A row that cannot be read (an unknown kind, a time that
is no ISO time or before 1970, a state other than 0 or 1: ``NaN``, ``1e400``, ``2``, empty) is left
out and counted by its reason (:attr:`HomeLog.skipped`); the rest of the log is kept.

Logs converted from intervals at one-second resolution hold a sensor's end of one interval and start
of the next at the same second, in either order (van Kasteren's house A: nine times, written start
first). A pad read "occupied, occupied, free, free" lets go while the resident still sits on it, so
rows of one sensor at one time are put in the order that alternates with its state before
(:func:`alternating_order`): "free, occupied" when it was occupied (still there), "occupied, free"
when it was free (a moment's press).
"""

from __future__ import annotations

import calendar
import csv
import gzip
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from devices.events import Event, Stream
from lab.sensor_events import sensor_event
from registry.models import TIME_OF_DAY, minutes_of_day, time_of_day

KINDS = frozenset({"motion", "door", "contact", "bed", "seat", "flush", "appliance"})


def iso_to_ms(text: str) -> int:
    """ISO time → epoch ms; a naive (local) time is taken as-is (as if UTC)."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is not None:
        return int(moment.timestamp() * 1000)
    return calendar.timegm(moment.timetuple()) * 1000 + moment.microsecond // 1000


def ms_to_iso(ms: int) -> str:
    """Epoch ms → naive ISO time (the inverse of :func:`iso_to_ms` for local logs)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class HomeEntry:
    """One row of ``index.csv``: a home's log, its observation window (epoch ms) and, when recorded,
    the resident's usual wake-up and bed time (minutes after local midnight, ``None``: not recorded)."""

    file: str
    home: str
    first_ms: int
    last_ms: int
    routine: tuple[int | None, int | None] | None = None


def _index_minutes(text: str) -> int | None:
    """An index cell ``HH:MM`` (the archive's :data:`registry.models.TimeOfDay`) → minutes after
    midnight; an empty cell → None; anything else raises ValueError."""
    text = text.strip()
    if not text:
        return None
    if not TIME_OF_DAY.fullmatch(text):
        raise ValueError(f"{text[:20]!r} is not a time of day HH:MM (00:00–23:59)")
    return minutes_of_day(text)


@dataclass(frozen=True, slots=True)
class HomeLog:
    """One home's events, sorted by time (stable): parallel arrays/lists."""

    entry: HomeEntry
    ts_ms: npt.NDArray[np.int64]
    sensor: list[str]
    kind: list[str]
    location: list[str]
    state: npt.NDArray[np.int8]
    skipped: dict[str, int] = field(default_factory=dict)  # rows left out when loading, by reason

    def __len__(self) -> int:
        return int(self.ts_ms.shape[0])

    @property
    def days(self) -> float:
        return (self.entry.last_ms - self.entry.first_ms) / 86_400_000

    def events(self, resident_id: str | None = None) -> list[Event]:
        """The log as normalised events, as the gateway would produce them."""
        resident = resident_id or self.entry.home
        return [
            to_event(resident, sensor, kind, location, int(ts), bool(state))
            for ts, sensor, kind, location, state in zip(
                self.ts_ms.tolist(), self.sensor, self.kind, self.location, self.state.tolist(), strict=True
            )
        ]


def to_event(resident: str, sensor: str, kind: str, location: str, ts_ms: int, on: bool) -> Event:
    """One log row as an :class:`Event` (device id ``<resident>/<sensor>``); a row with no location is
    placed by its sensor's name (``bathroom_door``, ``pir_bedroom``: :func:`stream.rooms.room_code`
    reads the words)."""
    if kind == "motion":
        stream, values, dtype = Stream.MOTION, {"occupancy": on}, "pir"
    elif kind in ("bed", "seat"):
        stream, values, dtype = (Stream.BED if kind == "bed" else Stream.SEAT), {"occupied": on}, kind
    else:
        stream, values, dtype = Stream.CONTACT, {"open": on}, kind
    return sensor_event(
        stream, ts_ms, f"{resident}/{sensor}", resident, values, device_type=dtype, location=location or sensor
    )


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="")
    return path.open(newline="")


def _index_entry(row: dict[str, str | None]) -> HomeEntry | str:
    """One row of ``index.csv`` as a :class:`HomeEntry`, or why it cannot be one."""
    file = (row.get("file") or "").strip()
    if not file:
        return "no file"
    try:
        first, last = iso_to_ms(row.get("first_ts") or ""), iso_to_ms(row.get("last_ts") or "")
    except (ValueError, OverflowError, OSError):
        return "unreadable first_ts or last_ts"
    if not 0 <= first < last:
        return "the observation window is empty or before 1970"
    try:
        wake, bed = (_index_minutes(row.get(name) or "") for name in ("usual_wake", "usual_bed"))
    except ValueError as error:
        return f"usual_wake / usual_bed: {error}"
    routine = None if wake is None and bed is None else (wake, bed)
    return HomeEntry(file, (row.get("home") or "").strip() or Path(file).stem, first, last, routine)


def read_home_index(directory: Path) -> tuple[list[HomeEntry], dict[str, str]]:
    """The homes of a log set, in index order, and the index rows that are no home (``{file or row
    number: reason}``)."""
    entries: list[HomeEntry] = []
    problems: dict[str, str] = {}
    with (Path(directory) / "index.csv").open(newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), 2):
            entry = _index_entry(row)
            if isinstance(entry, HomeEntry):
                entries.append(entry)
            else:
                problems[(row.get("file") or "").strip() or f"index.csv line {number}"] = entry
    return entries, problems


def load_index(directory: Path) -> list[HomeEntry]:
    """The homes of a log set, in index order (rows that are no home left out: :func:`read_home_index`)."""
    return read_home_index(directory)[0]


MAX_SKIP_REASONS = 20
"""Distinct reasons counted per log; further ones are counted under "other" (a file of garbage must
not make the count as large as the file)."""


def _state_of(text: str | None) -> int | None:
    """A row's ``state``: 1 or 0 (``1``, ``0``, ``1.0``, ...), None for anything else."""
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return int(value) if value in (0.0, 1.0) else None


def _row_problem(row: dict[str, str | None]) -> tuple[str | None, tuple[int, str, int] | None]:
    """``(reason, None)`` for a row that cannot be read, else ``(None, (ts_ms, kind, state))``."""
    if any(row.get(name) is None for name in ("ts", "kind", "state")):
        return "row cut short", None
    k = (row.get("kind") or "").strip().lower()
    if k not in KINDS:
        return f"unknown kind {k[:40]!r}", None
    try:
        t = iso_to_ms(row.get("ts") or "")
    except (ValueError, OverflowError, OSError):
        return "unreadable ts", None
    if t < 0:  # (the detectors take negative times for "none")
        return "ts before 1970", None
    s = _state_of(row.get("state"))
    if s is None:
        return "state not 0 or 1", None
    return None, (t, k, s)


def alternating_order(ts: npt.NDArray[np.int64], sensor: list[str], state: list[int]) -> list[int]:
    """The rows in time order (stable), with the rows of one sensor at one time reordered among their
    places so that its states alternate from the one it was in before (off before its first row):
    ``1@a, 1@b, 0@b, 0@c`` becomes ``1@a, 0@b, 1@b, 0@c``. Rows of other sensors keep their places."""
    order = [int(i) for i in np.argsort(ts, kind="stable")]
    current: dict[str, int] = {}
    start = 0
    while start < len(order):
        end = start
        while end < len(order) and ts[order[end]] == ts[order[start]]:
            end += 1
        places: dict[str, list[int]] = {}
        for place in range(start, end):
            places.setdefault(sensor[order[place]], []).append(place)
        for name, where in places.items():
            rows = [order[place] for place in where]
            if len(rows) > 1:
                pending = {0: [i for i in rows if state[i] == 0], 1: [i for i in rows if state[i] == 1]}
                want = 1 - current.get(name, 0)
                arranged: list[int] = []
                while pending[0] or pending[1]:
                    side = want if pending[want] else 1 - want
                    arranged.append(pending[side].pop(0))
                    want = 1 - side
                for place, i in zip(where, arranged, strict=True):
                    order[place] = i
            current[name] = state[order[where[-1]]]
        start = end
    return order


def load_home(directory: Path, entry: HomeEntry) -> HomeLog:
    """One home's log; rows that cannot be read are left out and counted by reason (``skipped``); rows of
    one sensor at one time in alternating order (:func:`alternating_order`)."""
    ts: list[int] = []
    sensor: list[str] = []
    kind: list[str] = []
    location: list[str] = []
    state: list[int] = []
    skipped: Counter[str] = Counter()
    with _open(Path(directory) / entry.file) as handle:
        for row in csv.DictReader(handle):
            reason, parsed = _row_problem(row)
            if parsed is None:
                key = str(reason) if str(reason) in skipped or len(skipped) < MAX_SKIP_REASONS else "other"
                skipped[key] += 1
                continue
            t, k, s = parsed
            ts.append(t)
            sensor.append((row.get("sensor") or "").strip())
            kind.append(k)
            location.append((row.get("location") or "").strip().lower())
            state.append(s)
    order = alternating_order(np.asarray(ts, dtype=np.int64), sensor, state)
    return HomeLog(
        entry=entry,
        ts_ms=np.asarray(ts, dtype=np.int64)[order],
        sensor=[sensor[i] for i in order],
        kind=[kind[i] for i in order],
        location=[location[i] for i in order],
        state=np.asarray(state, dtype=np.int8)[order],
        skipped=dict(skipped),
    )


def load_home_set(directory: Path) -> tuple[list[HomeLog], dict[str, str]]:
    """Every home of a log set that can be read, and the others with their reason (an index row that
    is no home, a log file that is missing or no text)."""
    entries, problems = read_home_index(directory)
    logs: list[HomeLog] = []
    for entry in entries:
        try:
            logs.append(load_home(directory, entry))
        except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
            problems[entry.file] = f"{type(exc).__name__}: {exc}"[:200]
    return logs, problems


def load_homes(directory: Path) -> list[HomeLog]:
    """Every home of a log set that can be read (:func:`load_home_set`)."""
    return load_home_set(directory)[0]


def log_of_rows(
    rows: Sequence[tuple[int, str, str, str, int]], home: str = "x", entry: HomeEntry | None = None
) -> HomeLog:
    """A home log of ``(ts_ms, sensor, kind, location, state)`` rows in time order (cases written by hand,
    logs made or remade in the lab); its window is ``entry``'s, else from the first row to the last."""
    return HomeLog(
        entry=entry if entry is not None else HomeEntry(f"{home}.csv", home, rows[0][0], rows[-1][0]),
        ts_ms=np.array([r[0] for r in rows], dtype=np.int64),
        sensor=[r[1] for r in rows],
        kind=[r[2] for r in rows],
        location=[r[3] for r in rows],
        state=np.array([r[4] for r in rows], dtype=np.int8),
    )


def rows_of(log: HomeLog) -> list[tuple[int, str, str, str, int]]:
    """``log``'s ``(ts_ms, sensor, kind, location, state)`` rows, in order (:func:`log_of_rows` back)."""
    return list(zip(log.ts_ms.tolist(), log.sensor, log.kind, log.location, log.state.tolist(), strict=True))


def write_log_set(directory: Path, logs: list[HomeLog]) -> None:
    """Write ``index.csv`` (with ``usual_wake,usual_bed`` when a home has them) and one CSV per home (the
    "home event log set" format)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    routines = any(log.entry.routine is not None for log in logs)
    with (directory / "index.csv").open("w", newline="") as handle:
        index = csv.writer(handle)
        index.writerow(["file", "home", "first_ts", "last_ts"] + (["usual_wake", "usual_bed"] if routines else []))
        for log in logs:
            entry = log.entry
            row = [entry.file, entry.home, ms_to_iso(entry.first_ms), ms_to_iso(entry.last_ms)]
            if routines:
                row += ["" if m is None else time_of_day(m) for m in entry.routine or (None, None)]
            index.writerow(row)
            with (directory / log.entry.file).open("w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(["ts", "sensor", "kind", "location", "state"])
                for t, sensor, kind, location, state in rows_of(log):
                    writer.writerow([ms_to_iso(t), sensor, kind, location, state])
