"""Where a wearable is worn: as its registry record names it (:func:`placement_of`), else read from
how it moves (:func:`placement_from_motion`, :class:`PlacementReader`).

The fall detectors are per placement (:data:`stream.falls.PLACEMENTS`), and scoring a wristband or a
pocket phone as a waist pendant costs most of their specificity (UMAFall U01–U08, leave-one-subject-out
models: the pocket 99.5 → 90.1 %, a phone taken out for a call alarms; the wrist 97.4 → about 81 %).
The registry says where a device is worn (:func:`placement_of`); when it does not, the
device's own motion does. While its wearer walks, a pendant or belt clip stays upright, a phone in a
trouser pocket pitches with the thigh at every stride, and a wristband swings with the arm:

- the signal is cut into half-overlapping windows of ``WINDOW_S`` (2 s); a window is *moving* when
  the standard deviation σ of the acceleration magnitude |a| (g) over it lies in
  (``MOVING_MIN_G``, ``MOVING_MAX_G``) = (0.12, 0.6) g: walking, stairs, brisk movement; not rest,
  not jumps, impacts or falls;
- its gravity direction is sampled as the unit mean acceleration uₖ = āₖ / |āₖ| of each ``SUB_S``
  (0.25 s) slice, and its *swing* is the largest angle (degrees) between a uₖ and their normalised
  mean m: ``swing = max_k arccos(uₖ · m)``;
- the placement is read from the median swing S over the moving windows (at least ``MIN_WINDOWS``;
  fewer: no evidence): S < ``WAIST_MAX_DEG`` (17°) waist, S < ``POCKET_MAX_DEG`` (28°) pocket, else
  wrist.

Over each whole development set (as recorded, and its 20 Hz, ±2 g and irregular ~87 Hz ±2 g copies
of :mod:`lab.falls.augment`): SisFall at the waist 10.8–11.8°, the UMAFall pocket phone 22.4–25.6°, the
UMAFall wristband 30.1–36.7°; the thresholds are the midpoints between those ranges. Per person the
pocket (20–31°) and the wrist (22–44°) overlap: one person's readings can be wrong between those two
(of the 24 readings of UMAFall's 8 people as recorded and in those two copies, 3 wristbands and 4
pocket phones read the other way; every SisFall person reads at the waist); a set of several people
is read reliably, and a registry record that names the placement always wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

WRIST_TYPES = frozenset({"wristband", "watch", "smartwatch", "bracelet"})
POCKET_TYPES = frozenset({"phone", "smartphone", "mobile"})
PLACEMENT_WORDS: dict[str, frozenset[str]] = {
    "wrist": WRIST_TYPES | {"wrist", "band", "hand", "arm", "forearm"},
    "pocket": POCKET_TYPES | {"pocket", "thigh", "trouser", "trousers", "pants", "leg"},
    "waist": frozenset({"waist", "belt", "hip", "pendant", "chest", "neck", "necklace", "lanyard"}),
}
"""Words that name where a device is worn, in a registry location, a device type or a recording
set's source (``UMAFall-thigh``, ``left wrist``, ``trouser pocket``)."""


def placement_in(text: str) -> str | None:
    """The placement a free text names (:data:`PLACEMENT_WORDS`; a word glued to others, as in
    ``rightwrist``, counts for ``wrist``, ``pocket`` and ``thigh``), or None."""
    lowered = text.strip().lower()
    words = set(re.split(r"[^a-z]+", lowered)) - {""}
    for placement in ("wrist", "pocket", "waist"):
        if words & PLACEMENT_WORDS[placement]:
            return placement
    for glued, placement in (("wrist", "wrist"), ("pocket", "pocket"), ("thigh", "pocket")):
        if glued in lowered:
            return placement
    return None


def placement_of(device_type: str, location: str = "") -> str:
    """Where a wearable is worn, from its registry record: a ``location`` naming a placement
    (``wrist``, ``left wrist``, ``trouser pocket``, ``belt``) wins, else the device type (a
    wristband or watch is worn on the wrist, a phone in a pocket), else ``waist`` (pendants, belt
    clips, unknown types)."""
    return placement_in(location) or placement_in(device_type) or "waist"


WINDOW_S = 2.0
SUB_S = 0.25
MOVING_MIN_G = 0.12
MOVING_MAX_G = 0.6
MIN_WINDOWS = 20
WAIST_MAX_DEG = 17.0
POCKET_MAX_DEG = 28.0


@dataclass(frozen=True, slots=True)
class PlacementFromMotion:
    """A placement read from motion: ``swing_deg`` the median swing S of ``windows`` moving windows."""

    placement: str
    swing_deg: float
    windows: int

    @property
    def basis(self) -> str:
        return f"motion: median swing {self.swing_deg:.0f}° over {self.windows} moving windows"


