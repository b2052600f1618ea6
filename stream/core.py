"""The stream core's one interface: batches of events keyed by resident in, detections out.

``StreamCore`` owns the detectors and the notion of "now" (passed in, never read from a clock),
so live operation, replays and tests run through the same code at any speed.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from devices.events import Event, Stream
from stream.detections import Detection, DetectionKind

if TYPE_CHECKING:
    from stream.device_table import Binding
    from stream.exits import Watch
    from stream.home import HomeConfig, Routine
    from stream.supervision import SupervisionConfig, SupervisionState

log = logging.getLogger("eldercare.stream")

Batch = Mapping[str, Sequence[Event]]
"""Events keyed by resident id, each resident's events in arrival order."""


class Detector(Protocol):
    """One family of detections (alarms, falls, home activity, vitals, device supervision)."""

    name: str

    def process(self, events: Sequence[Event], now_ms: int) -> list[Detection]:
        """Consume a batch's events (all residents, arrival order); return what they reveal."""
        ...

    def advance(self, now_ms: int) -> list[Detection]:
        """Let time pass to ``now_ms`` (epoch ms): fire timers that are due."""
        ...

    def snapshot(self) -> dict[str, np.ndarray]:
        """State as named arrays, enough to resume after a restart."""
        ...

    def restore(self, state: Mapping[str, np.ndarray]) -> None: ...


class DeviceAlarms:
    """SOS presses and device-reported falls become detections at once; no state."""

    name = "alarms"

    def process(self, events: Sequence[Event], now_ms: int) -> list[Detection]:
        out: list[Detection] = []
        for event in events:
            if event.stream is not Stream.ALARM:
                continue
            kind = DetectionKind.FALL if event.values.get("kind") == "fall" else DetectionKind.SOS
            key = (
                f"{event.device_id}:seq:{event.seq}" if event.seq is not None else f"{event.device_id}:ts:{event.ts_ms}"
            )
            details = {k: v for k, v in event.values.items() if k != "kind"}
            details.setdefault("source", "device")  # or "radar"
            out.append(
                Detection(
                    resident_id=event.resident_id,
                    device_id=event.device_id,
                    kind=kind,
                    ts_ms=event.ts_ms,
                    detected_ms=now_ms,
                    key=key,
                    confidence=0.5 if event.values.get("warning") else 1.0,  # a radar's "maybe a fall"
                    details=details,
                )
            )
        return out

    def advance(self, now_ms: int) -> list[Detection]:
        return []

    def snapshot(self) -> dict[str, np.ndarray]:
        return {}

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        return None


def default_detectors(
    home_utc_offset_min: int = 0,
    supervision: SupervisionConfig | None = None,
    routine_of: Callable[[str], Routine | None] | None = None,
    night_watch_of: Callable[[str], Watch | None] | None = None,
    home: HomeConfig | None = None,
) -> list[Detector]:
    """Every detector the live platform runs, in the order they see a batch.

    ``home_utc_offset_min``: the homes' local time (minutes east of UTC), for routines learned by hour;
    ``supervision``: device silence limits and battery thresholds (default: the device catalogue's);
    ``routine_of``: a resident's usual wake-up and bed time as the archive records them (the registry's
    ``routine_of``), for a home's first days; ``night_watch_of``: a resident's night-exit watch (the
    registry's ``night_watch_of``); ``home``: the home detector's configuration (default: the defaults,
    with ``supervision``).
    """
    from stream.exits import NightExitDetector
    from stream.falls import FallDetector
    from stream.home import HomeActivityDetector, HomeConfig
    from stream.safety import SafetyDetector
    from stream.supervision import DeviceSupervisor, SupervisionConfig
    from stream.vitals import VitalsDetector

    supervision = supervision or (home.supervision if home is not None else SupervisionConfig())
    home = home or HomeConfig(supervision=supervision)
    return [
        DeviceAlarms(),
        HomeActivityDetector(home, utc_offset_min=home_utc_offset_min, routine_of=routine_of),
        NightExitDetector(utc_offset_min=home_utc_offset_min, night_watch_of=night_watch_of),
        VitalsDetector(),
        SafetyDetector(),
        DeviceSupervisor(supervision),
        FallDetector(),
    ]


