"""The event history written from the log: one durable consumer shared by every worker.

In one process the history is a memory buffer flushed every half second (dropping the oldest past
its limit). Here it is the durable pull consumer ``history`` on the whole stream: whichever worker
fetches a batch writes it with COPY (:meth:`alerting.EventHistory.append`) and then acknowledges it;
if the database is away nothing is acknowledged and the batch is written again when it is back, so
under load the history falls behind (the log holds it) instead of dropping. At least once: a
worker that dies between the COPY and the acknowledgement leaves those rows twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from alerting import EventHistory
from devices.events import Event
from partitions.codec import CodecError, decode_events
from partitions.keys import STREAM, SUBJECT_PREFIX

log = logging.getLogger("eldercare.partitions.history")
CONSUMER = "history"


class HistoryFromLog:
    def __init__(self, js: JetStreamContext, history: EventHistory, batch: int = 1000) -> None:
        self.js = js
        self.history = history
        self.batch = batch
        self.written = 0

    async def run(self) -> None:
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the consumer's leader moved, the server is away: again
                log.warning("history consumer failed; again", extra={"error": repr(error)[:160]})
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        subscription = await self.js.pull_subscribe(
            f"{SUBJECT_PREFIX}.*",
            durable=CONSUMER,
            stream=STREAM,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=60.0,
                max_ack_pending=self.batch * 20,
            ),
        )
        try:
            while True:
                try:
                    messages = await subscription.fetch(self.batch, timeout=1.0)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                events: list[Event] = []
                for message in messages:
                    try:
                        events.extend(decode_events(message.data))
                    except CodecError as error:
                        log.error("log message is not an event frame; not in the history", extra={"error": str(error)})
                await self._write(events)
                for message in messages:
                    await message.ack()
                self.written += len(events)
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _write(self, events: list[Event]) -> None:
        delay = 0.2
        while events:
            try:
                await self.history.append(events)
                return
            except Exception as error:
                log.warning("writing history failed; retrying", extra={"error": repr(error)[:160], "retry_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
