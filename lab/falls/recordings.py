"""Load an "IMU recording set": ``index.csv`` plus one CSV (optionally gzip) per recording.

Format (see ``shared/data/README.md``):

- ``index.csv``: ``file,label,subject,activity,rate_hz,scale_g,source``; ``label`` is ``fall`` or
  ``adl`` (or empty when unlabelled); an optional ``placement`` column says where the device is worn
  (else the source's name, ``UMAFall-wrist``, else its recordings' motion: :func:`with_placements`).
- each recording: header ``ax,ay,az`` (regular sampling at ``rate_hz``) or ``t,ax,ay,az`` (``t`` in
  seconds from the start, possibly irregular). Accelerations times ``scale_g`` are in g.

Decoded recordings are cached in memory (per process) so repeated passes over a set are cheap.

Bad input is left out, counted, and the rest kept (:attr:`Recording.unreadable_rows`): a field that
is no number (empty, ``abc``) reads as NaN, a sample the detectors skip, so a regular recording keeps
its timing; a row of ``t,ax,ay,az`` whose time is not a finite number is dropped; a row with the wrong
number of fields is read as NaN (regular) or dropped. A file that cannot be read at all (missing,
not gzip, not text, an unknown header) is an empty recording with its reason (``problem``).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from stream.placement import moving_swings, placement_from_motion, placement_in


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    """One row of ``index.csv``."""

    file: str
    label: str
    subject: str
    activity: str
    rate_hz: float
    scale_g: float
    source: str
    placement: str = ""  # where the device is worn: the index's ``placement`` column or the source's words
    placement_basis: str = ""  # how that was known (empty: from the index or the source's name)


@dataclass(frozen=True, slots=True)
class Recording:
    """A decoded recording: ``t_s`` seconds from the start (float64), ``acc`` in g (float32, (n, 3))."""

    info: RecordingInfo
    t_s: npt.NDArray[np.float64]
    acc: npt.NDArray[np.float32]
    unreadable_rows: int = 0  # rows read as NaN samples or dropped (see the module docstring)
    problem: str = ""  # why the file could not be read at all (then no samples)

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if self.t_s.shape[0] > 1 else 0.0


def _number(text: str | None, empty: float) -> float:
    """An index column's number: ``empty`` when blank, NaN when unreadable (the recording then says so)."""
    if not (text or "").strip():
        return empty
    try:
        return float(text or "")
    except ValueError:
        return float("nan")


def read_index(directory: Path) -> list[RecordingInfo]:
    """The rows of ``directory/index.csv`` in file order; missing optional columns get defaults."""
    rows: list[RecordingInfo] = []
    with (Path(directory) / "index.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append(
                RecordingInfo(
                    file=row["file"].strip(),
                    label=(row.get("label") or "").strip().lower(),
                    subject=(row.get("subject") or "").strip(),
                    activity=(row.get("activity") or "").strip(),
                    rate_hz=_number(row.get("rate_hz"), 0.0),
                    scale_g=_number(row.get("scale_g"), 1.0),
                    source=(row.get("source") or "").strip(),
                    placement=named_placement(row.get("placement") or "", row.get("source") or ""),
                )
            )
    return rows


def named_placement(placement: str, source: str) -> str:
    """The placement an index row names, in its ``placement`` column or its source (``UMAFall-thigh``:
    pocket, :func:`stream.placement.placement_in`), or "" when neither does."""
    return placement_in(placement) or placement_in(source) or ""


def with_placements(directory: Path, rows: Sequence[RecordingInfo]) -> list[RecordingInfo]:
    """``rows`` with every placement known: a source whose rows name none is read from its recordings'
    motion (:func:`stream.placement.placement_from_motion`, all of that source's recordings, as a
    registry would know one device type), waist when they show too little movement to tell."""
    unnamed = sorted({r.source for r in rows if not r.placement})
    found = {
        source: _read_from_motion(str(directory), tuple(r for r in rows if r.source == source and not r.placement))
        for source in unnamed
    }
    return [
        r if r.placement else replace(r, placement=found[r.source][0], placement_basis=found[r.source][1]) for r in rows
    ]