def warm_up() -> float:
    """Compile (or load from Numba's cache) every kernel before the first real event; returns seconds.

    Runs one synthetic event of each stream through a throwaway core, so the first alarm of the day
    does not wait for the JIT.
    """
    import time

    from devices.events import ImuBlock

    started = time.perf_counter()
    core = StreamCore()
    now = 1_700_000_000_000
    imu = ImuBlock(
        t_ms=now + np.arange(100, dtype=np.float64) * 20.0,
        acc=np.tile(np.array([0.0, -1.0, 0.0], dtype=np.float32), (100, 1)),
    )
    samples: list[tuple[Stream, dict[str, Any], str, ImuBlock | None]] = [
        (Stream.ALARM, {"kind": "sos"}, "sos_button", None),
        (Stream.MOTION, {"occupancy": True}, "pir", None),
        (Stream.CONTACT, {"open": True}, "door", None),
        (Stream.BED, {"occupied": True}, "bed", None),
        (Stream.SEAT, {"occupied": False}, "seat", None),
        (Stream.ENV, {"smoke": False}, "smoke", None),
        (Stream.VITALS, {"hr": 70.0, "spo2": 97.0}, "vitals", None),
        (Stream.STATUS, {"online": True, "battery": 90.0}, "pir", None),
        (Stream.IMU, {}, "pendant", imu),
    ]
    events = [
        Event(f"warm-{i}", "warm-up", stream, now, now, values, seq=1, device_type=kind, location="hall", imu=block)
        for i, (stream, values, kind, block) in enumerate(samples)
    ]
    core.process({"warm-up": events}, now + 2_000)
    core.advance(now + 3_600_000)
    core.restore(core.snapshot())
    return time.perf_counter() - started


class StreamCore:
    """Runs every detector over each batch and lets time pass for their timers."""

    def __init__(self, detectors: Sequence[Detector] | None = None) -> None:
        from stream.supervision import DeviceSupervisor

        self.detectors: list[Detector] = list(detectors) if detectors is not None else default_detectors()
        self.now_ms = 0
        self.supervision: SupervisionState = next(
            (d for d in self.detectors if isinstance(d, DeviceSupervisor)), DeviceSupervisor()
        )
        """Device supervision's state (last seen, online, battery per device; unmonitored homes) to
        read between batches; an empty one when no detector supervises devices."""

    def process(self, batch: Batch, now_ms: int) -> list[Detection]:
        """Feed one batch; ``now_ms`` is the platform's current time (epoch ms)."""
        self.now_ms = max(self.now_ms, now_ms)
        events = [event for resident_events in batch.values() for event in resident_events]
        out: list[Detection] = []
        for detector in self.detectors:
            out.extend(detector.process(events, self.now_ms))
        return out

    def advance(self, now_ms: int) -> list[Detection]:
        self.now_ms = max(self.now_ms, now_ms)
        out: list[Detection] = []
        for detector in self.detectors:
            out.extend(detector.advance(self.now_ms))
        return out

    def reserve(self, residents: int) -> None:
        """Size the detectors' per-resident state for ``residents`` ahead (those that keep such state)."""
        for detector in self.detectors:
            reserve = getattr(detector, "reserve", None)
            if reserve is not None:
                reserve(residents)

    def follow_registry(self, bound: Mapping[str, Binding], now_ms: int) -> None:
        """Tell the detectors that keep per-device state (those with a ``follow``) the registry's live
        devices, ``bound`` (device id → its resident and type): at start and after each registry change,
        as the events alone never say that a device was retired, replaced or moved."""
        for detector in self.detectors:
            follow = getattr(detector, "follow", None)
            if follow is not None:
                follow(bound, now_ms)

    def snapshot(self) -> bytes:
        return encode_snapshot(self.snapshot_arrays())

    def snapshot_arrays(self) -> dict[str, np.ndarray]:
        """Copies of every detector's state, so they can be encoded while the detectors go on."""
        arrays: dict[str, np.ndarray] = {"core/now_ms": np.array([self.now_ms], dtype=np.int64)}
        for detector in self.detectors:
            for name, array in detector.snapshot().items():
                arrays[f"{detector.name}/{name}"] = np.array(array, copy=True)
        return arrays

    def restore(self, blob: bytes) -> None:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        self.now_ms = int(arrays.pop("core/now_ms")[0])
        for detector in self.detectors:
            prefix = f"{detector.name}/"
            try:
                detector.restore({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
            except (ValueError, KeyError, IndexError) as error:
                # A snapshot from another version of this detector: it starts fresh rather than
                # refusing to start (its state rebuilds from live events).
                log.warning(
                    "snapshot does not fit; detector starts fresh",
                    extra={"detector": detector.name, "error": str(error)},
                )


def encode_snapshot(arrays: Mapping[str, np.ndarray]) -> bytes:
    """The bytes :meth:`StreamCore.restore` reads: a compressed ``.npz`` without pickles."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()
