"""``eldercare bench codec``: the cost of putting events on the partitioned log and reading them back.

Two mixes, each encoded into frames of ``per_frame`` events (one frame = one gateway batch's events
of one partition) and decoded again, on one core:

- **everyday**: motion, door, bed pad, vitals, status and 1 % SOS events (small JSON metadata);
- **imu**: one-second 50 Hz accelerometer blocks (50 × float64 times + 50 × 3 float32 g).

Beside each, the same events as JSON with the IMU samples in base64 (the obvious alternative),
measured in the same run. Figures: µs per event to encode and to decode, and bytes per event.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from devices.events import Event, ImuBlock, Stream
from lab.report import emit, progress
from partitions.codec import decode_events, encode_events

_EVERYDAY: list[tuple[Stream, dict[str, Any], str]] = [
    (Stream.MOTION, {"occupancy": True}, "pir"),
    (Stream.CONTACT, {"open": False}, "door"),
    (Stream.BED, {"occupied": True}, "bed"),
    (Stream.VITALS, {"hr": 72.0, "spo2": 97.0}, "vitals"),
    (Stream.STATUS, {"online": True, "battery": 88}, "pir"),
]


def everyday(n: int, seed: int = 0) -> list[Event]:
    rng = np.random.default_rng(seed)
    now = 1_700_000_000_000
    out: list[Event] = []
    for i in range(n):
        if rng.random() < 0.01:
            stream, values, kind = Stream.ALARM, {"kind": "sos", "press": "single"}, "sos_button"
        else:
            stream, values, kind = _EVERYDAY[int(rng.integers(len(_EVERYDAY)))]
        out.append(Event(f"dev-{i % 997}", f"res-{i % 331}", stream, now + i, now + i + 3, values, i, kind, "hall"))
    return out


def wearables(n: int, hz: int = 50, seed: int = 0) -> list[Event]:
    rng = np.random.default_rng(seed)
    now = 1_700_000_000_000.0
    out: list[Event] = []
    for i in range(n):
        t = now + i * 1000.0 + np.arange(hz, dtype=np.float64) * (1000.0 / hz)
        acc = rng.normal(0.0, 0.3, (hz, 3)).astype(np.float32)
        out.append(
            Event(
                f"pend-{i % 97}",
                f"res-{i % 97}",
                Stream.IMU,
                int(t[0]),
                int(t[0]) + 5,
                {},
                i,
                "pendant",
                imu=ImuBlock(t_ms=t, acc=acc),
            )
        )
    return out


def json_base64_encode(events: Sequence[Event]) -> bytes:
    rows = []
    for e in events:
        row: dict[str, Any] = {
            "d": e.device_id,
            "r": e.resident_id,
            "s": e.stream.value,
            "t": e.ts_ms,
            "rx": e.received_ms,
            "v": dict(e.values),
            "q": e.seq,
            "k": e.device_type,
            "l": e.location,
        }
        if e.imu is not None:
            row["it"] = base64.b64encode(e.imu.t_ms.tobytes()).decode()
            row["ia"] = base64.b64encode(e.imu.acc.tobytes()).decode()
        rows.append(row)
    return json.dumps(rows, separators=(",", ":")).encode()


def json_base64_decode(frame: bytes) -> list[Event]:
    out = []
    for row in json.loads(frame):
        imu = None
        if "it" in row:
            t = np.frombuffer(base64.b64decode(row["it"]), dtype=np.float64).copy()
            acc = np.frombuffer(base64.b64decode(row["ia"]), dtype=np.float32).reshape(-1, 3).copy()
            imu = ImuBlock(t_ms=t, acc=acc)
        out.append(
            Event(
                row["d"], row["r"], Stream(row["s"]), row["t"], row["rx"], row["v"], row["q"], row["k"], row["l"], imu
            )
        )
    return out


def _time(fn: Callable[[], Any], seconds: float) -> tuple[float, Any]:
    """Seconds per call (best of repeated runs within ``seconds``), and the last result."""
    best = float("inf")
    result: Any = None
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or best == float("inf"):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def _mix(events: list[Event], per_frame: int, seconds: float) -> dict[str, Any]:
    frames = [events[i : i + per_frame] for i in range(0, len(events), per_frame)]
    figures: dict[str, Any] = {}
    for name, encode, decode in (
        ("binary", encode_events, decode_events),
        ("json_base64", json_base64_encode, json_base64_decode),
    ):
        enc_s, encoded = _time(lambda enc=encode: [enc(f) for f in frames], seconds)  # type: ignore[misc]
        dec_s, _ = _time(lambda dec=decode, blobs=encoded: [dec(b) for b in blobs], seconds)  # type: ignore[misc]
        figures[name] = {
            "encode_us_per_event": round(enc_s / len(events) * 1e6, 2),
            "decode_us_per_event": round(dec_s / len(events) * 1e6, 2),
            "bytes_per_event": round(sum(len(b) for b in encoded) / len(events), 1),
        }
    return figures


def run(json_output: bool, events: int = 20_000, per_frame: int = 64, seconds: float = 1.0) -> dict[str, Any]:
    progress("bench codec: everyday events …")
    daily = _mix(everyday(events), per_frame, seconds)
    progress("bench codec: one-second 50 Hz IMU blocks …")
    imu = _mix(wearables(events // 4), per_frame, seconds)
    figures = {"events": events, "per_frame": per_frame, "everyday": daily, "imu_50hz_1s": imu}
    rows = []
    for mix, f in (("everyday", daily), ("imu 50 Hz 1 s", imu)):
        for codec in ("binary", "json_base64"):
            c = f[codec]
            rows.append(
                (
                    f"{mix}, {codec}",
                    f"encode {c['encode_us_per_event']} µs, decode "
                    f"{c['decode_us_per_event']} µs, {c['bytes_per_event']} B per event",
                )
            )
    emit("eldercare bench codec", rows, figures, json_output)
    return figures
