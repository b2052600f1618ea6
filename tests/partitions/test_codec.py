"""The log's event frames and the resident → partition hash."""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np
import pytest

from devices.events import Event, ImuBlock, Stream
from partitions.codec import MAGIC, CodecError, decode_events, encode_events
from partitions.keys import PARTITIONS, partition_of, subject_of
from partitions.log import by_partition


def imu_block(n: int, seed: int = 0) -> ImuBlock:
    rng = np.random.default_rng(seed)
    t0 = 1_700_000_000_000.0
    return ImuBlock(t_ms=t0 + np.arange(n, dtype=np.float64) * 20.0, acc=rng.normal(0, 1, (n, 3)).astype(np.float32))


def sample_events() -> list[Event]:
    return [
        Event(
            "btn-1",
            "res-1",
            Stream.ALARM,
            1_700_000_000_000,
            1_700_000_000_005,
            {"kind": "sos"},
            seq=7,
            device_type="sos_button",
            location="hall",
        ),
        Event(
            "pir-1",
            "居民-2",
            Stream.MOTION,
            1_700_000_000_100,
            1_700_000_000_101,
            {"occupancy": True},
            device_type="pir",
            location="客厅",
        ),
        Event("vit-1", "res-1", Stream.VITALS, 1, 2, {"hr": 71.5, "spo2": 97.0}),
        Event(
            "pend-1",
            "res-3",
            Stream.IMU,
            1_700_000_000_000,
            1_700_000_001_000,
            {},
            seq=None,
            device_type="pendant",
            imu=imu_block(50),
        ),
        Event("pend-2", "res-3", Stream.IMU, 5, 6, {}, imu=imu_block(0)),
    ]


def test_round_trip_keeps_every_field_and_the_samples_bit_for_bit() -> None:
    events = sample_events()
    decoded = decode_events(encode_events(events))
    assert len(decoded) == len(events)
    for before, after in zip(events, decoded, strict=True):
        assert (after.device_id, after.resident_id, after.stream, after.ts_ms, after.received_ms) == (
            before.device_id,
            before.resident_id,
            before.stream,
            before.ts_ms,
            before.received_ms,
        )
        assert (after.values, after.seq, after.device_type, after.location) == (
            dict(before.values),
            before.seq,
            before.device_type,
            before.location,
        )
        if before.imu is None or len(before.imu) == 0:
            assert after.imu is None
        else:
            assert after.imu is not None
            assert after.imu.t_ms.dtype == np.float64 and after.imu.acc.dtype == np.float32
            assert after.imu.acc.shape == (len(before.imu), 3)
            assert np.array_equal(after.imu.t_ms, before.imu.t_ms)
            assert np.array_equal(after.imu.acc, before.imu.acc)
            after.imu.acc[0, 0] = 1.0  # writable, not a view of the frame


def test_an_empty_batch_and_non_finite_values_survive() -> None:
    assert decode_events(encode_events([])) == []
    event = Event("v", "r", Stream.VITALS, 1, 1, {"hr": math.inf, "temp": math.nan})
    (after,) = decode_events(encode_events([event]))
    assert after.values["hr"] == math.inf and math.isnan(after.values["temp"])


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"JUNK" + b"\x00" * 8,
        MAGIC + struct.pack("<I", 200) + b"[]",  # metadata longer than the frame
        encode_events(sample_events())[:-7],  # truncated samples
        encode_events(sample_events()) + b"x",  # trailing bytes
        MAGIC + struct.pack("<I", 2) + b"{}",  # not a list
        MAGIC + struct.pack("<I", 5) + b"[[1]]",  # an event of the wrong shape
        MAGIC + struct.pack("<I", 44) + b'[["d","r","nope",1,2,{},null,"t","l",0]]    ',  # unknown stream
        MAGIC + struct.pack("<I", 3) + b"[[",  # not JSON
    ],
)
def test_what_is_not_a_frame_is_a_codec_error(frame: bytes) -> None:
    with pytest.raises(CodecError):
        decode_events(frame)


def test_partition_is_crc32_of_the_resident_id_and_stable() -> None:
    assert PARTITIONS == 64
    assert partition_of("res-1") == zlib.crc32(b"res-1") % 64
    assert partition_of("res-1") == 31  # pinned: changing it remaps every resident (a migration)
    assert partition_of("居民-2") == zlib.crc32("居民-2".encode()) % 64
    assert subject_of(5) == "care.p.5"
    spread = np.bincount([partition_of(f"res-{i}") for i in range(64_000)], minlength=64)
    assert spread.min() > 800 and spread.max() < 1200  # about 1000 each


def test_a_batch_is_grouped_by_partition_in_arrival_order() -> None:
    events = sample_events()
    batch: dict[str, list[Event]] = {}
    for event in events:
        batch.setdefault(event.resident_id, []).append(event)
    grouped = by_partition(batch)
    assert sum(len(v) for v in grouped.values()) == len(events)
    for partition, members in grouped.items():
        assert all(partition_of(e.resident_id) == partition for e in members)
    assert [e.device_id for e in grouped[partition_of("res-1")] if e.resident_id == "res-1"] == ["btn-1", "vit-1"]
