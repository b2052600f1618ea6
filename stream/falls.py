"""Falls from wearable accelerometer streams: the ``falls`` detector of the stream core.

The detector owns per-device state as columnar arrays (one row per device slot, see
:mod:`stream.kernels.falls` for the math and units) and feeds each batch's IMU blocks to the
``@njit`` kernels as contiguous runs with an offsets array: no per-sample Python.

A detection is ``DetectionKind.FALL`` with ``ts_ms`` = impact time (epoch ms), ``key`` =
``fall:<device_id>:<impact_ms>``, ``confidence`` in 0..1 and ``details``:

- ``placement``: where the device is worn (:func:`stream.placement.placement_of`: ``waist``, ``wrist`` or
  ``pocket``), which chose the parameters (weights) that scored it;

- ``window``: ``{"t0_ms", "hz": 20, "acc": [[x, y, z] | null, ...]}`` — per-50 ms mean acceleration
  (g, device axes) from 4 s before the impact to the decision (≤ 6 s after), ``null`` where no sample;
- ``features``: the features that decided it (names in ``FEATURE_NAMES``, g / degrees);
- ``decided_ms``: the sample time at which it was decided; ``forced``: decided on partial data
  (the device went quiet or its clock jumped); ``source``: ``"wearable"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from devices.events import Event, Stream
from stream.detections import Detection, DetectionKind
from stream.kernels import falls as K
from stream.placement import PlacementReader, placement_in
from stream.slots import SlotMap, grow

FEATURE_NAMES = K.FEATURE_NAMES

SHIPPED_WEIGHTS: tuple[float, ...] = (
    -34.837, -3.601, 32.784, -5.268, 2.801, -0.417, 6.277, 0.744,
    7.485, 11.397, 1.819, 6.328, 0.13, -0.032, -1.438, -2.419,
    -15.888, -1.085, 3.814, 2.947, 4.619, -0.292, 1.382, 1.129,
    -0.391, -1.228, 3.101, -0.809, -2.535, 2.412, 0.717, 0.0,
)  # fmt: skip
"""Bias then one weight per ``PHI_NAMES`` entry of :mod:`lab.falls.fit`, fitted there on every
recording of ``shared/data/falls`` plus two softened copies of each (``python -m lab.falls.replay
--fit DIR`` prints them; 25 725 candidates); the last, the pre dynamics, is 0: a waist model does
not use it (:data:`lab.falls.crossval.PLACEMENT_FIT`)."""


PLACEMENTS = K.PLACEMENTS

WRIST_WEIGHTS: tuple[float, ...] = (
    -30.391, -4.143, 31.924, -6.692, 3.273, -0.565, 5.617, -0.551,
    6.479, 10.406, 2.624, 5.99, -0.479, -0.293, -1.388, -3.12,
    -16.705, -0.108, 3.372, 1.572, 4.956, -0.632, 0.721, 1.59,
    -0.1, 0.142, 1.904, -0.329, -3.552, 2.605, 0.965, -7.184,
)  # fmt: skip
"""Bias and weights of the wrist (wristband) model; see ``SHIPPED_PLACEMENT_WEIGHTS``. Its last,
the pre dynamics (−7.2), is the wrist's own: a band swung, clapped or bounced for much of the 3 s
before an impact (medians: clapping 0.54 of that time, hopping 0.89, jogging 0.79, falls 0.22)
is less likely to have fallen. UMAFall U01–U08, leave-one-subject-out, with the 1 s shortest
post window: 94.9 / 96.4 % → 96.2 / 96.9 % as recorded, 92.3 / 94.3 % → 96.2 / 95.3 % on held-out
people's 20 Hz copies (seeds 0–2 of every augmented copy: mean 93.1 / 95.8 % → 95.1 / 96.4 %).
Refitted (``python -m lab.falls.replay --fit ../shared/data/falls-placements``, its ``wrist`` line)
on samples limited to ±3 g (:data:`RANGE_G`): 96.2 / 97.4 % as recorded."""

POCKET_WEIGHTS: tuple[float, ...] = (
    -33.433, -3.913, 32.333, -5.329, 2.516, 0.413, 6.673, 0.964,
    7.484, 11.306, 1.946, 6.051, 0.256, -0.309, -1.726, -2.028,
    -16.837, -0.003, 4.063, 2.265, 4.278, -0.58, 0.532, 0.253,
    0.16, -1.097, 2.977, -1.27, -2.841, 2.086, 0.386, 0.0,
)  # fmt: skip
"""Bias and weights of the pocket (phone) model; see ``SHIPPED_PLACEMENT_WEIGHTS``. Refitted
(``python -m lab.falls.replay --fit ../shared/data/falls-placements``, its ``pocket`` line) with
each training fall labelled at its hardest hit rather than at the stillest candidate, often the
body settling a second later (:data:`lab.falls.crossval.FALL_POSITIVE`): UMAFall U01–U08,
leave-one-subject-out, 97.4 / 99.0 % → 97.4 / 99.5 % as recorded (one call's false alarm fewer),
96.2 / 98.3 % → 96.2 / 99.7 % on held-out people's copies as an irregular ~87 Hz ±2 g phone, and no
augmented copy worse (means of seeds 1–3; seeds 0 and 4, not looked at, alike). The pre dynamics
(last) stays 0: fitted with these labels too, it changed no figure but the lossy copies' (97.4 /
98.8 → 97.0 / 99.0 %)."""

SHIPPED_PLACEMENT_WEIGHTS: dict[str, tuple[float, ...]] = {
    "waist": SHIPPED_WEIGHTS,
    "wrist": WRIST_WEIGHTS,
    "pocket": POCKET_WEIGHTS,
}
"""Weights per placement (:data:`PLACEMENTS`); wrist and pocket fitted by ``python -m
lab.falls.replay --fit ../shared/data/falls-placements`` on UMAFall's wrist and thigh-pocket
recordings of U01–U08, regularised towards the waist model (:func:`lab.falls.fit.fit_weights`)."""

SHIPPED_SUBJECTS: frozenset[str] = frozenset(
    [f"sisfall/SA{n:02d}" for n in range(1, 13)]
    + [f"sisfall/SE{n:02d}" for n in (1, 2, 3, 4, 5, 7, 8)]
    + [f"umafall-{where}/U{n:02d}" for where in ("wrist", "thigh") for n in range(1, 9)]
)
"""The people whose recordings trained the shipped weights, as :func:`subject_key`: a recording of
anyone else is scored by the shipped model as it is, one of these only by a model that never saw them."""


def subject_key(source: str, subject: str) -> str:
    """``source/subject`` with the source lower-cased: who a recording is of, across recording sets."""
    return f"{source.strip().lower()}/{subject.strip()}"


@dataclass(frozen=True, slots=True)
class FallParams:
    """Tunable parameters of the fall detector (units in the names)."""

    trig_spread_g: float = 0.3
    trig_peak_g: float = 1.8
    search_s: float = 1.0
    decide_s: float = 5.0
    force_s: float = 8.0
    threshold: float = 0.5
    gap_s: float = 5.0
    back_tol_ms: float = 1000.0
    drop_free_fall_g: float = 0.25
    drop_still_g: float = 0.006
    upright_ref: bool = False
    min_post_s: float = 0.0
    range_g: float = 0.0
    emit_all: bool = False
    weights: tuple[float, ...] = field(default=SHIPPED_WEIGHTS)

    def __post_init__(self) -> None:
        if len(self.weights) != K.N_PHI + 1:
            raise ValueError(f"weights needs {K.N_PHI + 1} values, got {len(self.weights)}")
        search = round(self.search_s * 1000 / K.BIN_MS)
        decide = round(self.decide_s * 1000 / K.BIN_MS)
        if search < 1 or decide <= search + K.POST_LO:
            raise ValueError("need 0 < search_s and decide_s > search_s + 1.5 s")
        if decide + K.WIN_PRE + 10 > K.RING_LEN:
            raise ValueError(f"decide_s too long for the {K.RING_LEN * K.BIN_MS / 1000:.1f} s ring")
        if decide // search + 2 > K.CMAX:
            raise ValueError(f"decide_s / search_s must be below {K.CMAX - 2}")
        if self.force_s * 1000 < self.decide_s * 1000 + K.BIN_MS or self.force_s > 10.0:
            raise ValueError("need decide_s < force_s ≤ 10 s (report within 10 s of the impact)")
        if not 0.0 <= self.min_post_s <= self.decide_s - K.POST_LO * K.BIN_MS / 1000:
            raise ValueError("need 0 ≤ min_post_s ≤ decide_s − 1.5 s")
        if not (self.range_g == 0.0 or 1.5 <= self.range_g < math.inf):
            raise ValueError("need range_g = 0 (samples as received) or 1.5 g ≤ range_g < inf")
        if self.gap_s <= 0 or self.back_tol_ms < 0 or not 0.0 <= self.threshold <= 1.0:
            raise ValueError("gap_s > 0, back_tol_ms ≥ 0 and 0 ≤ threshold ≤ 1 required")

    def to_array(self) -> npt.NDArray[np.float64]:
        """The kernel's ``params`` vector (indices ``P_*`` of :mod:`stream.kernels.falls`)."""
        p = np.zeros(K.N_PARAMS, dtype=np.float64)
        p[K.P_TRIG_SPREAD] = self.trig_spread_g
        p[K.P_TRIG_PEAK] = self.trig_peak_g
        p[K.P_SEARCH_BINS] = round(self.search_s * 1000 / K.BIN_MS)
        p[K.P_DECIDE_BINS] = round(self.decide_s * 1000 / K.BIN_MS)
        p[K.P_FORCE_MS] = self.force_s * 1000.0
        p[K.P_THRESH] = self.threshold
        p[K.P_EMIT_ALL] = 1.0 if self.emit_all else 0.0
        p[K.P_GAP_BINS] = round(self.gap_s * 1000 / K.BIN_MS)
        p[K.P_BACK_TOL_MS] = self.back_tol_ms
        p[K.P_DROP_FF] = self.drop_free_fall_g
        p[K.P_DROP_STILL] = self.drop_still_g
        p[K.P_UPRIGHT] = 1.0 if self.upright_ref else 0.0
        p[K.P_MIN_POST] = round(self.min_post_s * 1000 / K.BIN_MS)
        p[K.P_CLIP_G] = self.range_g if self.range_g > 0.0 else math.inf
        p[K.P_W0 : K.P_W0 + K.N_PHI + 1] = self.weights
        return p

    def with_weights(self, weights: Sequence[float]) -> FallParams:
        return replace(self, weights=tuple(float(w) for w in weights))


