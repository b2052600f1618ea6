"""Resident partitions on NATS JetStream: the durable log at the seam, and workers that fail over.

The data flow (README "Scale-out"): gateway batches → :mod:`partitions.log` (one JetStream stream,
64 subjects ``care.p.<n>``, a resident's partition ``crc32(resident_id) mod 64``) → stream workers
(:mod:`partitions.worker`) that own partitions by lease (:mod:`partitions.leases`), each partition
one stream core, snapshotted with its log sequence and replayed on takeover → alerting (PostgreSQL)
→ alert events to every API instance over ``care.console`` (:mod:`partitions.console`).
"""

from partitions.keys import PARTITIONS, partition_of, subject_of

__all__ = ["PARTITIONS", "partition_of", "subject_of"]
