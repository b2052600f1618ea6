"""Accelerometer payloads: the JSON form and the compact binary form for all-day streaming.

JSON (``eldercare/v1/<device>/imu``)::

    {"t0": 1732300000000, "hz": 50, "acc": [[0.01, -0.98, 0.05], ...]}

``t0`` epoch ms of the first sample, ``hz`` the nominal rate, ``acc`` in g. An irregularly sampling
device adds ``"dt": [0, 11, 23, ...]``: each sample's offset from ``t0`` in ms (same length as acc).

Binary (same topic; recognised by its first two bytes ``b"EC"``), little-endian::

    offset size  field
    0      2     magic b"EC"
    2      1     version, 1
    3      1     flags: bit 0 = per-sample time offsets follow the header
    4      8     t0, int64, epoch ms of the first sample
    12     4     hz, float32, nominal sample rate (Hz)
    16     4     scale, float32, g per count (e.g. 1/256 for ±8 g at 12 bit)
    20     2     n, uint16, number of samples
    22     4n    (flag bit 0) n × uint32 offsets from t0 in units of 0.1 ms
    ...    6n    n × (x, y, z) int16 counts

A 1 s batch at 50 Hz is 322 bytes instead of ~2.5 kB of JSON.
"""

from __future__ import annotations

import functools
import struct
from typing import Any, TypeGuard

import numpy as np

from devices.errors import PayloadError, Reject
from devices.events import ImuBlock

MAGIC = b"EC"
VERSION = 1
FLAG_OFFSETS = 0x01
_HEADER = struct.Struct("<2sBBqffH")
MAX_SAMPLES = 65_535
MIN_HZ, MAX_HZ = 1.0, 1000.0
MAX_G = 64.0
"""Accelerations beyond ±64 g are no wearable's reading (a fall peaks well under 20 g)."""
MAX_T0_MS = 10**15
"""Epoch ms beyond this (year ~33658) is out of range, not a clock."""
MAX_SPAN_MS = 86_400_000.0
"""Per-sample offsets from t0 (``dt``) lie in 0..one day."""


def is_binary(payload: bytes) -> bool:
    return payload[:2] == MAGIC


def encode_binary(
    t0_ms: int,
    hz: float,
    acc_g: np.ndarray,
    scale: float = 1.0 / 256.0,
    offsets_ms: np.ndarray | None = None,
) -> bytes:
    """Pack samples (in g) into the binary form; values beyond int16 saturate."""
    acc = np.asarray(acc_g, dtype=np.float64)
    n = acc.shape[0]
    if n > MAX_SAMPLES:
        raise ValueError(f"at most {MAX_SAMPLES} samples per message")
    counts = np.clip(np.rint(acc / scale), -32768, 32767).astype("<i2")
    flags = FLAG_OFFSETS if offsets_ms is not None else 0
    parts = [_HEADER.pack(MAGIC, VERSION, flags, int(t0_ms), float(hz), float(scale), n)]
    if offsets_ms is not None:
        parts.append(np.rint(np.asarray(offsets_ms, dtype=np.float64) * 10.0).astype("<u4").tobytes())
    parts.append(counts.tobytes())
    return b"".join(parts)


def decode_binary(payload: bytes) -> ImuBlock:
    if len(payload) < _HEADER.size:
        raise PayloadError(Reject.MALFORMED, f"binary imu shorter than its {_HEADER.size}-byte header")
    _magic, version, flags, t0, hz, scale, n = _HEADER.unpack_from(payload)
    if version != VERSION:
        raise PayloadError(Reject.MALFORMED, f"binary imu version {version} (expected {VERSION})")
    if not (MIN_HZ <= hz <= MAX_HZ):  # false for NaN too
        raise PayloadError(Reject.OUT_OF_RANGE, f"hz {hz} outside {MIN_HZ}..{MAX_HZ}")
    if not (0 < scale < 1.0):
        raise PayloadError(Reject.OUT_OF_RANGE, f"scale {scale} g/count outside (0, 1)")
    _check_t0(t0)
    offset = _HEADER.size
    expected = offset + (4 * n if flags & FLAG_OFFSETS else 0) + 6 * n
    if len(payload) != expected:
        raise PayloadError(Reject.MALFORMED, f"binary imu of {n} samples needs {expected} bytes, got {len(payload)}")
    counts = np.frombuffer(payload, dtype="<i2", count=3 * n, offset=expected - 6 * n).reshape(n, 3)
    limit = MAX_G / scale
    if n and limit < 32768 and (counts.max() > limit or counts.min() < -limit):
        raise PayloadError(Reject.OUT_OF_RANGE, f"imu acc values must be within ±{MAX_G:g} g (scale {scale:g} g/count)")
    acc = np.multiply(counts, np.float32(scale), dtype=np.float32)
    if flags & FLAG_OFFSETS:
        offsets = np.frombuffer(payload, dtype="<u4", count=n, offset=offset).astype(np.float64) / 10.0
        return _block(float(t0), offsets, acc)
    # Regular sampling: the offsets are made here, finite and increasing, so not checked again.
    return ImuBlock(t_ms=float(t0) + _regular_offsets(n, hz), acc=acc)