UPRIGHT_REF: dict[str, bool] = {"waist": False, "wrist": True, "pocket": False}
"""Whether a placement measures the posture change from the device's learned upright, its last
posture at rest (step 6 of :mod:`stream.kernels.falls`), rather than from the gravity 3 s..1 s
before the impact: a wrist, whose orientation just before an impact is whatever the arm was doing
(clapping, hands up)."""


MIN_POST_S: dict[str, float] = {"waist": 0.0, "wrist": 1.0, "pocket": 1.0}
"""How long (s) a placement's post window (1.5 s after the impact to the decision) must be for a
candidate to score at all (the kernel's ``P_MIN_POST`` veto): a wrist's or a pocket phone's
stillness after the impact must have been seen for 1 s. Without it a decision forced when the data
stop 1.5–2.5 s after an impact (a hop, a jog's last step, the device's last message) rested on a
fraction of a second of "stillness". UMAFall U01–U08, leave-one-subject-out: the wrist's false
alarms on hopping went from 4 to 1 at 20 Hz (specificity 92.7 → 94.3 %; as recorded 95.8 →
96.4 %), the pocket's on jogging from 1 to 0 (98.4 → 99.0 % as recorded, 97.9 → 98.4 % at 20 Hz),
and no fall was lost as recorded or in any augmented copy (0.5, 1 and 1.5 s gave the same figures
but for a lossy copy or two). The waist: 0, no such veto (its figures are the targets kept)."""


