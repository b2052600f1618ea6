"""The durable local buffer between the stream core and alerting's database.

When PostgreSQL cannot take an alert, its detection is appended here (one JSON line, fsync'd) before
the broker's message is acknowledged, so a database outage loses nothing; the spool is drained in
order when the database returns. Alert storage is idempotent by detection key, so draining after a
crash mid-drain never pages twice. A spool that cannot be written (disk full, quota reached) raises
:class:`SpoolFull`: the caller must then hold back acknowledgements (the broker keeps the messages)
and turn the health check red, never drop the alarm.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stream.detections import Detection, DetectionKind


class SpoolFull(OSError):
    """The spool cannot take more (its quota or the disk is full)."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(detection: Detection) -> bytes:
    record = {
        "resident_id": detection.resident_id,
        "device_id": detection.device_id,
        "kind": detection.kind.value,
        "ts_ms": detection.ts_ms,
        "detected_ms": detection.detected_ms,
        "key": detection.key,
        "confidence": detection.confidence,
        "details": dict(detection.details),
    }
    return json.dumps(record, separators=(",", ":"), default=_jsonable, ensure_ascii=False).encode() + b"\n"


def decode(line: bytes) -> Detection:
    record = json.loads(line)
    return Detection(
        resident_id=record["resident_id"],
        device_id=record["device_id"],
        kind=DetectionKind(record["kind"]),
        ts_ms=int(record["ts_ms"]),
        detected_ms=int(record["detected_ms"]),
        key=record["key"],
        confidence=float(record["confidence"]),
        details=record["details"],
    )


class Spool:
    """An append-only, fsync'd journal of detections with a byte quota."""

    def __init__(self, path: Path, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._entries: list[bytes] = []
        if path.exists():
            for line in path.read_bytes().splitlines(keepends=True):
                if line.endswith(b"\n"):  # a torn last line (crash mid-write) was never acknowledged
                    self._entries.append(line)
            self._rewrite()
        self.size_bytes = sum(len(entry) for entry in self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, detections: Sequence[Detection]) -> None:
        lines = [encode(d) for d in detections]
        added = sum(len(line) for line in lines)
        if self.size_bytes + added > self.max_bytes:
            raise SpoolFull(f"spool {self.path} is full ({self.size_bytes} of {self.max_bytes} bytes)")
        try:
            with self.path.open("ab") as handle:
                handle.write(b"".join(lines))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise SpoolFull(f"spool {self.path} cannot be written: {error}") from error
        self._entries.extend(lines)
        self.size_bytes += added

    def peek(self, limit: int) -> list[Detection]:
        return [decode(line) for line in self._entries[:limit]]

    def drop(self, count: int) -> None:
        """Forget the first ``count`` detections (they are stored)."""
        del self._entries[:count]
        self.size_bytes = sum(len(entry) for entry in self._entries)
        self._rewrite()

    def _rewrite(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            handle.write(b"".join(self._entries))
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)