def window_starts(t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The starts (s) of the half-overlapping ``WINDOW_S`` windows that fit in ``t_s`` (sorted)."""
    return np.arange(t_s[0], t_s[-1] - WINDOW_S, WINDOW_S / 2)


def moving_swings(t_s: npt.NDArray[np.float64], acc: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """The swing (degrees) of each moving window of one signal (``t_s`` seconds, ``acc`` (n, 3) in g);
    non-finite samples are left out."""
    t = np.asarray(t_s, dtype=np.float64)
    a = np.asarray(acc, dtype=np.float64)
    keep = np.isfinite(t) & np.isfinite(a).all(axis=1)
    t, a = t[keep], a[keep]
    if t.shape[0] < 8 or not t[-1] - t[0] >= WINDOW_S:
        return np.zeros(0)
    magnitude = np.linalg.norm(a, axis=1)
    slices = round(WINDOW_S / SUB_S)
    out: list[float] = []
    for start in window_starts(t):
        lo, hi = np.searchsorted(t, [start, start + WINDOW_S])
        if hi - lo < 8 or not MOVING_MIN_G < float(magnitude[lo:hi].std()) < MOVING_MAX_G:
            continue
        cuts = np.searchsorted(t[lo:hi], start + SUB_S * np.arange(slices + 1)) + lo
        means = np.array([a[p:q].mean(axis=0) for p, q in pairwise(cuts) if q > p])
        norms = np.linalg.norm(means, axis=1)
        if means.shape[0] < 4 or not (norms > 0).all():
            continue
        u = means / norms[:, None]
        m = u.mean(axis=0)
        m /= np.linalg.norm(m)
        out.append(float(np.degrees(np.arccos(np.clip(u @ m, -1.0, 1.0))).max()))
    return np.asarray(out, dtype=np.float64)


def placement_from_motion(swings: Iterable[npt.NDArray[np.float64]]) -> PlacementFromMotion | None:
    """The placement read from the moving windows' swings of a device's signals (one array per signal,
    :func:`moving_swings`), or None with fewer than ``MIN_WINDOWS`` moving windows."""
    pooled = np.concatenate([np.asarray(s, dtype=np.float64) for s in swings] or [np.zeros(0)])
    if pooled.shape[0] < MIN_WINDOWS:
        return None
    s = float(np.median(pooled))
    placement = "waist" if s < WAIST_MAX_DEG else "pocket" if s < POCKET_MAX_DEG else "wrist"
    return PlacementFromMotion(placement, s, int(pooled.shape[0]))


READ_WINDOWS = 60
"""Moving windows a live device shows before its placement is read (about two minutes of walking)."""


@dataclass(slots=True)
class _Evidence:
    t_s: npt.NDArray[np.float64]
    acc: npt.NDArray[np.float64]
    swings: list[float]


class PlacementReader:
    """Reads, device by device, where a wearable the registry does not place is worn, from its samples
    as they arrive: the moving windows' swings are gathered (only the last ``WINDOW_S`` of samples is
    kept between blocks) until ``windows`` of them, then the placement is read once and kept."""

    def __init__(self, windows: int = READ_WINDOWS) -> None:
        self.windows = max(MIN_WINDOWS, windows)
        self._evidence: dict[str, _Evidence] = {}
        self._read: dict[str, PlacementFromMotion] = {}

    def read(self, device_id: str) -> PlacementFromMotion | None:
        return self._read.get(device_id)

    def feed(self, device_id: str, t_ms: npt.NDArray[np.float64], acc: npt.NDArray[np.floating]) -> None:
        """Take a block of ``device_id``'s samples (epoch ms, (n, 3) g; non-finite samples are left out)."""
        if device_id in self._read:
            return
        t = np.asarray(t_ms, dtype=np.float64) / 1000.0
        a = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        good = np.isfinite(t) & np.isfinite(a).all(axis=1)
        t, a = t[good], a[good]
        if t.shape[0] == 0:
            return
        ev = self._evidence.setdefault(device_id, _Evidence(np.zeros(0), np.zeros((0, 3)), []))
        if ev.t_s.shape[0] and t[0] >= ev.t_s[-1]:  # the kept tail, then this block (else: afresh from it)
            t, a = np.concatenate([ev.t_s, t]), np.concatenate([ev.acc, a])
        if t[-1] - t[0] > WINDOW_S:
            ev.swings.extend(moving_swings(t, a).tolist())
            starts = window_starts(t)  # the windows just read
            keep = t >= starts[-1] + WINDOW_S / 2 if starts.shape[0] else np.ones(t.shape[0], dtype=bool)
            t, a = t[keep], a[keep]
        ev.t_s, ev.acc = t, a
        if len(ev.swings) >= self.windows:
            read = placement_from_motion([np.asarray(ev.swings)])
            if read is not None:
                self._read[device_id] = read
                del self._evidence[device_id]

    def snapshot(self) -> dict[str, np.ndarray]:
        devices = sorted(self._read)
        return {
            "read_devices": np.array(devices, dtype=np.str_),
            "read_placements": np.array([self._read[d].placement for d in devices], dtype=np.str_),
            "read_swings": np.array([[self._read[d].swing_deg, self._read[d].windows] for d in devices]).reshape(-1, 2),
        }

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Readings from :meth:`snapshot` (a snapshot without them: nothing read yet)."""
        devices = np.asarray(state.get("read_devices", np.zeros(0, dtype=np.str_))).tolist()
        placements = np.asarray(state.get("read_placements", np.zeros(0, dtype=np.str_))).tolist()
        swings = np.asarray(state.get("read_swings", np.zeros((0, 2))), dtype=np.float64).reshape(-1, 2)
        if not len(devices) == len(placements) == swings.shape[0]:
            raise ValueError("placement readings do not match their devices")
        self._evidence.clear()
        self._read = {
            str(d): PlacementFromMotion(str(p), float(s[0]), int(s[1]))
            for d, p, s in zip(devices, placements, swings, strict=True)
        }