RANGE_G: dict[str, float] = {"waist": 0.0, "wrist": 3.0, "pocket": 0.0}
"""The range (g) a placement's samples are limited to, axis by axis, before anything else (the
kernel's ``P_CLIP_G``, step 0 of :mod:`stream.kernels.falls`; 0: as received): the wrist's ±3 g.
UMAFall's wrist band reports impacts up to 8 g and the wrist model learned to lean on them, which a
band of smaller range cannot report: held-out people's copies as an irregular ~87 Hz device clipped
to ±2 g lost 2–5 of 78 falls (sensitivity 92.3–94.9 %, seeds 1–3). Limited to ±3 g for every band
(and refitted on data so limited), the model reads a ±2 g band much as it reads an 8 g one: 96.2–97.4
% there, and no figure worse as recorded, at 20 Hz, rotated or on a lossy link (chosen among ±2,
±2.5, ±3 and ±4 g on seeds 1–3 of the copies; ±2.5 and ±3 g were alike). The pocket: 0, as
received (limited to ±2 or ±3 g it lost a fall as recorded and gained none on the ~87 Hz ±2 g copies);
the waist: 0 (its figures are the targets kept)."""


THRESHOLD_SHIFT: dict[str, float] = {"waist": 0.0, "wrist": 0.0, "pocket": math.log(0.4 / 0.6)}
"""How far (in log-odds) a placement's decision threshold sits from the detector's ``threshold``
(:func:`placement_threshold`): the pocket decides at 0.4 where the others decide at 0.5
(``ln(0.4 / 0.6) = −0.405``). Issue #14: a phone of ±2 g range cannot report the hardest hits of
a fall, so clipped falls score lower (a backward fall at 0.43–0.48) while the pocket's activities
stay far below (specificity 99.5 %). UMAFall U01–U08, leave-one-subject-out, pocket sensitivity /
specificity at 0.5 → 0.4 on held-out people's copies (means of seeds 0–5): as recorded 97.4 / 99.5
→ 97.4 / 99.5 %, an irregular ~87 Hz ±2 g phone 96.2 / 99.6 → 97.0 / 99.5, 20 Hz 96.2 / 99.5 → 97.4 /
99.5, lossy 97.4 / 98.8 → 97.6 / 98.5, clipped to ±2 g 97.0 / 99.8 → 97.0 / 99.7, softened 92.3 /
97.9 → 92.3 / 97.4; checked on seeds 6–9 after: ~87 Hz ±2 g 96.5 / 99.6 → 96.8 / 99.5, 20 Hz 96.2 →
97.4 %, lossy 97.1 → 97.4 % (specificity unchanged). 0.35 lost a call and a lying down as recorded
(99.5 → 98.4 %) for no fall more; 0.45 kept fewer falls at ~87 Hz (96.8 %). The wrist stays at 0.5:
0.45 found a fall more as recorded but its 20 Hz and lossy copies, nearest to the target there,
lost specificity."""


