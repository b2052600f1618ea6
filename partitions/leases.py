"""Who owns which partition: leases in a NATS KV bucket with a time to live.

The rules (the same in every worker; nats-py 2.16 has no pinned consumers, so leases it is):

- a lease is the key ``p<n>`` in the bucket ``care-leases``, whose value is the owner's worker id;
  the bucket's TTL is the lease time, so a key nobody renews disappears ``ttl_s`` after its last
  write;
- **take**: ``create`` (succeeds only when the key is absent: free, released, or expired);
- **renew**: every ``renew_s``, ``update`` with the revision we last wrote (compare-and-set). A
  wrong revision means the key changed: if it is absent (it expired while the bucket was
  unreachable, e.g. during a leader election) the worker creates it again and keeps going;
  otherwise another worker owns it and the partition is stopped at once. A renewal that cannot
  reach the bucket keeps the lease (nobody else can take it while the bucket is unreachable);
- **release**: ``delete`` with our revision, after the partition's state is snapshotted;
- **balance**: every worker writes a heartbeat ``w.<id>`` into ``care-workers`` (same TTL) and counts
  the live ones, N; it aims for ``ceil(P / N)`` partitions, takes free ones while below, and releases
  its highest-numbered ones while above. A worker that dies frees its partitions after the TTL; one
  that joins makes the others release down to the new share.

Two owners for a moment (a paused process that wakes after its lease expired) cost nothing but
work: detections are deterministic and alerts are stored idempotently by their key.
"""

from __future__ import annotations

import asyncio
import logging
import math
import zlib
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import BadRequestError, KeyWrongLastSequenceError, NoKeysError, NotFoundError
from nats.js.kv import KeyValue

from partitions.keys import LEASES_BUCKET, PARTITIONS, WORKERS_BUCKET, lease_key

log = logging.getLogger("eldercare.partitions.leases")


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    ttl_s: float = 3.0
    """A lease not renewed for this long is free for the taking (the failover time's main part)."""
    renew_s: float = 1.0
    replicas: int = 1
    request_timeout_s: float = 1.0


async def open_bucket(js: JetStreamContext, bucket: str, *, ttl_s: float | None, replicas: int) -> KeyValue:
    """The KV bucket, created when absent (by whichever process comes first; the others use it)."""
    try:
        return await js.key_value(bucket)
    except NotFoundError:
        pass
    try:
        return await js.create_key_value(bucket=bucket, ttl=ttl_s, replicas=replicas, history=1)
    except BadRequestError:  # created meanwhile by another process (perhaps with other settings)
        return await js.key_value(bucket)


def fair_share(live_workers: int, partitions: int = PARTITIONS) -> int:
    """Partitions each worker aims for: ``ceil(P / N)``."""
    return math.ceil(partitions / max(1, live_workers))


class Leases:
    """This worker's leases: take, renew, release, and the count of live workers."""

    def __init__(
        self,
        js: JetStreamContext,
        worker_id: str,
        config: LeaseConfig | None = None,
        partitions: int = PARTITIONS,
    ) -> None:
        self.js = js
        self.worker_id = worker_id
        self.config = config or LeaseConfig()
        self.partitions = partitions
        self.held: dict[int, int] = {}
        """Partition → the revision of our last write of its key."""
        self._leases: KeyValue | None = None
        self._workers: KeyValue | None = None
        start = zlib.crc32(worker_id.encode()) % partitions
        self.preference = [(start + i) % partitions for i in range(partitions)]
        """The order this worker tries free partitions in (spread, so workers rarely race)."""

    async def open(self) -> None:
        self._leases = await open_bucket(self.js, LEASES_BUCKET, ttl_s=self.config.ttl_s, replicas=self.config.replicas)
        self._workers = await open_bucket(
            self.js, WORKERS_BUCKET, ttl_s=self.config.ttl_s, replicas=self.config.replicas
        )

    @property
    def leases(self) -> KeyValue:
        assert self._leases is not None, "call open() first"
        return self._leases

    async def heartbeat(self) -> int:
        """Say this worker is alive; returns how many workers are (at least 1: this one)."""
        assert self._workers is not None, "call open() first"
        await self._workers.put(f"w.{self.worker_id}", self.worker_id.encode())
        try:
            keys = await self._workers.keys()
        except NoKeysError:
            keys = []
        return max(1, len(keys))

    async def owners(self) -> dict[int, str]:
        """Partition → owner, as the bucket says now (for tests and the health page)."""
        try:
            keys = await self.leases.keys()
        except NoKeysError:
            return {}
        out: dict[int, str] = {}
        for key in keys:
            try:
                entry = await self.leases.get(key)
            except Exception:
                continue
            if entry.value:
                out[int(key[1:])] = entry.value.decode()
        return out

    async def take(self, partition: int) -> bool:
        """Take the partition's lease if it is free; True when it is ours now."""
        try:
            revision = await self.leases.create(lease_key(partition), self.worker_id.encode())
        except KeyWrongLastSequenceError:
            return False
        self.held[partition] = revision
        return True

    async def renew(self) -> list[int]:
        """Renew every held lease, all at once; returns the partitions lost to another worker.

        Concurrent, not one after another: with 64 leases on a loaded machine the serial round
        trips alone outlasted a 3 s TTL, and a live worker lost every partition it held.
        """
        held = list(self.held.items())
        outcomes = await asyncio.gather(*(self._renew(partition, revision) for partition, revision in held))
        lost = [partition for (partition, _), kept in zip(held, outcomes, strict=True) if not kept]
        for partition in lost:
            self.held.pop(partition, None)
        return lost

    async def _renew(self, partition: int, revision: int) -> bool:
        """Renew one lease; False when another worker owns it now."""
        key = lease_key(partition)
        try:
            self.held[partition] = await self.leases.update(key, self.worker_id.encode(), last=revision)
            return True
        except KeyWrongLastSequenceError:
            pass
        except Exception as error:  # unreachable or electing: nobody else can take it either
            log.warning("lease renewal failed; kept", extra={"partition": partition, "error": repr(error)[:120]})
            return True
        # Someone wrote the key, or it expired while the bucket was unreachable: ours again only
        # if it is free now (then nobody else owned it in between).
        try:
            self.held[partition] = await self.leases.create(key, self.worker_id.encode())
            log.info("lease expired and taken again", extra={"partition": partition})
        except KeyWrongLastSequenceError:
            log.warning("lease lost to another worker", extra={"partition": partition})
            return False
        except Exception:
            return True
        return True

    async def release(self, partition: int) -> None:
        """Give the partition up (its state already snapshotted by the caller)."""
        revision = self.held.pop(partition, None)
        if revision is None:
            return
        try:
            await self.leases.delete(lease_key(partition), last=revision)
        except Exception as error:  # it expires after the TTL anyway
            log.warning("releasing a lease failed", extra={"partition": partition, "error": repr(error)[:120]})

    async def withdraw(self) -> None:
        """Leaving: release every lease and the heartbeat so others take over at once."""
        for partition in list(self.held):
            await self.release(partition)
        if self._workers is not None:
            try:
                await self._workers.delete(f"w.{self.worker_id}")
            except Exception:
                log.warning("removing the worker heartbeat failed")
