"""Residents to partitions: a fixed number of partitions, a stable hash, one subject per partition.

A resident's events always go to the same partition, so one worker sees all of them in order.
The hash is CRC-32 (IEEE 802.3, ``zlib.crc32``) of the resident id's UTF-8 bytes, modulo
:data:`PARTITIONS`: the same in every process, language and release (Python's ``hash`` is salted
per process and must never be used here). Changing :data:`PARTITIONS` remaps residents: it is a
migration (drain the log, move snapshots), not a setting.
"""

from __future__ import annotations

import zlib

PARTITIONS = 64
"""P: partitions of the log. Workers own whole partitions; at most P workers do useful work."""

STREAM = "CARE"
"""The JetStream stream holding every partition's events."""

SUBJECT_PREFIX = "care.p"
"""Partition ``n`` is the subject ``care.p.<n>``."""

CONSOLE_SUBJECT = "care.console"
"""Core NATS subject on which alert events fan out to every API instance."""

ACCOUNTS_SUBJECT = "care.accounts"
"""Core NATS subject on which an account change (deactivated, new password, role or area) reaches
every API instance's open console feeds."""

LEASES_BUCKET = "care-leases"
WORKERS_BUCKET = "care-workers"
SNAPSHOTS_BUCKET = "care-snapshots"


def partition_of(resident_id: str, partitions: int = PARTITIONS) -> int:
    """The partition of ``resident_id``: ``crc32(utf8(resident_id)) mod partitions``."""
    return zlib.crc32(resident_id.encode("utf-8")) % partitions


def subject_of(partition: int) -> str:
    return f"{SUBJECT_PREFIX}.{partition}"


def lease_key(partition: int) -> str:
    return f"p{partition}"