def placement_threshold(threshold: float, placement: str) -> float:
    """The decision threshold of ``placement`` for a detector threshold ``threshold``: shifted by
    :data:`THRESHOLD_SHIFT` in log-odds, ``σ(logit(threshold) + shift)``; 0 and 1 (every candidate,
    none) stay as they are."""
    if threshold <= 0.0 or threshold >= 1.0:
        return threshold
    shifted = math.log(threshold / (1.0 - threshold)) + THRESHOLD_SHIFT[placement]
    return round(1.0 / (1.0 + math.exp(-shifted)), 6)


def for_placement(base: FallParams, placement: str, weights: Sequence[float] | None = None) -> FallParams:
    """``base`` as ``placement`` uses it: its posture reference, its shortest post window
    (:data:`MIN_POST_S`), its range (:data:`RANGE_G`), its threshold (:func:`placement_threshold`)
    and ``weights`` (default the placement's shipped weights)."""
    chosen = SHIPPED_PLACEMENT_WEIGHTS[placement] if weights is None else weights
    return replace(
        base.with_weights(chosen),
        upright_ref=UPRIGHT_REF[placement],
        min_post_s=MIN_POST_S[placement],
        range_g=RANGE_G[placement],
        threshold=placement_threshold(base.threshold, placement),
    )


