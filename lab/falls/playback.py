"""Recordings played back as simulated wearables through the live fall detector.

Each recording becomes one simulated wearable: its samples are cut into device-sized messages
(0.5–2 s, seeded), wrapped as :class:`devices.events.Event` objects and fed, many devices at a time,
through :meth:`stream.core.StreamCore.process` on a simulated clock, then ``advance``. Each is worn
at a placement read from its ``source`` (:func:`placement_of_source`), and its device is registered
with that placement's type, so the detector scores it with that placement's model.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from devices.events import Event, ImuBlock, Stream
from lab.falls.augment import Transform
from lab.falls.recordings import RecordingInfo, load_recording
from stream.core import StreamCore
from stream.detections import Detection, DetectionKind
from stream.falls import FallDetector, FallParams
from stream.placement import placement_in

EPOCH_MS = 1_700_000_000_000
"""Simulated wall-clock start of every recording (epoch ms)."""
GROUP = 128
"""Recordings replayed at once (each as its own device and resident)."""

Model = FallParams | Mapping[str, FallParams]
"""One set of parameters for every placement, or parameters per placement (``FallDetector``'s)."""
DEVICE_TYPE = {"waist": "pendant", "wrist": "wristband", "pocket": "phone"}
"""The registry type a replayed recording's device gets for its placement."""


def placement_of_source(info: RecordingInfo) -> str:
    """The placement of a recording set's device: the index's (its ``placement`` column, or its source's
    name: ``wrist`` for a wrist / watch / band set, ``pocket`` for a thigh / pocket / phone set), or
    read from motion (:func:`lab.falls.recordings.with_placements`), else ``waist``."""
    return info.placement or placement_in(info.source) or "waist"


@dataclass(slots=True)
class RecordingResult:
    index: int
    info: RecordingInfo
    duration_s: float
    detections: list[Detection]


def progress(err: TextIO | None, message: str) -> None:
    if err is not None:
        print(message, file=err, flush=True)


def replay_recordings(
    directory: Path,
    rows: Sequence[RecordingInfo],
    params: Model,
    indices: Sequence[int],
    *,
    transform: Transform | None = None,
    seed: int = 0,
    err: TextIO | None = None,
    label: str = "",
) -> list[RecordingResult]:
    """Replay ``rows[i]`` for ``i in indices`` through a ``StreamCore`` running one ``FallDetector``
    (``params`` for every placement, or per placement), each recording's device typed for its
    placement (:func:`placement_of_source`)."""
    results: list[RecordingResult] = []
    started = time.monotonic()
    force_s = params.force_s if isinstance(params, FallParams) else max(p.force_s for p in params.values())
    for g0 in range(0, len(indices), GROUP):
        group = list(indices[g0 : g0 + GROUP])
        detector = FallDetector(params) if isinstance(params, FallParams) else FallDetector(placements=params)
        core = StreamCore([detector])
        chunks: list[tuple[float, int, Event]] = []
        durations: dict[int, float] = {}
        for i in group:
            rec = load_recording(directory, rows[i])
            device_type = DEVICE_TYPE[placement_of_source(rows[i])]
            rng = np.random.default_rng([seed, i])
            empty = rec.t_s.shape[0] < 2  # (a file that could not be read: nothing to transform)
            t_s, acc = (rec.t_s, rec.acc) if transform is None or empty else transform(rec.t_s, rec.acc, rng)
            durations[i] = float(t_s[-1] - t_s[0]) if t_s.shape[0] > 1 else 0.0
            t_ms = EPOCH_MS + t_s * 1000.0
            lo = 0
            while lo < t_ms.shape[0]:
                end_ms = t_ms[lo] + rng.uniform(500.0, 2000.0)
                hi = max(lo + 1, int(np.searchsorted(t_ms, end_ms, side="left")))
                block = ImuBlock(t_ms=t_ms[lo:hi], acc=acc[lo:hi])
                ts = int(t_ms[hi - 1])
                event = Event(
                    device_id=f"rec{i}",
                    resident_id=f"res{i}",
                    stream=Stream.IMU,
                    ts_ms=ts,
                    received_ms=ts,
                    device_type=device_type,
                    imu=block,
                )
                chunks.append((float(t_ms[hi - 1]), i, event))
                lo = hi
        chunks.sort(key=lambda c: (c[0], c[1]))
        found: dict[int, list[Detection]] = {i: [] for i in group}

        def collect(detections: list[Detection], found: dict[int, list[Detection]] = found) -> None:
            for d in detections:
                if d.kind is DetectionKind.FALL:
                    found[int(d.device_id[3:])].append(d)

        tick = EPOCH_MS + 1000
        pos = 0
        quiet_until = (chunks[-1][0] if chunks else EPOCH_MS) + force_s * 1000 + 2000
        while pos < len(chunks) or tick <= quiet_until:
            batch: dict[str, list[Event]] = {}
            while pos < len(chunks) and chunks[pos][0] <= tick:
                event = chunks[pos][2]
                batch.setdefault(event.resident_id, []).append(event)
                pos += 1
            if batch:
                collect(core.process(batch, tick))
            collect(core.advance(tick))
            tick += 1000
        for i in group:
            results.append(RecordingResult(i, rows[i], durations[i], found[i]))
        progress(
            err,
            f"{label}replayed {g0 + len(group)}/{len(indices)} recordings ({time.monotonic() - started:.0f} s)",
        )
    return results
