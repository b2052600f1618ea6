"""The durable log at the seam: one JetStream stream, one subject per partition, and its writer.

The gateway's sink in an ingest process is :meth:`LogWriter.sink`: it groups a batch's events by
partition, publishes one frame per partition and returns only when JetStream has acknowledged
every frame (stored on a quorum of the stream's replicas). The gateway acknowledges the MQTT
messages after the sink returns, so a device's message is durable before the broker forgets it.
If the log is unavailable (a leader election, a lost server) the sink retries with back-off and
the gateway holds back its MQTT acknowledgements meanwhile: nothing is dropped, alarms wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from devices.events import Event
from partitions.codec import encode_events
from partitions.keys import PARTITIONS, STREAM, SUBJECT_PREFIX, partition_of, subject_of

log = logging.getLogger("eldercare.partitions.log")


@dataclass(frozen=True, slots=True)
class LogConfig:
    """Where the log lives and how it is kept."""

    servers: tuple[str, ...] = ("nats://127.0.0.1:4222",)
    replicas: int = 1
    """Copies of every message (3 on a 3-node cluster; 1 on the embedded single server)."""
    max_age_s: float = 24 * 3600.0
    """How long events stay replayable; must exceed the snapshot interval by far."""
    max_bytes: int | None = None
    """A cap on the stream's size (None: the server's ``max_file_store`` is the limit)."""
    publish_timeout_s: float = 2.0
    retry_max_s: float = 2.0


async def connect(config: LogConfig, name: str) -> NATS:
    """A NATS connection that reconnects forever (a worker outlives any one server)."""

    async def on_error(error: Exception) -> None:
        log.warning("nats connection error", extra={"error": repr(error)[:200]})

    return await nats.connect(
        servers=list(config.servers),
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.25,
        connect_timeout=2,
        error_cb=on_error,
    )


async def ensure_stream(js: JetStreamContext, config: LogConfig) -> None:
    """Create the stream if absent (idempotent; an existing stream keeps its settings)."""
    stream = StreamConfig(
        name=STREAM,
        subjects=[f"{SUBJECT_PREFIX}.*"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=config.replicas,
        max_age=config.max_age_s,
        max_bytes=config.max_bytes or -1,
        duplicate_window=120.0,
    )
    try:
        await js.stream_info(STREAM)
        return
    except NotFoundError:
        pass
    try:
        await js.add_stream(stream)
        log.info("log stream created", extra={"stream": STREAM, "replicas": config.replicas})
    except BadRequestError as error:  # created meanwhile by another process
        log.info("log stream exists (%s)", str(error)[:160])


def by_partition(batch: Mapping[str, Sequence[Event]], partitions: int = PARTITIONS) -> dict[int, list[Event]]:
    """The batch's events grouped by their resident's partition, each resident's order kept."""
    grouped: dict[int, list[Event]] = {}
    for resident_id, events in batch.items():
        grouped.setdefault(partition_of(resident_id, partitions), []).extend(events)
    return grouped


class LogWriter:
    """Publishes gateway batches to the partitions and waits for JetStream's acknowledgements."""

    def __init__(self, js: JetStreamContext, config: LogConfig, writer_id: str) -> None:
        self.js = js
        self.config = config
        self.writer_id = writer_id
        self._batches = 0
        self.published = 0
        self.frames = 0
        self.retries = 0
        self.per_partition: Counter[int] = Counter()

    async def sink(self, batch: Mapping[str, Sequence[Event]]) -> None:
        """Store the batch in the log; returns once every frame is acknowledged (retries until then)."""
        grouped = by_partition(batch)
        self._batches += 1
        batch_id = f"{self.writer_id}-{int(time.time() * 1000)}-{self._batches}"
        await asyncio.gather(
            *(self._publish(p, encode_events(events), f"{batch_id}-{p}") for p, events in grouped.items())
        )
        for p, events in grouped.items():
            self.per_partition[p] += len(events)
            self.published += len(events)
        self.frames += len(grouped)

    async def _publish(self, partition: int, frame: bytes, msg_id: str) -> None:
        """Publish until acknowledged; the message id lets JetStream drop a retry of a stored frame."""
        delay = 0.05
        headers = {"Nats-Msg-Id": msg_id}
        while True:
            try:
                await self.js.publish(
                    subject_of(partition), frame, timeout=self.config.publish_timeout_s, headers=headers
                )
                return
            except Exception as error:  # timeouts, no responders during an election, reconnects
                self.retries += 1
                log.warning(
                    "log publish not acknowledged; retrying",
                    extra={"partition": partition, "error": repr(error)[:160], "retry_s": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max_s)