def shipped_placements(params: FallParams | None = None) -> dict[str, FallParams]:
    """``params`` (default ``FallParams()``) as each placement uses it, with its shipped weights."""
    base = params or FallParams()
    return {where: for_placement(base, where) for where in PLACEMENTS}


@dataclass(slots=True)
class _Outputs:
    slot: npt.NDArray[np.int64]
    f: npt.NDArray[np.float64]
    win: npt.NDArray[np.float32]

    @classmethod
    def empty(cls, rows: int) -> _Outputs:
        return cls(
            np.zeros(rows, dtype=np.int64),
            np.zeros((rows, K.N_OUT), dtype=np.float64),
            np.zeros((rows, K.WIN_BINS, 3), dtype=np.float32),
        )


class FallDetector:
    """The ``falls`` detector (the ``Detector`` protocol of :mod:`stream.core`).

    ``process`` takes each batch's ``imu`` events (other streams are ignored), ``advance`` decides
    candidates of devices that went quiet ``force_s`` after an impact. ``snapshot``/``restore``
    carry the whole state as arrays.

    Each device is scored with the parameters of its placement (:func:`stream.placement.placement_of` its registry
    type and location): ``placements`` maps a placement to its parameters; a placement it leaves
    out gets ``params`` when given, else its shipped parameters (:func:`shipped_placements`).
    """

    name = "falls"

    def __init__(
        self,
        params: FallParams | None = None,
        capacity: int = 64,
        placements: Mapping[str, FallParams] | None = None,
    ) -> None:
        unknown = set(placements or {}) - set(PLACEMENTS)
        if unknown:
            raise ValueError(f"unknown placements {sorted(unknown)}; known: {PLACEMENTS}")
        shipped = shipped_placements()
        self.placements = {where: (placements or {}).get(where) or params or shipped[where] for where in PLACEMENTS}
        self.params = self.placements["waist"]
        self._table = np.ascontiguousarray(np.stack([self.placements[w].to_array() for w in PLACEMENTS]))
        self._emit_all = any(p.emit_all for p in self.placements.values())
        self._slots = SlotMap(capacity)
        self._residents: list[str] = []
        self._place = np.zeros(self._slots.capacity, dtype=np.int64)
        self._sc = np.zeros((self._slots.capacity, K.N_STATE), dtype=np.float64)
        self._ring = np.zeros((self._slots.capacity, K.RING_LEN, K.N_RING), dtype=np.float64)
        self._work = np.zeros(K.N_WORK, dtype=np.float64)
        self._reader = PlacementReader()
        self._basis: dict[str, str] = {}

    # -- state ---------------------------------------------------------------------------------
    def _slot(self, device_id: str, resident_id: str, placement: str = "waist") -> int:
        slot, created = self._slots.slot(device_id)
        if self._slots.capacity > self._sc.shape[0]:
            self._sc = grow(self._sc, self._slots.capacity)
            self._ring = grow(self._ring, self._slots.capacity)
            self._place = grow(self._place, self._slots.capacity)
        while len(self._residents) <= slot:
            self._residents.append("")
        self._residents[slot] = resident_id
        self._place[slot] = PLACEMENTS.index(placement)
        if created:
            self._sc[slot] = 0.0
        return slot

    def snapshot(self) -> dict[str, np.ndarray]:
        n = len(self._residents)
        return {
            "sc": self._sc[:n].copy(),
            "ring": self._ring[:n].copy(),
            "devices": self._slots.to_array(),
            "residents": np.array(self._residents, dtype=np.str_),
            "placement": self._place[:n].copy(),
            **self._reader.snapshot(),
        }

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        if not state:
            return
        devices = np.asarray(state["devices"])
        n = int(devices.shape[0])
        sc = np.asarray(state["sc"], dtype=np.float64)
        ring = np.asarray(state["ring"], dtype=np.float64)
        if sc.shape == (n, K.N_STATE_V1):  # a snapshot from before the learned upright: nothing learned
            sc = np.hstack([sc, np.zeros((n, K.N_STATE - K.N_STATE_V1))])
        if sc.shape != (n, K.N_STATE) or ring.shape != (n, K.RING_LEN, K.N_RING):
            raise ValueError("falls snapshot does not match this detector's state layout")
        capacity = max(64, 1 << max(0, (n - 1).bit_length()))
        self._slots = SlotMap.from_array(devices, capacity)
        self._residents = [str(r) for r in np.asarray(state["residents"]).tolist()]
        self._sc = grow(sc.copy(), capacity)
        self._ring = grow(ring.copy(), capacity)
        place = np.asarray(state.get("placement", np.zeros(n)), dtype=np.int64)  # older snapshots: waist
        if place.shape != (n,) or np.any((place < 0) | (place >= len(PLACEMENTS))):
            raise ValueError("falls snapshot's placements do not match its devices")
        self._place = grow(place.copy(), capacity)
        self._reader.restore(dict(state))

    # -- processing ----------------------------------------------------------------------------
    def process(self, events: Sequence[Event], now_ms: int) -> list[Detection]:
        blocks = [e for e in events if e.stream is Stream.IMU and e.imu is not None and len(e.imu) > 0]
        if not blocks:
            return []
        run_slot = np.fromiter(
            (self._slot(e.device_id, e.resident_id, self._placement(e)) for e in blocks),
            dtype=np.int64,
            count=len(blocks),
        )
        lengths = np.fromiter((len(e.imu) for e in blocks if e.imu is not None), dtype=np.int64)
        run_start = np.zeros(len(blocks) + 1, dtype=np.int64)
        np.cumsum(lengths, out=run_start[1:])
        t_ms = np.concatenate([np.asarray(e.imu.t_ms, dtype=np.float64) for e in blocks if e.imu is not None])
        acc = np.concatenate(
            [np.asarray(e.imu.acc, dtype=np.float32).reshape(-1, 3) for e in blocks if e.imu is not None]
        )
        return self.process_arrays(t_ms, acc, run_slot, run_start, now_ms)

    def _placement(self, event: Event) -> str:
        """Where ``event``'s device is worn: as its registry record names it (:func:`placement_in` its
        location, then its type), else as read from its motion (:class:`stream.placement.PlacementReader`,
        fed its samples until then), else the waist."""
        named = placement_in(event.location) or placement_in(event.device_type)
        if named is not None:
            self._basis[event.device_id] = "registry"
            return named
        read = self._reader.read(event.device_id)
        if read is None and event.imu is not None:
            self._reader.feed(event.device_id, np.asarray(event.imu.t_ms), np.asarray(event.imu.acc))
            read = self._reader.read(event.device_id)
        self._basis[event.device_id] = read.basis if read else "default: the waist until its motion is read"
        return read.placement if read else "waist"

    def process_arrays(
        self,
        t_ms: npt.NDArray[np.float64],
        acc: npt.NDArray[np.float32],
        run_slot: npt.NDArray[np.int64],
        run_start: npt.NDArray[np.int64],
        now_ms: int,
    ) -> list[Detection]:
        """Feed runs already laid out contiguously (slots from :meth:`slot_of`); the hot path."""
        t_ms = np.ascontiguousarray(t_ms, dtype=np.float64)
        acc = np.ascontiguousarray(acc, dtype=np.float32)
        if acc.ndim != 2 or acc.shape[1] != 3 or acc.shape[0] != t_ms.shape[0]:
            raise ValueError("acc must be (n, 3) and match t_ms")
        if run_start.shape[0] != run_slot.shape[0] + 1 or run_start[-1] != t_ms.shape[0]:
            raise ValueError("run_start must be offsets of run_slot's runs over the samples")
        out: list[Detection] = []
        pos = np.zeros(2, dtype=np.int64)
        rows = 16 + 2 * K.CMAX
        while True:
            buf = _Outputs.empty(rows)
            n = K.process_runs(
                t_ms,
                acc,
                run_slot,
                run_start,
                self._sc,
                self._ring,
                self._table,
                self._place,
                buf.slot,
                buf.f,
                buf.win,
                pos,
                self._work,
            )
            out.extend(self._detections(buf, n, now_ms))
            if pos[0] >= run_slot.shape[0]:
                return out
            rows *= 4

    def slot_of(self, device_id: str, resident_id: str = "", placement: str = "waist") -> int:
        """The state slot of ``device_id`` (allocated if new) worn at ``placement``, for
        :meth:`process_arrays`."""
        if placement not in PLACEMENTS:
            raise ValueError(f"unknown placement {placement!r}; known: {PLACEMENTS}")
        return self._slot(device_id, resident_id or device_id, placement)

    def advance(self, now_ms: int) -> list[Detection]:
        n_slots = len(self._residents)
        if n_slots == 0:
            return []
        buf = _Outputs.empty(n_slots * K.CMAX)
        n = K.advance_slots(
            float(now_ms), n_slots, self._sc, self._ring, self._table, self._place, buf.slot, buf.f, buf.win, self._work
        )
        return self._detections(buf, n, now_ms)

    def _detections(self, buf: _Outputs, n: int, now_ms: int) -> list[Detection]:
        out: list[Detection] = []
        for row in range(n):
            slot = int(buf.slot[row])
            device_id = self._slots.id_of(slot) or ""
            f = buf.f[row]
            impact_ms = math.floor(f[K.O_IMPACT_MS])
            win_len = int(f[K.O_WIN_LEN])
            window = [None if np.isnan(v[0]) else [round(float(c), 4) for c in v] for v in buf.win[row, :win_len]]
            details: dict[str, Any] = {
                "source": "wearable",
                "placement": PLACEMENTS[int(self._place[slot])],
                "placement_basis": self._basis.get(device_id, "registry"),
                "window": {"t0_ms": math.floor(f[K.O_WIN_T0]), "hz": 1000.0 / K.BIN_MS, "acc": window},
                "features": {name: float(f[K.O_FEAT + q]) for q, name in enumerate(FEATURE_NAMES)},
                "decided_ms": math.floor(f[K.O_DECIDED_MS]),
                "forced": bool(f[K.O_FORCED]),
            }
            if self._emit_all:
                details["is_fall"] = bool(f[K.O_IS_FALL])
            out.append(
                Detection(
                    resident_id=self._residents[slot],
                    device_id=device_id,
                    kind=DetectionKind.FALL,
                    ts_ms=impact_ms,
                    detected_ms=int(now_ms),
                    key=f"fall:{device_id}:{impact_ms}",
                    confidence=float(f[K.O_CONF]),
                    details=details,
                )
            )
        return out
