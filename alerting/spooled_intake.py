"""The front the platform feeds its detections: when the database cannot take them in time, they go to
the durable :class:`~alerting.spool.Spool` first and the console is told at once (provisional alerts, with
the same ids the stored alerts will have); the spool drains in order when the database is back. What
storing them means is :class:`alerting.intake.Intake`'s.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from alerting import metrics
from alerting.bus import AlertBus
from alerting.early import Storing, provisional_alert
from alerting.intake import RaiseDetections, store_until_stored
from alerting.model import Alert, AlertEvent, AlertEventType
from alerting.spool import Spool, SpoolFull
from stream.detections import NOTICE_KINDS, Detection

log = logging.getLogger("eldercare.alerting")


STORE_CHUNK = 50
"""Detections stored per transaction by :class:`SpooledIntake` (each within its timeout)."""


class RingFirst(Protocol):
    """What ringing before storing needs of the alert service (:mod:`alerting.early`)."""

    @property
    def storing(self) -> Storing: ...

    def rings_at_once(self, detection: Detection, org_path: str | None) -> bool: ...

    async def settle_provisional(self, provisional: Sequence[Alert]) -> None: ...


class SpooledIntake:
    """Stores detections as alerts; if the database cannot take them in time, spools them durably first.

    Never dropped: when even the spool cannot be written, :meth:`take` keeps retrying the database
    (the caller's acknowledgements wait, so the broker keeps the messages) and :attr:`error` says why.
    With ``ring_first``, an alarm certain to be a new alert is on the console before it is stored.
    """

    def __init__(
        self,
        raise_detections: RaiseDetections,
        bus: AlertBus,
        spool: Spool,
        org_of: Callable[[str], str | None],
        clock: Callable[[], float] = time.time,
        store_timeout_s: float = 3.0,
        retry_max_s: float = 5.0,
        ring_first: RingFirst | None = None,
    ) -> None:
        self.raise_detections = raise_detections
        self.ring_first = ring_first
        self.bus = bus
        self.spool = spool
        self.org_of = org_of
        self.clock = clock
        self.store_timeout_s = store_timeout_s
        """How long an alert may wait for the database before it goes to the spool instead."""
        self.retry_max_s = retry_max_s
        self.error: str | None = None
        """Why the spool cannot take alarms (None when it can)."""
        self.detections = 0
        self._drainer: asyncio.Task[None] | None = None

    async def take(self, detections: list[Detection]) -> None:
        """Store detections now, or spool them, announce them provisionally and drain later. With
        ``ring_first``, those certain to be new alerts ring on the consoles before the store begins.

        Stored :data:`STORE_CHUNK` at a time, each chunk within ``store_timeout_s``: a broker's backlog
        of alarms (a thousand presses in one batch after an outage) is a run of short transactions
        whose alerts ring as each commits, not one long one that outlasts the timeout and spools all.
        """
        if not detections:
            return
        self.detections += len(detections)
        early = self._ring_first(detections)
        if early:
            await asyncio.sleep(0)  # the consoles send the ring before the store's round trip begins
        unstored = 0  # where the detections not yet known to be stored begin
        try:
            raised: set[uuid.UUID] = set()
            for start in range(0, len(detections), STORE_CHUNK):
                unstored = start
                stored = None if len(self.spool) else await self._store_now(detections[start : start + STORE_CHUNK])
                if stored is None:
                    await self._spool(detections[start:])
                    return  # the provisional alerts stand until the spool drains
                unstored = start + STORE_CHUNK
                raised.update(event.alert.id for event in stored if event.type is AlertEventType.RAISED)
            if unsettled := [alert for alert in early if alert.id not in raised]:
                await self._settle(unsettled)
        except asyncio.CancelledError:
            self._keep_on_cancel(detections[unstored:])
            raise
        finally:
            if early:
                assert self.ring_first is not None
                self.ring_first.storing.end(alert.id for alert in early)

    def _keep_on_cancel(self, detections: list[Detection]) -> None:
        """Cancelled while storing (the process is stopping): what may not have been stored waits in the
        spool for the next start. The stream state that made these detections is saved as it is now and
        will not make them again; a detection stored after all is a repeat when the spool drains (its key)."""
        if not detections:
            return
        try:
            self.spool.append(detections)
        except OSError:  # SpoolFull too
            log.critical(
                "ALARMS LOST AT SHUTDOWN: cancelled while storing and the spool would not take them",
                exc_info=True,
                extra={"detections": [d.key for d in detections][:50]},
            )
            return
        metrics.SPOOL_SIZE.set(len(self.spool))
        log.warning(
            "stopping while storing alarms: kept in the spool for the next start", extra={"pending": len(detections)}
        )

    def _ring_first(self, detections: list[Detection]) -> list[Alert]:
        """Announce the detections certain to be new alerts (:mod:`alerting.early`); returns them."""
        if self.ring_first is None or len(self.spool):
            return []
        now = datetime.fromtimestamp(self.clock(), UTC)
        early: list[Alert] = []
        for detection in detections:
            org_path = self.org_of(detection.resident_id)
            if self.ring_first.rings_at_once(detection, org_path):
                alert = provisional_alert(detection, org_path, now)
                self.ring_first.storing.begin((alert.id,))
                self.bus.publish(AlertEvent(AlertEventType.RAISED, alert, at=now))
                early.append(alert)
        return early

    async def _settle(self, unsettled: list[Alert]) -> None:
        assert self.ring_first is not None
        try:
            await self.ring_first.settle_provisional(unsettled)
        except Exception:  # the alarms are stored; a console reconnecting takes a fresh snapshot
            log.exception("provisional alerts not settled", extra={"alerts": [str(a.id) for a in unsettled]})

    async def _store_now(self, detections: list[Detection]) -> list[AlertEvent] | None:
        """The events of storing ``detections``; None when the database could not take them in time."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.store_timeout_s):  # no task of its own, unlike wait_for
                events = await self.raise_detections(detections)
        except Exception as error:
            log.error("alert database unavailable; spooling", extra={"error": repr(error)[:200]})
            return None
        metrics.STORE_SECONDS.observe(time.perf_counter() - started)
        return list(events or ())

    async def _spool(self, detections: list[Detection]) -> None:
        try:
            self.spool.append(detections)
        except SpoolFull as error:
            self.error = str(error)
            metrics.SPOOL_ERRORS.inc()
            log.critical(
                "ALARMS CANNOT BE BUFFERED: spool full; holding them at the broker", extra={"error": str(error)}
            )
            await store_until_stored(self.raise_detections, detections, self.retry_max_s)
            return
        self.error = None
        metrics.SPOOL_SIZE.set(len(self.spool))
        self._announce_provisional(detections)
        self.start_draining()

    def start_draining(self) -> None:
        """Drain the spool in the background unless a drainer already runs (also at start, for what
        the last run left behind)."""
        if len(self.spool) and (self._drainer is None or self._drainer.done()):
            self._drainer = asyncio.create_task(self._drain_spool(), name="spool-drainer")

    def stop_draining(self) -> asyncio.Task[None] | None:
        """Hand over the drainer task (for the caller to cancel and await), if one runs."""
        drainer, self._drainer = self._drainer, None
        return drainer

    def _announce_provisional(self, detections: list[Detection]) -> None:
        """The console still rings while the database is away; the stored alert keeps the same id."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        for detection in detections:
            if detection.kind in NOTICE_KINDS:
                continue  # on an alert stored before: written when the spool drains
            alert = provisional_alert(detection, self.org_of(detection.resident_id), now)
            self.bus.publish(AlertEvent(AlertEventType.RAISED, alert, at=now))

    async def _drain_spool(self) -> None:
        """Store spooled detections in order, as soon as the database takes them again."""
        delay = 0.2
        while len(self.spool):
            batch = self.spool.peek(100)
            try:
                await asyncio.wait_for(self.raise_detections(batch), self.store_timeout_s * 3)
            except Exception as error:
                log.warning(
                    "spool drain waiting for the database",
                    extra={"pending": len(self.spool), "error": repr(error)[:120]},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
                continue
            self.spool.drop(len(batch))
            metrics.SPOOL_SIZE.set(len(self.spool))
            delay = 0.2
        log.info("spool drained: every buffered alarm is stored")
