"""What ``eldercare bench scaling`` reads from outside the platform: the log, its consumers, CPU.

- :func:`progress_of`: how far the log and its readers are now: the stream's last sequence, per
  partition the acknowledged floor of its readers (the highest; a handed-over partition briefly has
  two consumers) and what its owner's (the newest) consumer has still to read, the history
  consumer's floor, and who owns what.
- :class:`LogTail`: the log's frames read in order, their events counted (the bench waits with it
  until the ingest has drained the homes' connect burst);
- :class:`LogIndex`: every frame of the log read back once after the run (sequence → partition,
  everyday events, IMU blocks), so a window's events per worker are counted exactly: those of its
  partitions between the floors at the window's start and end.
- :func:`cpu_seconds`: user + system CPU of processes (psutil), and PostgreSQL's backends serving
  one database (found by their process title);
- :func:`stored_presses`, :func:`alerts_by_kind`: what the database says was stored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import numpy as np
import psutil
import psycopg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from devices.events import Stream
from partitions.codec import CodecError, decode_events
from partitions.history import CONSUMER as HISTORY_CONSUMER
from partitions.keys import PARTITIONS, STREAM, SUBJECT_PREFIX
from partitions.leases import Leases


@dataclass(frozen=True, slots=True)
class Progress:
    last_seq: int
    floors: dict[int, int]
    """Partition → the stream sequence its readers have acknowledged up to."""
    history_floor: int
    owners: dict[int, str]
    pending: int
    """Frames not yet acknowledged by the partitions' readers (all partitions)."""


async def progress_of(js: JetStreamContext, leases: Leases | None) -> Progress:
    info = await js.stream_info(STREAM)
    floors: dict[int, int] = {}
    pending: dict[int, int] = {}
    created: dict[int, str] = {}
    history = 0
    for consumer in await js.consumers_info(STREAM):
        floor = consumer.ack_floor.stream_seq if consumer.ack_floor and consumer.ack_floor.stream_seq else 0
        if consumer.name == HISTORY_CONSUMER:
            history = floor
            continue
        subject = consumer.config.filter_subject or ""
        number = subject.removeprefix(f"{SUBJECT_PREFIX}.")
        if not subject.startswith(f"{SUBJECT_PREFIX}.") or not number.isdigit():
            continue  # the history consumer, or the bench's own reader of the whole log
        partition = int(number)
        made = str(consumer.created or "")
        if made >= created.get(partition, ""):  # the newest: the owner's (a released one lingers a while)
            created[partition] = made
            floors[partition] = max(floor, floors.get(partition, 0))
            pending[partition] = int(consumer.num_pending or 0) + int(consumer.num_ack_pending or 0)
        else:
            floors[partition] = max(floor, floors.get(partition, 0))
    owners: dict[int, str] = {}
    for _ in range(3 if leases is not None else 0):  # a key read can miss while its lease is renewed
        owners = await leases.owners()  # type: ignore[union-attr]
        if len(owners) == PARTITIONS:
            break
    return Progress(int(info.state.last_seq), floors, history, owners, sum(pending.values()))