@functools.lru_cache(maxsize=256)
def _regular_offsets(n: int, hz: float) -> np.ndarray:
    """``n`` sample offsets (ms) at ``hz``, shared read-only between the blocks of a rate."""
    offsets = np.arange(n, dtype=np.float64) * (1000.0 / hz)
    offsets.flags.writeable = False
    return offsets


def decode_json(body: dict[str, Any]) -> ImuBlock:
    t0 = body.get("t0", body.get("ts"))
    hz = body.get("hz")
    acc = body.get("acc")
    if t0 is None or acc is None:
        raise PayloadError(Reject.MISSING_FIELD, "imu needs t0 (epoch ms) and acc ([[x,y,z],…] in g)")
    if not _is_number(t0):
        raise PayloadError(Reject.WRONG_TYPE, "imu t0 must be a number (epoch ms)")
    _check_t0(t0)
    if not isinstance(acc, list) or len(acc) > MAX_SAMPLES:
        raise PayloadError(Reject.WRONG_TYPE, f"imu acc must be a list of at most {MAX_SAMPLES} [x,y,z]")
    try:
        samples = np.asarray(acc, dtype=np.float64)
    except OverflowError as error:  # an integer beyond any float (10**400)
        raise PayloadError(Reject.OUT_OF_RANGE, f"imu acc values must be within ±{MAX_G:g} g") from error
    except (TypeError, ValueError) as error:
        raise PayloadError(Reject.WRONG_TYPE, "imu acc must hold numbers only") from error
    if samples.size == 0:
        samples = samples.reshape(0, 3)
    if samples.ndim != 2 or samples.shape[1] != 3:
        raise PayloadError(Reject.WRONG_TYPE, f"imu acc must be n×3, got shape {samples.shape}")
    if not np.all(np.isfinite(samples)) or np.abs(samples).max(initial=0.0) > MAX_G:
        raise PayloadError(Reject.OUT_OF_RANGE, f"imu acc values must be finite and within ±{MAX_G:g} g")
    dt = body.get("dt")
    if dt is not None:
        try:
            offsets = np.asarray(dt, dtype=np.float64)
        except OverflowError as error:
            raise PayloadError(Reject.OUT_OF_RANGE, f"imu dt offsets must lie in 0..{MAX_SPAN_MS:.0f} ms") from error
        except (TypeError, ValueError) as error:
            raise PayloadError(Reject.WRONG_TYPE, "imu dt must be a list of ms offsets") from error
        if offsets.shape != (samples.shape[0],):
            raise PayloadError(Reject.WRONG_TYPE, "imu dt must have one offset per sample")
    else:
        if not _is_number(hz) or not (MIN_HZ <= hz <= MAX_HZ):
            raise PayloadError(Reject.OUT_OF_RANGE, f"imu hz must be a number in {MIN_HZ}..{MAX_HZ}")
        offsets = np.arange(samples.shape[0], dtype=np.float64) * (1000.0 / float(hz))
    return _block(float(t0), offsets, samples.astype(np.float32))


def _check_t0(t0: float) -> None:
    # Comparisons, not float(): they are exact for huge ints and false for NaN.
    if not (0 <= t0 <= MAX_T0_MS):
        raise PayloadError(Reject.OUT_OF_RANGE, f"imu t0 must be epoch ms in 0..{MAX_T0_MS}")


def _block(t0: float, offsets: np.ndarray, acc: np.ndarray) -> ImuBlock:
    if offsets.size and (not np.all(np.isfinite(offsets)) or np.any(np.diff(offsets) < 0)):
        raise PayloadError(Reject.OUT_OF_RANGE, "imu sample times must be finite and non-decreasing")
    if offsets.size and (offsets[0] < 0 or offsets[-1] > MAX_SPAN_MS):
        raise PayloadError(Reject.OUT_OF_RANGE, f"imu sample offsets must lie in 0..{MAX_SPAN_MS:.0f} ms from t0")
    return ImuBlock(t_ms=t0 + offsets, acc=np.ascontiguousarray(acc, dtype=np.float32))


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
