"""Events on the wire of the log: a small binary frame, IMU samples as raw little-endian arrays.

One log message carries the events of one gateway batch that fall into one partition::

    frame   = b"ECE1" · u32 count · event{count}
    event   = u32 meta_len · meta · u32 samples · t_ms[samples] · acc[samples × 3]
    meta    = JSON array [device_id, resident_id, stream, ts_ms, received_ms, values, seq,
                          device_type, location]
    t_ms    = float64 little-endian (epoch milliseconds);  acc = float32 little-endian (g)

Everything but the IMU samples is small and irregular (JSON keeps ``values`` open to any device
type); the samples are most of the bytes and go as they sit in memory, so a one-second 50 Hz block
costs two ``tobytes`` on the way in and two ``frombuffer`` on the way out (``lab/bench/codec.py``
measures it). All integers are little-endian.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence

import numpy as np

from devices.events import Event, ImuBlock, Stream

MAGIC = b"ECE1"
_U32 = struct.Struct("<I")
_F8 = np.dtype("<f8")
_F4 = np.dtype("<f4")


class CodecError(ValueError):
    """A log message that is not a frame of events (corrupt, truncated, or from another writer)."""


def encode_events(events: Sequence[Event]) -> bytes:
    """One frame holding ``events`` in order."""
    parts: list[bytes] = [MAGIC, _U32.pack(len(events))]
    for event in events:
        meta = json.dumps(
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
            ],
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")
        parts.append(_U32.pack(len(meta)))
        parts.append(meta)
        imu = event.imu
        if imu is None:
            parts.append(_U32.pack(0))
            continue
        n = len(imu)
        parts.append(_U32.pack(n))
        parts.append(np.ascontiguousarray(imu.t_ms, dtype=_F8).tobytes())
        parts.append(np.ascontiguousarray(imu.acc, dtype=_F4).reshape(n, 3).tobytes())
    return b"".join(parts)


def decode_events(frame: bytes) -> list[Event]:
    """The events of one frame; :class:`CodecError` when it is not one."""
    view = memoryview(frame)
    if bytes(view[:4]) != MAGIC:
        raise CodecError("not an event frame (bad magic)")
    try:
        (count,) = _U32.unpack_from(view, 4)
        offset = 8
        events: list[Event] = []
        for _ in range(count):
            (meta_len,) = _U32.unpack_from(view, offset)
            offset += 4
            meta = json.loads(bytes(view[offset : offset + meta_len]))
            offset += meta_len
            (samples,) = _U32.unpack_from(view, offset)
            offset += 4
            imu = None
            if samples:
                t_end = offset + samples * 8
                acc_end = t_end + samples * 12
                if acc_end > len(view):
                    raise CodecError("truncated IMU samples")
                t_ms = np.frombuffer(view[offset:t_end], dtype=_F8).astype(np.float64)
                acc = np.frombuffer(view[t_end:acc_end], dtype=_F4).reshape(samples, 3).astype(np.float32)
                imu = ImuBlock(t_ms=t_ms, acc=acc)
                offset = acc_end
            device_id, resident_id, stream, ts_ms, received_ms, values, seq, device_type, location = meta
            events.append(
                Event(
                    device_id=str(device_id),
                    resident_id=str(resident_id),
                    stream=Stream(stream),
                    ts_ms=int(ts_ms),
                    received_ms=int(received_ms),
                    values=dict(values),
                    seq=None if seq is None else int(seq),
                    device_type=str(device_type),
                    location=str(location),
                    imu=imu,
                )
            )
    except CodecError:
        raise
    except (struct.error, ValueError, TypeError) as error:
        raise CodecError(f"malformed event frame: {error}") from error
    if offset != len(view):
        raise CodecError(f"{len(view) - offset} trailing bytes after {count} events")
    return events
