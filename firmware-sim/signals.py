"""Accelerometer signals for simulated pendants and wristbands, from real recordings.

Daily activity is a loop of gentle activity recordings and a fall is a real fall recording, from
the placement the device is worn at: a pendant (neck/waist) plays SisFall (SE subjects walking,
sitting down and getting up, lying down, bending; SA subjects' falls F01–F15), a wristband plays
UMAFall's wrist recordings (walking, opening a door, sitting down and getting up, bending; forward,
backward and lateral falls). Both are read with :mod:`lab.falls.recordings`, low-pass filtered and
resampled to the device's rate, and turned by the device's own orientation (devices are worn every
which way). When the recordings are not on this machine a synthetic walk and fall stand in, so the
simulator still runs anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from lab.falls.recordings import RecordingInfo, load_recording, read_index

GENTLE_ACTIVITIES = frozenset(
    {"D01", "D05", "D07", "D09", "D12", "D14", "D15", "D16", "Walking", "OpeningDoor", "Sitting_GettingUpOnAChair"}
)
"""Activities an older person does all day: walk, stairs, sit and stand, lie down, bend (SisFall
codes, UMAFall names)."""
WRIST_SOURCE = "UMAFall-wrist"

Acc = npt.NDArray[np.float32]


def falls_directory(name: str = "falls") -> Path:
    """A shared IMU recording set (``ELDERCARE_SHARED_DATA``/name, else ``../shared/data/name``)."""
    env = os.environ.get("ELDERCARE_SHARED_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return root / name


def resample(t_s: npt.NDArray[np.float64], acc: npt.NDArray[np.float32], hz: float) -> Acc:
    """Box-filter (as a device's anti-alias filter would) and interpolate onto a regular ``hz`` grid."""
    if t_s.shape[0] < 2:
        return np.asarray(acc, dtype=np.float32).reshape(-1, 3)
    source_hz = (t_s.shape[0] - 1) / max(1e-9, float(t_s[-1] - t_s[0]))
    width = max(1, round(source_hz / hz))
    if width > 1:
        kernel = np.ones(width) / width
        acc = np.column_stack([np.convolve(acc[:, i], kernel, mode="same") for i in range(3)]).astype(np.float32)
    grid = np.arange(float(t_s[0]), float(t_s[-1]), 1.0 / hz)
    return np.column_stack([np.interp(grid, t_s, acc[:, i]) for i in range(3)]).astype(np.float32)


def random_rotation(rng: np.random.Generator) -> npt.NDArray[np.float32]:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q.astype(np.float32)


@dataclass(frozen=True, slots=True)
class FallClip:
    """A fall at the device's rate: ``acc`` (g, recording axes) and the recording it came from."""

    acc: Acc
    source: str


class SignalLibrary:
    """Recordings decoded once per process and resampled once per rate; ``wrist`` for wristbands.

    ``directory``: the waist/pendant set (SisFall); ``wrist_directory``: a set holding
    ``UMAFall-wrist`` recordings (without one, wristbands play the waist set).
    """

    def __init__(self, directory: Path | None = None, wrist_directory: Path | None = None) -> None:
        self.directory = directory or falls_directory()
        self.available = (self.directory / "index.csv").exists()
        self._index: list[RecordingInfo] = read_index(self.directory) if self.available else []
        self.wrist: SignalLibrary | None = None
        wrist_directory = wrist_directory or falls_directory("falls-placements")
        if directory is None and (wrist_directory / "index.csv").exists():
            wrist = SignalLibrary(wrist_directory, wrist_directory)
            wrist._index = [r for r in wrist._index if r.source == WRIST_SOURCE]
            if wrist._index:
                self.wrist = wrist

    def worn_at(self, worn: str) -> SignalLibrary:
        """The library for a device worn at ``worn`` (``wrist``, ``neck``, …)."""
        return self.wrist if worn == "wrist" and self.wrist is not None else self

    def falls(self) -> list[RecordingInfo]:
        return [r for r in self._index if r.label == "fall"]

    @lru_cache(maxsize=8)  # noqa: B019 - one library per process, kept for its lifetime
    def daily(self, hz: float) -> Acc:
        """About ten minutes of gentle daily activity at ``hz``, to loop over."""
        if not self.available:
            return synthetic_walk(hz, 600.0)
        chosen = [
            r
            for r in self._index
            if r.label == "adl" and r.activity in GENTLE_ACTIVITIES and not r.subject.startswith("SA")
        ] or [r for r in self._index if r.label == "adl"]
        rng = np.random.default_rng(7)
        rng.shuffle(chosen)  # type: ignore[arg-type]
        parts: list[Acc] = []
        total = 0
        for info in chosen:
            rec = load_recording(self.directory, info)
            part = resample(rec.t_s, rec.acc, hz)
            parts.append(part)
            total += part.shape[0]
            if total > 600 * hz:
                break
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def fall(self, hz: float, choice: str | int | None = None, seed: int = 0) -> FallClip:
        """A fall recording at ``hz``: by file name, by index into the falls, or chosen by ``seed``."""
        falls = self.falls()
        if not falls:
            return FallClip(synthetic_fall(hz), "synthetic")
        if isinstance(choice, str):
            info = next(r for r in falls if r.file == choice or r.file.startswith(choice))
        elif isinstance(choice, int):
            info = falls[choice % len(falls)]
        else:
            info = falls[np.random.default_rng(seed).integers(len(falls))]
        rec = load_recording(self.directory, info)
        return FallClip(resample(rec.t_s, rec.acc, hz), info.file)


def still(last: Acc, n: int, rng: np.random.Generator, noise_g: float = 0.004) -> Acc:
    """Lying still after a fall: the last posture held, with sensor noise."""
    tail = last[-max(1, min(len(last), 10)) :]
    mean = tail.mean(axis=0) if len(tail) else np.array([0.0, 0.0, 1.0], dtype=np.float32)
    return (mean + rng.normal(0.0, noise_g, size=(n, 3))).astype(np.float32)


def synthetic_walk(hz: float, seconds: float) -> Acc:
    t = np.arange(0.0, seconds, 1.0 / hz)
    rng = np.random.default_rng(3)
    y = -1.0 + 0.15 * np.sin(2 * np.pi * 1.8 * t)
    x = 0.05 * np.sin(2 * np.pi * 0.9 * t)
    z = 0.05 * np.cos(2 * np.pi * 1.8 * t)
    return (np.column_stack([x, y, z]) + rng.normal(0, 0.01, size=(t.size, 3))).astype(np.float32)


def synthetic_fall(hz: float) -> Acc:
    """Standing, 0.4 s of free fall, a 4 g impact, then lying on the side."""
    n = lambda s: round(s * hz)  # noqa: E731
    stand = np.tile([0.0, -1.0, 0.0], (n(4.0), 1))
    free = np.tile([0.0, -0.2, 0.0], (n(0.4), 1))
    impact = np.tile([1.5, -3.5, 1.0], (max(1, n(0.06)), 1))
    lie = np.tile([1.0, 0.0, 0.05], (n(8.0), 1))
    rng = np.random.default_rng(5)
    acc = np.concatenate([stand, free, impact, lie])
    return (acc + rng.normal(0, 0.01, size=acc.shape)).astype(np.float32)
