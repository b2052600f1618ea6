"""Where a wearable is worn, read from how it moves (:mod:`stream.placement`): synthetic walks of a
pendant, a thigh and a wrist, and recording sets whose index names no placement."""

from __future__ import annotations

import csv
import gzip
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from devices.events import Event, ImuBlock, Stream
from lab.falls.playback import placement_of_source
from lab.falls.recordings import read_index, with_placements
from stream.falls import PLACEMENTS, FallDetector
from stream.placement import (
    MIN_WINDOWS,
    POCKET_MAX_DEG,
    WAIST_MAX_DEG,
    moving_swings,
    placement_from_motion,
)
from tests.harness import shared_data

Array = np.ndarray
DATA = shared_data()


def walk(
    pitch_deg: float, seconds: float = 60.0, rate_hz: float = 50.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A device walking at two steps a second: gravity pitched back and forth ``pitch_deg`` at the
    stride (1 Hz), and 0.3 g of vertical bounce at each step, with a little noise (g)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, seconds, 1.0 / rate_hz)
    pitch = np.radians(pitch_deg) * np.sin(2 * np.pi * 1.0 * t)
    bounce = 0.3 * np.sin(2 * np.pi * 2.0 * t)
    acc = np.stack([np.sin(pitch), np.zeros_like(t), np.cos(pitch)], axis=1) * (1.0 + bounce)[:, None]
    return t, (acc + rng.normal(0.0, 0.02, acc.shape)).astype(np.float32)


@pytest.mark.parametrize(("pitch", "where"), [(5.0, "waist"), (30.0, "pocket"), (55.0, "wrist")])
def test_a_walk_is_read_as_its_placement(pitch: float, where: str) -> None:
    """A pendant stays upright, a thigh pitches at every stride, an arm swings wider: the median swing
    of the moving windows follows the pitch amplitude (about two thirds of it: the 0.25 s slices
    average the extremes away) and names the placement."""
    swings = moving_swings(*walk(pitch))
    assert swings.shape[0] >= MIN_WINDOWS
    read = placement_from_motion([swings])
    assert read is not None and read.placement == where
    assert 0.55 * pitch < read.swing_deg < 0.8 * pitch
    assert (read.placement == "waist") == (read.swing_deg < WAIST_MAX_DEG)
    assert (read.placement == "wrist") == (read.swing_deg >= POCKET_MAX_DEG)
    assert read.basis.startswith("motion")


def test_rest_jumps_short_and_broken_signals_are_no_evidence() -> None:
    """Lying still (no moving window), a 1 s signal, hopping (|a| swinging past 0.6 g) and NaN or
    infinite samples: no window counts, so no placement is read; a bad sample among good ones is left
    out, not read as motion."""
    t = np.arange(0.0, 60.0, 0.02)
    still = np.tile(np.array([[0.0, 0.0, 1.0]], dtype=np.float32), (t.shape[0], 1))
    assert moving_swings(t, still).shape[0] == 0
    assert moving_swings(t[:50], still[:50]).shape[0] == 0
    hops = still * (1.0 + 3.0 * np.abs(np.sin(2 * np.pi * 1.5 * t)))[:, None].astype(np.float32)
    assert moving_swings(t, hops).shape[0] == 0
    assert placement_from_motion([]) is None
    assert placement_from_motion([moving_swings(t, still)]) is None
    t_w, acc = walk(30.0)
    broken = acc.copy()
    broken[::97] = np.nan
    broken[5] = np.inf
    read = placement_from_motion([moving_swings(t_w, broken)])
    assert read is not None and read.placement == "pocket"


def _recording_set(tmp_path: Path, sources: dict[str, float], placement_column: dict[str, str]) -> Path:
    """A recording set: per source, three walks at its pitch (regular 50 Hz ``ax,ay,az`` files)."""
    rows = []
    for source, pitch in sources.items():
        for k in range(3):
            _, acc = walk(pitch, seconds=30.0, seed=k)
            name = f"{source}_{k}.csv.gz"
            body = "ax,ay,az\n" + "\n".join(f"{x:.4f},{y:.4f},{z:.4f}" for x, y, z in acc)
            (tmp_path / name).write_bytes(gzip.compress(body.encode()))
            rows.append([name, "adl", f"S{k}", "walking", "50", "1", source, placement_column.get(source, "")])
    with (tmp_path / "index.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label", "subject", "activity", "rate_hz", "scale_g", "source", "placement"])
        writer.writerows(rows)
    return tmp_path


