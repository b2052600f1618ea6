"""Load an "IMU recording set": ``index.csv`` plus one CSV (optionally gzip) per recording.

Format (see ``shared/data/README.md``):

- ``index.csv``: ``file,label,subject,activity,rate_hz,scale_g,source``; ``label`` is ``fall`` or
  ``adl`` (or empty when unlabelled); an optional ``placement`` column says where the device is worn
  (else the source's name, ``UMAFall-wrist``, else its recordings' motion: :func:`with_placements`).
- each recording: header ``ax,ay,az`` (regular sampling at ``rate_hz``) or ``t,ax,ay,az`` (``t`` in
  seconds from the start, possibly irregular). Accelerations times ``scale_g`` are in g.

Decoded recordings are cached in memory (per process) so repeated passes over a set are cheap.
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

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if self.t_s.shape[0] > 1 else 0.0


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
                    rate_hz=float(row.get("rate_hz") or 0.0),
                    scale_g=float(row.get("scale_g") or 1.0),
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
    """Decode one recording's CSV text into ``(t_s, acc_g)``.

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
    if body.strip():
        values = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
    else:
        values = np.zeros((0, columns), dtype=np.float64)
    if values.shape[1] != columns:
        raise ValueError(f"expected {columns} columns, got {values.shape[1]}")
    if columns == 3:
        if rate_hz <= 0:
            raise ValueError("a regular recording needs rate_hz > 0")
        t_s = np.arange(values.shape[0], dtype=np.float64) / rate_hz
        acc = values * scale_g
    else:
        t_s = np.ascontiguousarray(values[:, 0])
        acc = values[:, 1:] * scale_g
    return t_s, np.ascontiguousarray(acc, dtype=np.float32)


@cache
def _load_cached(path: str, rate_hz: float, scale_g: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
    raw = Path(path).read_bytes()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    t_s, acc = parse_csv(raw.decode("utf-8"), rate_hz, scale_g)
    t_s.setflags(write=False)
    acc.setflags(write=False)
    return t_s, acc


def load_recording(directory: Path, info: RecordingInfo) -> Recording:
    """Decode (or fetch from the in-process cache) the recording described by ``info``."""
    t_s, acc = _load_cached(str(Path(directory) / info.file), info.rate_hz, info.scale_g)
    return Recording(info=info, t_s=t_s, acc=acc)