class LogTail:
    """Reads the log's frames in order from the start, as far as it is written (a throwaway
    consumer without acknowledgements), counting everyday events and IMU blocks."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.subscription: Any = None
        self.seq = 0
        self.everyday = 0
        self.imu = 0
        self.unreadable = 0

    async def open(self) -> None:
        self.subscription = await self.js.pull_subscribe(
            f"{SUBJECT_PREFIX}.*",
            stream=STREAM,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.NONE,
                mem_storage=True,
                inactive_threshold=30.0,
            ),
        )

    async def read(self, upto_seq: int | None = None, batch: int = 2000) -> list[tuple[int, int, int, int]]:
        """Frames until the log has no more (or ``upto_seq``): (seq, partition, everyday, imu) each."""
        frames: list[tuple[int, int, int, int]] = []
        while upto_seq is None or self.seq < upto_seq:
            try:
                messages = await self.subscription.fetch(batch, timeout=1.0 if upto_seq is None else 5.0)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            for message in messages:
                self.seq = max(self.seq, message.metadata.sequence.stream)
                try:
                    events = decode_events(message.data)
                except CodecError:
                    self.unreadable += 1
                    events = []
                imu = sum(1 for e in events if e.stream is Stream.IMU)
                self.everyday += len(events) - imu
                self.imu += imu
                frames.append((self.seq, int(message.subject.rsplit(".", 1)[1]), len(events) - imu, imu))
        return frames

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.subscription.unsubscribe()


@dataclass
class LogIndex:
    """Per stream sequence (index = seq): partition, everyday events and IMU blocks of the frame."""

    partition: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int16))
    everyday: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int32))
    imu: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int32))
    unreadable: int = 0

    @classmethod
    async def read(cls, js: JetStreamContext, upto_seq: int) -> LogIndex:
        """Frames 1 … ``upto_seq`` read back."""
        index = cls(
            np.full(upto_seq + 1, -1, dtype=np.int16),
            np.zeros(upto_seq + 1, dtype=np.int32),
            np.zeros(upto_seq + 1, dtype=np.int32),
        )
        if upto_seq == 0:
            return index
        tail = LogTail(js)
        await tail.open()
        try:
            for seq, partition, everyday, imu in await tail.read(upto_seq):
                if seq <= upto_seq:
                    index.partition[seq], index.everyday[seq], index.imu[seq] = partition, everyday, imu
        finally:
            await tail.close()
        index.unreadable = tail.unreadable
        return index

    def between(self, lo: int, hi: int, partitions: Iterable[int] | None = None) -> tuple[int, int]:
        """(everyday events, IMU blocks) in frames ``lo < seq ≤ hi`` (of ``partitions`` only, if given)."""
        lo, hi = max(0, lo), min(hi, len(self.partition) - 1)
        if hi <= lo:
            return 0, 0
        part = self.partition[lo + 1 : hi + 1]
        mask = np.ones(part.shape, dtype=bool) if partitions is None else np.isin(part, list(partitions))
        return int(self.everyday[lo + 1 : hi + 1][mask].sum()), int(self.imu[lo + 1 : hi + 1][mask].sum())

    def applied(
        self, floors0: Mapping[int, int], floors1: Mapping[int, int], partitions: Iterable[int]
    ) -> tuple[int, int]:
        """Events the readers of ``partitions`` acknowledged between two sets of floors."""
        everyday = imu = 0
        for p in partitions:
            lo, hi = floors0.get(p, 0), floors1.get(p, 0)
            if hi <= lo:
                continue
            e, i = self.between(lo, hi, (p,))
            everyday += e
            imu += i
        return everyday, imu


def cpu_seconds(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    with contextlib.suppress(psutil.Error):
        times = process.cpu_times()
        return float(times.user + times.system)
    return 0.0


def database_backends(database: str) -> dict[int, float]:
    """PostgreSQL backends serving ``database`` (pid → CPU seconds so far), by their process title
    ``postgres: <user> <database> <client> <state>``."""
    found: dict[int, float] = {}
    for proc in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            title = " ".join(proc.info["cmdline"] or [])
            if proc.info["name"] in {"postgres", "postgresql"} and f" {database} " in f"{title} ":
                found[proc.pid] = cpu_seconds(proc)
    return found


def partitions_of(owners: Mapping[int, str], worker: str) -> list[int]:
    return sorted(p for p, owner in owners.items() if owner == worker)


def all_owned(owners: Mapping[int, str], workers: Iterable[str]) -> bool:
    """Every partition owned, by these workers exactly, in fair shares."""
    names = set(workers)
    if len(owners) != PARTITIONS or set(owners.values()) != names:
        return False
    share = -(-PARTITIONS // len(names))
    return all(sum(1 for o in owners.values() if o == w) <= share for w in names)


async def stored_presses(database_url: str, devices: list[str]) -> dict[str, tuple[float, str]]:
    """Device → (when its press was stored, epoch s; what it became), for presses in the database.

    A press is stored under the trigger key ``<device>:seq:<n>`` (or ``:ts:``); it may have joined
    another open alert of its resident or cancelled a pending one: stored either way."""
    if not devices:
        return {}
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT split_part(t.key, ':', 1), extract(epoch FROM min(t.received_at)), min(a.kind)"
            " FROM alert_triggers t JOIN alerts a ON a.id = t.alert_id"
            " WHERE split_part(t.key, ':', 1) = ANY(%s) GROUP BY 1",
            (devices,),
        )
        return {row[0]: (float(row[1]), str(row[2])) for row in await cursor.fetchall()}


async def alerts_by_kind(database_url: str) -> dict[str, int]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute("SELECT kind, count(*) FROM alerts GROUP BY kind ORDER BY 2 DESC")
        return {str(kind): int(n) for kind, n in await cursor.fetchall()}
