"""A stream worker against a real nats-server (the embedded one), without a database: what it
detects is collected by the store callback."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devices.events import Event, Stream
from eldercare.cluster import core_factory, log_config, worker_config
from eldercare.embedded import EmbeddedBroker
from partitions.keys import partition_of
from partitions.log import LogWriter, connect, ensure_stream
from partitions.worker import Worker
from stream import Detection
from stream.detections import DetectionKind
from tests.partitions.test_failover import local_noon_offset_min
from tests.partitions.test_seam import cluster_settings

pytestmark = pytest.mark.cluster


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    async with EmbeddedBroker(tmp_path, port=0) as running:
        yield running


def same_partition(resident: str, count: int) -> list[str]:
    """``count`` resident ids that share ``resident``'s partition."""
    target = partition_of(resident)
    out = [resident]
    i = 0
    while len(out) < count:
        i += 1
        candidate = f"{resident}-n{i}"
        if partition_of(candidate) == target:
            out.append(candidate)
    return out


def motion(resident: str, ts_ms: int) -> Event:
    return Event(
        f"pir-{resident}", resident, Stream.MOTION, ts_ms, ts_ms, {"occupancy": True}, None, "pir", "living room"
    )


async def test_a_busy_partition_still_judges_silences(broker: EmbeddedBroker) -> None:
    """Neighbours keep the partition busy (a fetch never comes back empty); the silent resident's
    inactivity alert must still fire (it did not: timers waited for an empty fetch)."""
    settings = cluster_settings(
        "busy", inactivity_fixed_s=2.0, home_utc_offset_min=local_noon_offset_min(), lease_ttl_s=2.0
    )
    silent, *neighbours = same_partition("quiet-1", 4)
    nc = await connect(log_config(settings, broker.nats_url), "busy-test")
    js = nc.jetstream()
    found: list[Detection] = []

    async def store(detections: Any) -> None:
        found.extend(detections)

    config = worker_config(settings)
    worker = Worker(js, store, config, core_factory(settings))
    await ensure_stream(js, log_config(settings, broker.nats_url))
    writer = LogWriter(js, log_config(settings, broker.nats_url), "busy-writer")
    await writer.sink({silent: [motion(silent, int(time.time() * 1000))]})
    running = asyncio.create_task(worker.run())

    async def chatter() -> None:
        while True:  # faster than the fetch wait (0.5 s): every fetch returns something
            now = int(time.time() * 1000)
            await writer.sink({n: [motion(n, now)] for n in neighbours})
            await asyncio.sleep(0.05)

    busy = asyncio.create_task(chatter())
    try:
        deadline = time.monotonic() + 12
        while not any(d.kind is DetectionKind.INACTIVITY and d.resident_id == silent for d in found):
            assert time.monotonic() < deadline, (worker.health(), found)
            await asyncio.sleep(0.2)
        assert not any(d.resident_id in neighbours and d.kind is DetectionKind.INACTIVITY for d in found)
    finally:
        for task in (busy, running):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await worker.stop()
        await nc.close()