@cache
def _read_from_motion(directory: str, rows: tuple[RecordingInfo, ...]) -> tuple[str, str]:
    """``(placement, basis)`` of one source's recordings, read once per process (every replay, fold
    and augmentation of a set asks again)."""
    swings = (moving_swings(*_signal(Path(directory), r)) for r in rows)
    read = placement_from_motion(swings)
    return (read.placement, read.basis) if read else ("waist", "default: too little movement to read")


def _signal(directory: Path, info: RecordingInfo) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
    rec = load_recording(directory, info)
    return rec.t_s, rec.acc


def parse_csv(text: str, rate_hz: float, scale_g: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
    """Decode one recording's CSV text into ``(t_s, acc_g)`` (:func:`decode_csv` without the count)."""
    t_s, acc, _ = decode_csv(text, rate_hz, scale_g)
    return t_s, acc


def _tolerant_rows(body: str, columns: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Every non-blank line of ``body`` as ``columns`` floats, a field that is no number as NaN and a
    line with another number of fields as all NaN; and which lines had such a problem."""
    rows: list[list[float]] = []
    bad: list[bool] = []
    for line in body.splitlines():
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != columns:
            rows.append([float("nan")] * columns)
            bad.append(True)
            continue
        row: list[float] = []
        failed = False
        for field in fields:
            try:
                row.append(float(field))
            except ValueError:
                row.append(float("nan"))
                failed = True
        bad.append(failed)
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(-1, columns), np.asarray(bad, dtype=np.bool_)


def decode_csv(
    text: str, rate_hz: float, scale_g: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32], int]:
    """Decode one recording's CSV text into ``(t_s, acc_g, unreadable_rows)``.

    Raises ``ValueError`` for an unknown header or a regular layout without a positive ``rate_hz``.
    """
    newline = text.find("\n")
    header = [h.strip().lower() for h in text[: newline if newline >= 0 else len(text)].split(",")]
    body = text[newline + 1 :] if newline >= 0 else ""
    if header == ["ax", "ay", "az"]:
        columns = 3
    elif header == ["t", "ax", "ay", "az"]:
        columns = 4
    else:
        raise ValueError(f"unknown recording header {header!r}")
    if columns == 3 and not 0 < rate_hz < np.inf:
        raise ValueError("a regular recording needs rate_hz > 0")
    if not 0 < scale_g < np.inf:
        raise ValueError("scale_g must be a positive number")
    values = np.zeros((0, columns), dtype=np.float64)
    if body.strip():
        try:
            values = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError:  # a field that is no number, a row cut short: line by line
            values = np.zeros((0, 0), dtype=np.float64)
    bad = np.zeros(values.shape[0], dtype=np.bool_)
    if values.shape[1] != columns:
        values, bad = _tolerant_rows(body, columns)
    with np.errstate(over="ignore", invalid="ignore"):
        if columns == 3:
            t_s = np.arange(values.shape[0], dtype=np.float64) / rate_hz
            acc = values * scale_g
        else:
            timed = np.isfinite(values[:, 0])
            bad |= ~timed
            values = values[timed]
            t_s = np.ascontiguousarray(values[:, 0])
            acc = values[:, 1:] * scale_g
    return t_s, np.ascontiguousarray(acc, dtype=np.float32), int(np.count_nonzero(bad))


@cache
def _load_cached(
    path: str, rate_hz: float, scale_g: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32], int, str]:
    try:
        raw = Path(path).read_bytes()
        if path.endswith(".gz"):
            raw = gzip.decompress(raw)
        t_s, acc, unreadable = decode_csv(raw.decode("utf-8"), rate_hz, scale_g)
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        t_s, acc, unreadable = np.zeros(0), np.zeros((0, 3), dtype=np.float32), 0
        problem = f"{type(exc).__name__}: {exc}"[:200]
    else:
        problem = ""
    t_s.setflags(write=False)
    acc.setflags(write=False)
    return t_s, acc, unreadable, problem


def load_recording(directory: Path, info: RecordingInfo) -> Recording:
    """Decode (or fetch from the in-process cache) the recording described by ``info``; one that cannot
    be read at all has no samples and says why (``problem``)."""
    t_s, acc, unreadable, problem = _load_cached(str(Path(directory) / info.file), info.rate_hz, info.scale_g)
    return Recording(info=info, t_s=t_s, acc=acc, unreadable_rows=unreadable, problem=problem)