def test_a_set_that_names_no_placement_is_read_from_its_motion(tmp_path: Path) -> None:
    """A set whose source and placement column name nothing is read from its recordings (and says so);
    a placement column or a source's name always wins over the motion."""
    directory = _recording_set(
        tmp_path,
        {"SetB": 5.0, "SetP": 30.0, "SetW": 55.0, "Study-wrist": 30.0, "Labelled": 55.0},
        {"Labelled": "trouser pocket"},
    )
    rows = with_placements(directory, read_index(directory))
    got = {r.source: (placement_of_source(r), r.placement_basis) for r in rows}
    assert {s: p for s, (p, _) in got.items()} == {
        "SetB": "waist",
        "SetP": "pocket",
        "SetW": "wrist",
        "Study-wrist": "wrist",
        "Labelled": "pocket",
    }
    assert all(basis.startswith("motion") for s, (_, basis) in got.items() if s in ("SetB", "SetP", "SetW"))
    assert got["Study-wrist"][1] == got["Labelled"][1] == ""


def test_the_development_sets_are_read_at_their_placements(tmp_path: Path) -> None:
    """SisFall's waist device, and UMAFall's wristband and pocket phone with their sources' names taken
    away, are read at the waist, the wrist and the pocket (a regression check: the thresholds were set
    between these sets)."""
    falls, placed = DATA / "falls", DATA / "falls-placements"
    if not (falls / "index.csv").exists() or not (placed / "index.csv").exists():
        pytest.skip("the shared datasets are not beside the project")
    sisfall = with_placements(falls, read_index(falls)[:300])
    assert {r.placement for r in sisfall} == {"waist"} and sisfall[0].placement_basis.startswith("motion")
    anonymous = {"UMAFall-thigh": "SetA", "UMAFall-wrist": "SetB"}
    unnamed = [replace(r, source=anonymous[r.source], placement="") for r in read_index(placed)]
    read = {r.source: r.placement for r in with_placements(placed, unnamed)}
    assert read == {"SetA": "pocket", "SetB": "wrist"}


def _blocks(device_id: str, device_type: str, t: Array, acc: Array, location: str = "") -> list[Event]:
    """One IMU event per second of samples."""
    out = []
    t_ms = 1_700_000_000_000 + t * 1000.0
    for lo in range(0, t.shape[0], 50):
        block = ImuBlock(t_ms=t_ms[lo : lo + 50], acc=acc[lo : lo + 50])
        ts = int(t_ms[min(lo + 49, t.shape[0] - 1)])
        out.append(Event(device_id, "r-1", Stream.IMU, ts, ts, device_type=device_type, location=location, imu=block))
    return out


def test_a_live_device_the_registry_does_not_place_is_read_from_its_walking() -> None:
    """A wearable registered as a bare "imu" (no placement in its type or location) is scored at the
    waist until two minutes of walking show its swing, then at the placement read (kept in snapshots);
    a device the registry places is never read, whatever its motion."""
    t, arm = walk(55.0, seconds=200.0)
    detector = FallDetector()
    for event in _blocks("x-1", "imu", t, arm) + _blocks("b-1", "imu", t, arm, location="belt"):
        detector.process([event], event.ts_ms)
    placement = dict(
        zip(detector.snapshot()["devices"].tolist(), detector.snapshot()["placement"].tolist(), strict=True)
    )
    assert PLACEMENTS[placement["x-1"]] == "wrist" and PLACEMENTS[placement["b-1"]] == "waist"
    assert detector._basis == {"x-1": detector._reader.read("x-1").basis, "b-1": "registry"}  # type: ignore[union-attr]
    again = FallDetector()
    again.restore(detector.snapshot())
    assert again._reader.read("x-1") == detector._reader.read("x-1")
    early = FallDetector()
    for event in _blocks("x-1", "imu", t[:3000], arm[:3000]):  # one minute: not yet
        early.process([event], event.ts_ms)
    assert early._reader.read("x-1") is None and early.snapshot()["placement"].tolist() == [0]
