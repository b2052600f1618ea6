"""A worker's cores follow the registry's devices (no server needed: following is a step of the tick)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devices.events import Event, Stream
from eldercare.cluster import core_factory, worker_config
from partitions.keys import partition_of
from partitions.worker import Partition, Worker
from stream.detections import DetectionKind
from tests.partitions.test_seam import cluster_settings
from tests.partitions.test_worker import same_partition

M = 60_000


@dataclass
class Devices:
    """The registry as a worker reads it: its devices, and a count of changes."""

    records: list[Any] = field(default_factory=list)
    generation: int = 0

    def devices(self) -> list[Any]:
        return self.records


@dataclass(frozen=True)
class Record:
    id: str
    resident_id: str | None
    type: str


def status(device: str, resident: str, ts_ms: int) -> Event:
    return Event(device, resident, Stream.STATUS, ts_ms, ts_ms, {"online": True}, None, "plug", "kitchen")


async def test_a_live_partition_forgets_a_retired_device_and_files_a_moved_one_under_its_resident() -> None:
    settings = cluster_settings("follow")
    ann, bob = same_partition("ann", 2)
    registry = Devices([Record("plug-1", ann, "plug"), Record("plug-2", ann, "plug")])

    async def store(detections: Any) -> None:
        return None

    worker = Worker(None, store, worker_config(settings), core_factory(settings), registry=registry)  # type: ignore[arg-type]
    core = core_factory(settings)()
    partition = Partition(partition_of(ann, worker.partitions), core, 0, live_at=0.0)
    core.process({ann: [status("plug-1", ann, 0), status("plug-2", ann, 0)]}, 0)
    registry.records = [Record("plug-2", bob, "plug")]  # plug-1 retired, plug-2 moved to a neighbour
    registry.generation += 1
    worker.follow_registry(partition, M)
    silent = [(d.resident_id, d.device_id) for d in core.advance(60 * M) if d.kind is DetectionKind.DEVICE_SILENT]
    assert silent == [(bob, "plug-2")]  # before: both, on ann
