"""A stream worker: owns some partitions of the log, runs one stream core per partition.

Per owned partition ``n`` the worker holds a :class:`Partition`: a :class:`~stream.StreamCore` (the
kernels' arrays of that partition's residents only) and ``applied``, the last log sequence whose
events are in the core **and** whose detections are stored as alerts. Its life:

1. **take** (lease won): load the snapshot ``p<n>`` from the object store (the core's arrays and
   the sequence they cover; none: an empty core at sequence 0), then read the subject
   ``care.p.<n>`` from ``applied + 1``: replay and live are the same loop; it is *live* (its timers
   run) once a fetch finds less than a batch still pending;
2. **apply** a fetched frame: decode, ``core.process``, store the detections (retrying until the
   database takes them), acknowledge the message, ``applied = seq``; every ``tick_s`` the core's
   timers are advanced (inactivity, device silence) and what fires is stored the same way;
3. **snapshot** every ``snapshot_every_s`` (when ``applied`` has moved) and on release: arrays and
   ``applied`` taken together under the partition's lock (never between a detection and its
   storing), encoded off the loop. A silence alert fired by the timers since is not in it; the next
   owner fires it again, under the same key, so it is stored once;
4. **release** (balance or shutdown) or **lose** (lease taken or expired): stop reading; the next
   owner starts from the last snapshot and replays the rest.

Replay never pages twice: detections are deterministic (an SOS is keyed by device and sequence
number, inactivity by resident and silence start) and ``raise_alert_v3`` stores a key once.

The consumer reading a partition is this owner's own (R1, in memory, deleted when idle): its
cursor is ``applied``, kept by the worker and in the snapshot, not by the server. When the server
holding it dies the fetch fails and the worker makes a new one from ``applied + 1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from alerting.intake import RaiseDetections, store_until_stored
from devices.events import Event
from partitions.codec import CodecError, decode_events
from partitions.keys import PARTITIONS, SNAPSHOTS_BUCKET, STREAM, partition_of, subject_of
from partitions.leases import LeaseConfig, Leases, fair_share
from stream import Detection, StreamCore
from stream.core import encode_snapshot
from stream.device_table import BoundDevice, bindings

log = logging.getLogger("eldercare.partitions.worker")

CoreFactory = Callable[[], StreamCore]


class DeviceRegistry(Protocol):
    """The registry as the cores follow it (``registry.store.Registry`` fits): its live devices, and a count
    of changes to them so that they are read again only after one."""

    generation: int

    def devices(self) -> Iterable[BoundDevice]: ...


_SEQ = struct.Struct("<Q")
READER_STOP_S = 10.0
"""How long a partition given up waits for its reader to stop (its consumer unsubscribed)."""


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    worker_id: str
    tick_s: float = 1.0
    snapshot_every_s: float = 5.0
    fetch_batch: int = 256
    fetch_wait_s: float = 0.5
    store_retry_max_s: float = 2.0
    replicas: int = 1
    """Copies of the snapshot bucket (as the log's)."""
    leases: LeaseConfig = field(default_factory=LeaseConfig)


@dataclass
class Partition:
    """One owned partition: its core, how far it has applied the log, and its reader."""

    number: int
    core: StreamCore
    applied: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reader: asyncio.Task[None] | None = None
    taken_at: float = field(default_factory=time.monotonic)
    live_at: float | None = None
    """When the reader first found nothing more to replay (caught up with the log)."""
    replayed: int = 0
    dirty: bool = False
    snapshot_of: int = 0
    """The ``applied`` of the last snapshot stored (no new one until it moves)."""
    followed: int = -1
    """The registry generation the core's device supervision last followed (−1: not yet)."""
    """True between feeding the core a frame and storing its detections: no snapshot of that."""


class Worker:
    """Balances leases, reads owned partitions, stores detections, snapshots the cores."""

    def __init__(
        self,
        js: JetStreamContext,
        raise_detections: RaiseDetections,
        config: WorkerConfig,
        make_core: CoreFactory,
        clock: Callable[[], float] = time.time,
        partitions: int = PARTITIONS,
        registry: DeviceRegistry | None = None,
    ) -> None:
        self.js = js
        self.raise_detections = raise_detections
        self.config = config
        self.make_core = make_core
        self.clock = clock
        self.partitions = partitions
        self.registry = registry
        """Followed by each live core's device supervision (:meth:`follow_registry`); None: not followed."""
        self.leases = Leases(js, config.worker_id, config.leases, partitions)
        self.owned: dict[int, Partition] = {}
        self.live_workers = 1
        self.applied_events = 0
        self.rejected_frames = 0
        self.detections = 0
        self._snapshots: ObjectStore | None = None
        self._last_snapshot = time.monotonic()

    # ------------------------------------------------------------------------------------- the loop

    async def open(self) -> None:
        await self.leases.open()
        try:
            self._snapshots = await self.js.object_store(SNAPSHOTS_BUCKET)
        except NotFoundError:
            try:
                self._snapshots = await self.js.create_object_store(SNAPSHOTS_BUCKET, replicas=self.config.replicas)
            except BadRequestError:  # created meanwhile by another worker
                self._snapshots = await self.js.object_store(SNAPSHOTS_BUCKET)

    async def run(self) -> None:
        """Forever: a lease round every ``leases.renew_s``; timers every ``tick_s``; snapshots."""
        while True:
            try:
                await self.open()
                break
            except Exception as error:  # the cluster still electing its leaders: again
                log.warning("opening the lease and snapshot buckets failed", extra={"error": repr(error)[:160]})
                await asyncio.sleep(0.5)
        await asyncio.gather(self._lease_rounds(), self._timers())

    async def _lease_rounds(self) -> None:
        # A round that hangs (a server that never answers, a reader that never stops) must not freeze
        # this worker's leases silently: it is cut off, logged, and the next round starts over.
        round_limit_s = max(30.0, 10 * self.config.leases.ttl_s)
        while True:
            try:
                await asyncio.wait_for(self.balance(), round_limit_s)
            except Exception as error:  # the bucket mid-election: the next round tries again
                log.warning("lease round failed", extra={"error": repr(error)[:160], "limit_s": round_limit_s})
            await asyncio.sleep(self.config.leases.renew_s)

    async def _timers(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_s)
            try:
                await self.tick()
                if time.monotonic() - self._last_snapshot >= self.config.snapshot_every_s:
                    self._last_snapshot = time.monotonic()
                    await self.snapshot_all()
            except Exception:
                log.exception("stream timers failed")

    async def balance(self) -> None:
        """One lease round: renew, heartbeat, then release above or take up to the fair share."""
        for number in await self.leases.renew():
            await self._stop(number, snapshot=False)
        # leases won in an earlier round whose start failed
        await asyncio.gather(*(self._try_start(n) for n in self.leases.held if n not in self.owned))
        self.live_workers = await self.leases.heartbeat()
        share = fair_share(self.live_workers, self.partitions)
        surplus = len(self.owned) - share
        for number in sorted(self.owned, reverse=True)[: max(0, surplus)]:
            await self._stop(number, snapshot=True)
            await self.leases.release(number)
            log.info("partition released", extra={"partition": number, "share": share})
        taken: list[int] = []
        for number in self.leases.preference:
            if len(self.owned) + len(taken) >= share:
                break
            if number in self.owned:
                continue
            if await self.leases.take(number):
                taken.append(number)
        # snapshot loads and consumer creations are round trips: do them together
        await asyncio.gather(*(self._try_start(number) for number in taken))

    async def stop(self) -> None:
        """Snapshot and release every partition, so the others take over without waiting for the TTL."""
        for number in list(self.owned):
            await self._stop(number, snapshot=True)
        with contextlib.suppress(Exception):
            await self.leases.withdraw()

    # ---------------------------------------------------------------------------------- a partition

    async def _try_start(self, number: int) -> None:
        try:
            await self._start(number)
        except Exception as error:  # e.g. the snapshot store mid-election: retried next round
            log.warning("starting a partition failed", extra={"partition": number, "error": repr(error)[:160]})

    async def _start(self, number: int) -> None:
        core = self.make_core()
        applied = 0
        blob = await self._load_snapshot(number)
        if blob is not None:
            applied, state = blob
            core.restore(state)
        partition = Partition(number, core, applied, snapshot_of=applied)
        partition.reader = asyncio.create_task(self._read(partition), name=f"partition-{number}")
        self.owned[number] = partition
        log.info("partition taken", extra={"partition": number, "from_seq": applied + 1})

    async def _stop(self, number: int, *, snapshot: bool) -> None:
        partition = self.owned.pop(number, None)
        if partition is None:
            return
        if partition.reader is not None:
            partition.reader.cancel()
            # waits for the reader without taking its CancelledError for ours (a round cut off goes on
            # being cancelled), and not forever
            await asyncio.wait({partition.reader}, timeout=READER_STOP_S)
        if snapshot:
            await self._save_snapshot(partition)
        log.info("partition stopped", extra={"partition": number, "applied": partition.applied})

    async def _read(self, partition: Partition) -> None:
        """Read the partition's subject from ``applied + 1`` forever, remaking the consumer when it fails."""
        while True:
            subscription = None
            try:
                subscription = await self.js.pull_subscribe(
                    subject_of(partition.number),
                    stream=STREAM,
                    config=ConsumerConfig(
                        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                        opt_start_seq=partition.applied + 1,
                        ack_policy=AckPolicy.EXPLICIT,
                        ack_wait=30.0,
                        max_ack_pending=self.config.fetch_batch * 4,
                        inactive_threshold=30.0,
                        mem_storage=True,
                        num_replicas=1,
                    ),
                )
                idle = 0.0
                while True:
                    try:
                        messages = await subscription.fetch(self.config.fetch_batch, timeout=self.config.fetch_wait_s)
                    except (TimeoutError, nats.errors.TimeoutError):
                        if partition.live_at is None:
                            self._caught_up(partition)
                        idle += self.config.fetch_wait_s
                        if idle >= 2.0:  # is our consumer still there (its server may have died)?
                            idle = 0.0
                            await subscription.consumer_info()
                        continue
                    idle = 0.0
                    for message in messages:
                        seq = message.metadata.sequence.stream
                        if seq <= partition.applied:  # already in the core (a redelivery)
                            await message.ack()
                            continue
                        await self._apply(partition, message.data, seq)
                        await message.ack()
                    if partition.live_at is None and messages[-1].metadata.num_pending < self.config.fetch_batch:
                        self._caught_up(partition)  # busy partitions never see an empty fetch
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "partition reader failed; remaking its consumer",
                    extra={"partition": partition.number, "applied": partition.applied, "error": repr(error)[:160]},
                )
                await asyncio.sleep(0.5)
            finally:
                if subscription is not None:
                    with contextlib.suppress(Exception):
                        await subscription.unsubscribe()

    @staticmethod
    def _caught_up(partition: Partition) -> None:
        partition.live_at = time.monotonic()
        log.info(
            "partition live",
            extra={
                "partition": partition.number,
                "replayed": partition.replayed,
                "seconds": round(partition.live_at - partition.taken_at, 3),
            },
        )

    async def _apply(self, partition: Partition, frame: bytes, seq: int) -> None:
        try:
            events = decode_events(frame)
        except CodecError as error:
            self.rejected_frames += 1
            log.error("log message is not an event frame; skipped", extra={"seq": seq, "error": str(error)})
            partition.applied = seq
            return
        batch: dict[str, list[Event]] = {}
        for event in events:
            batch.setdefault(event.resident_id, []).append(event)
        async with partition.lock:
            partition.dirty = True
            detections = partition.core.process(batch, int(self.clock() * 1000))
            await self._store(detections)
            partition.applied = seq
            partition.dirty = False
        if partition.live_at is None:
            partition.replayed += len(events)
        self.applied_events += len(events)

    async def _store(self, detections: list[Detection]) -> None:
        """Store until stored: the partition waits (its events stay in the log) while the database is away."""
        if not detections:
            return
        self.detections += len(detections)
        await store_until_stored(self.raise_detections, detections, self.config.store_retry_max_s)

    async def tick(self) -> None:
        """Let time pass in every owned core (inactivity, device silence); store what fires."""
        now_ms = int(self.clock() * 1000)
        for partition in list(self.owned.values()):
            if partition.live_at is None or partition.lock.locked():
                continue  # replaying (judged once caught up), or waiting for the database
            async with partition.lock:
                partition.dirty = True
                self.follow_registry(partition, now_ms)
                await self._store(partition.core.advance(now_ms))
                partition.dirty = False

    def follow_registry(self, partition: Partition, now_ms: int) -> None:
        """Give a live partition's core the registry's devices of its residents, once caught up with the log
        (replayed events of a device since retired would bring it back) and after each registry change: a
        retired, replaced or unbound device leaves supervision, a moved one is filed under its resident, one
        the snapshot lacks is watched from now (:meth:`stream.core.StreamCore.follow_registry`)."""
        if self.registry is None or partition.followed == self.registry.generation:
            return
        partition.followed = self.registry.generation
        mine = bindings(self.registry.devices(), lambda r: partition_of(r, self.partitions) == partition.number)
        partition.core.follow_registry(mine, now_ms)

    # ----------------------------------------------------------------------------------- snapshots

    async def snapshot_all(self) -> None:
        for partition in list(self.owned.values()):
            await self._save_snapshot(partition)

    async def _save_snapshot(self, partition: Partition) -> None:
        if self._snapshots is None or partition.dirty or partition.applied == partition.snapshot_of:
            return
        async with partition.lock:
            arrays = partition.core.snapshot_arrays()
            applied = partition.applied
        try:
            blob = await asyncio.to_thread(lambda: _SEQ.pack(applied) + encode_snapshot(arrays))
            await self._snapshots.put(f"p{partition.number}", blob)
            partition.snapshot_of = applied
        except Exception as error:  # the next one may work; a takeover replays a little more meanwhile
            log.warning("partition snapshot failed", extra={"partition": partition.number, "error": repr(error)[:160]})

    async def _load_snapshot(self, number: int) -> tuple[int, bytes] | None:
        assert self._snapshots is not None
        try:
            result = await self._snapshots.get(f"p{number}")
        except (ObjectNotFoundError, NotFoundError):
            return None
        data = result.data or b""
        if len(data) < _SEQ.size:
            return None
        (applied,) = _SEQ.unpack_from(data)
        return int(applied), data[_SEQ.size :]

    def health(self) -> dict[str, Any]:
        return {
            "worker_id": self.config.worker_id,
            "live_workers": self.live_workers,
            "partitions": sorted(self.owned),
            "replaying": sorted(n for n, p in self.owned.items() if p.live_at is None),
            "applied_events": self.applied_events,
            "detections": self.detections,
            "rejected_frames": self.rejected_frames,
        }
