"""Events on the wire of the log: a small binary frame, IMU samples as raw little-endian arrays.

One log message carries the events of one gateway batch that fall into one partition::

    frame   = b"ECE2" · u32 meta_len · meta · samples
    meta    = JSON array of events, each [device_id, resident_id, stream, ts_ms, received_ms,
              values, seq, device_type, location, n_samples]
    samples = for each event with n_samples > 0, in order: t_ms[n] · acc[n × 3]
    t_ms    = float64 little-endian (epoch milliseconds);  acc = float32 little-endian (g)

Everything but the IMU samples is small and irregular (JSON keeps ``values`` open to any device
type) and goes through one ``json.dumps``/``json.loads`` per frame; the samples are most of the
bytes and go as they sit in memory. ``eldercare bench codec`` measures it beside JSON with base64
samples.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from devices.events import Event, ImuBlock, Stream

MAGIC = b"ECE2"
_U32 = struct.Struct("<I")
_F8 = np.dtype("<f8")
_F4 = np.dtype("<f4")


class CodecError(ValueError):
    """A log message that is not a frame of events (corrupt, truncated, or from another writer)."""


def encode_events(events: Sequence[Event]) -> bytes:
    """One frame holding ``events`` in order."""
    meta: list[list[Any]] = []
    samples: list[bytes] = []
    for event in events:
        imu = event.imu
        n = 0 if imu is None else len(imu)
        meta.append(
            [
                event.device_id,
                event.resident_id,
                event.stream.value,
                event.ts_ms,
                event.received_ms,
                dict(event.values),
                event.seq,
                event.device_type,
                event.location,
                n,
            ]
        )
        if imu is not None and n:
            samples.append(np.ascontiguousarray(imu.t_ms, dtype=_F8).tobytes())
            samples.append(np.ascontiguousarray(imu.acc, dtype=_F4).reshape(n, 3).tobytes())
    head = json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return b"".join([MAGIC, _U32.pack(len(head)), head, *samples])


def decode_events(frame: bytes) -> list[Event]:
    """The events of one frame; :class:`CodecError` when it is not one."""
    view = memoryview(frame)
    if bytes(view[:4]) != MAGIC:
        raise CodecError("not an event frame (bad magic)")
    try:
        (meta_len,) = _U32.unpack_from(view, 4)
        offset = 8 + meta_len
        if offset > len(view):
            raise CodecError("truncated metadata")
        meta = json.loads(bytes(view[8:offset]))
        if not isinstance(meta, list):
            raise CodecError("metadata is not a list of events")
        events: list[Event] = []
        for row in meta:
            device_id, resident_id, stream, ts_ms, received_ms, values, seq, device_type, location, samples = row
            imu = None
            if samples:
                t_end = offset + int(samples) * 8
                acc_end = t_end + int(samples) * 12
                if samples < 0 or acc_end > len(view):
                    raise CodecError("truncated IMU samples")
                t_ms = np.frombuffer(view[offset:t_end], dtype=_F8).astype(np.float64)
                acc = np.frombuffer(view[t_end:acc_end], dtype=_F4).reshape(int(samples), 3).astype(np.float32)
                imu = ImuBlock(t_ms=t_ms, acc=acc)
                offset = acc_end
            if not isinstance(values, dict) or not isinstance(device_id, str) or not isinstance(resident_id, str):
                raise CodecError("malformed event metadata")
            events.append(
                Event(
                    device_id,
                    resident_id,
                    Stream(stream),
                    int(ts_ms),
                    int(received_ms),
                    values,
                    None if seq is None else int(seq),
                    str(device_type),
                    str(location),
                    imu,
                )
            )
    except CodecError:
        raise
    except (struct.error, ValueError, TypeError) as error:
        raise CodecError(f"malformed event frame: {error}") from error
    if offset != len(view):
        raise CodecError(f"{len(view) - offset} trailing bytes after {len(events)} events")
    return events
