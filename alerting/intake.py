"""Intake: detections from the stream core become alerts; nothing is lost while the database is away.

:class:`Intake` stores detections, each as a new alert or a repeat of an open one, in one
transaction, then announces them. **The resident's button and the cancel window.** Sensor-derived
alerts (falls, inactivity) start *pending*: the home announces them (``announce_pending``) and the
console shows them greyed with a countdown. The gateway turns any button press into an SOS detection;
when that resident has a pending alert, the press *is* the answer "I'm fine": the pending alerts are
cancelled (recorded in the audit trail with the pressing device) and **no SOS is raised** for that
press. A resident who needs help presses again: with nothing pending, that press raises an SOS as
usual. SOS presses never wait.

The platform feeds it through :class:`~alerting.spooled_intake.SpooledIntake`, which spools what the
database cannot take in time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from alerting.context import Context
from alerting.effects import command, ms
from alerting.model import (
    CANCELLABLE_KINDS,
    OPEN_STATES,
    PRIORITY,
    Alert,
    AlertEvent,
    AlertEventType,
    AlertState,
    Outcome,
    alert_id_for,
)
from alerting.notices import TellFamily, note_safely
from alerting.policy import ringing_steps
from alerting.tx import COLUMNS, Move, TimerStep, Transaction, Transactions, alert_from
from devices.catalogue import device_type
from stream.detections import NOTICE_KINDS, Detection, DetectionKind

log = logging.getLogger("eldercare.alerting")

DEVICE_ANSWERED_KINDS = frozenset({DetectionKind.SOS, DetectionKind.FALL})
"""The device that raised one of these hears "call received" when the console starts ringing, and so does one
that raises it again while it is open (:func:`answer_again`)."""


def answer_again(alert: Alert, now: datetime) -> dict[str, Any]:
    """What a device that pressed again on an open alert hears: where its call stands ("help on the way" once a
    responder took it, else "call received")."""
    if alert.state in (AlertState.DISPATCHED, AlertState.ON_SCENE) and alert.responder:
        return command(alert, "help_on_the_way", now, responder=alert.responder)
    return command(alert, "call_received", now)


RAISE_SQL = (
    "SELECT * FROM raise_alert_v3(%s, %s, %s, %s, %s, %s::smallint, %s, %s, %s, %s::real, %s,"
    " %s::text[], %s, %s, %s::text[], %s::timestamptz[], %s::jsonb[])"
)
"""A detection stored as a new alert or a repeat of an open one (migration 003), with its timers."""
OPEN_STATE_NAMES = [state.value for state in OPEN_STATES]


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000.0, UTC)


class Intake:
    """Detections in, alerts stored and announced: one alone by ``raise_alert_v3`` committing by itself
    (one round trip), several (a backlog) in one transaction sent as a pipeline."""

    def __init__(self, ctx: Context, transactions: Transactions) -> None:
        self.ctx = ctx
        self.transactions = transactions
        self.tell_family: TellFamily | None = None
        """Tells the family contacts told of an alert that the resident moves again (the service's family)."""
        self.maybe_pending: set[str] = set()
        """Residents who may have a pending alert, so a plain SOS press costs no extra query. Exact for
        the process that owns the resident's partition (rebuilt in :meth:`restore`); cleared lazily."""

    async def restore(self) -> None:
        async with self.ctx.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, resident_id, kind, state FROM alerts WHERE state = ANY(%s)", (OPEN_STATE_NAMES,)
            )
            rows = await cursor.fetchall()
        self.maybe_pending = {row["resident_id"] for row in rows if row["state"] == AlertState.PENDING.value}
        self.ctx.open_alerts.load((row["id"], row["resident_id"], row["kind"]) for row in rows)

    def rings_at_once(self, detection: Detection, org_path: str | None) -> bool:
        """Whether the detection is certain to be stored as a new, ringing alert (:mod:`alerting.early`):
        no cancel window, no pending alert a press could answer, none of its kind open as far as known."""
        if self._may_cancel(detection) or detection.kind in NOTICE_KINDS:
            return False
        kind = detection.kind
        if kind in CANCELLABLE_KINDS and self.ctx.policies.resolve(detection.resident_id, org_path).cancel_window_s > 0:
            return False
        return not self.ctx.open_alerts.may_have(detection.resident_id, kind.value)

    async def settle_provisional(self, provisional: Sequence[Alert]) -> None:
        """Provisional alerts the store did not raise as announced: each replaced on the console by the
        alert as stored (an alarm stored before, delivered again), or withdrawn (it repeated an alert
        this process did not know was open, or answered a pending one), closed as a duplicate."""
        async with self.ctx.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {COLUMNS} FROM alerts WHERE id = ANY(%s)", ([alert.id for alert in provisional],)
            )
            stored = {alert.id: alert for alert in map(alert_from, await cursor.fetchall())}
        now = self.ctx.clock()
        for alert in provisional:
            found = stored.get(alert.id)
            if found is not None:
                self.ctx.publish(AlertEvent(AlertEventType.UPDATED, found, at=now))
                continue
            withdrawn = replace(alert, state=AlertState.DUPLICATE, closed_at=now, closed_by="system")
            detail = {"withdrawn": "the alarm was stored as part of another alert"}
            self.ctx.publish(AlertEvent(AlertEventType.DUPLICATE, withdrawn, at=now, detail=detail))

    async def raise_detections(self, detections: Sequence[Detection]) -> list[AlertEvent]:
        """Store each detection as a new alert or a repeat of an open one, then announce them; a notice
        on an alert (:data:`~stream.detections.NOTICE_KINDS`) is written on it, after the alerts of the
        same batch (it may name one of them).

        Idempotent: a detection whose key was seen before changes nothing and announces nothing.
        """
        alarms = [d for d in detections if d.kind not in NOTICE_KINDS]
        events = await self._raise_alarms(alarms) if alarms else []
        notices = [d for d in detections if d.kind in NOTICE_KINDS]
        if notices:
            async with self.transactions.begin() as tx:
                for notice in notices:
                    await note_safely(tx, notice, self.tell_family)
            events = [*events, *tx.fx.events]
        return events

    async def _raise_alarms(self, detections: Sequence[Detection]) -> list[AlertEvent]:
        paths = {d.resident_id: await self.ctx.org_path(d.resident_id) for d in detections}
        if len(detections) == 1 and not self._may_cancel(detections[0]):
            # the alarm lane's usual case: one call to raise_alert_v3, committed by itself
            async with self.transactions.statement() as tx:
                await self._raise_one(tx, detections[0], paths[detections[0].resident_id])
            return tx.fx.events
        if not any(self._may_cancel(d) for d in detections):
            # a backlog's alarms: one statement executed for each, all sent before any result is read
            async with self.transactions.pipelined() as tx:
                calls = [self._raise_call(tx, d, paths[d.resident_id]) for d in detections]
                async with tx.conn.cursor() as cursor:
                    await cursor.executemany(RAISE_SQL, [params for params, _ in calls], returning=True)
                    seen = []
                    for index, (_, now) in enumerate(calls):
                        if index:
                            cursor.nextset()
                        row = await cursor.fetchone()
                        self._record(tx, row, now, detections[index])
                        if row is None:
                            seen.append(detections[index])
                for detection in seen:
                    await self._answer_redelivery(tx, detection)
            return tx.fx.events
        async with self.transactions.begin() as tx:
            for detection in detections:
                tx.now = self.ctx.clock()  # each detection is decided at its own time
                await self._raise_one(tx, detection, paths[detection.resident_id])
        return tx.fx.events

    def _may_cancel(self, detection: Detection) -> bool:
        """A press from a resident who may have a pending alert: it may be the answer "I'm fine"."""
        return detection.kind is DetectionKind.SOS and detection.resident_id in self.maybe_pending

    async def _raise_one(self, tx: Transaction, detection: Detection, org_path: str | None) -> None:
        if self._may_cancel(detection) and await self._press_cancels(tx, detection):
            return
        params, now = self._raise_call(tx, detection, org_path)
        cursor = await tx.conn.execute(RAISE_SQL, params)
        row = await cursor.fetchone()
        self._record(tx, row, now, detection)
        if row is None:
            await self._answer_redelivery(tx, detection)

    async def _answer_redelivery(self, tx: Transaction, detection: Detection) -> None:
        """A press stored before, sent again (the device retrying after a restart lost its answer, or a
        redelivery): nothing is raised or announced again, but the device that sent it is told where its call
        stands while the alert is open, as for a press again (:func:`answer_again`)."""
        if detection.kind not in DEVICE_ANSWERED_KINDS:
            return
        cursor = await tx.conn.execute(
            f"SELECT {COLUMNS} FROM alerts WHERE id = (SELECT alert_id FROM alert_triggers WHERE key = %s)",
            (detection.key,),
        )
        row = await cursor.fetchone()
        if row is not None:
            self._answer_again(tx, detection, alert_from(row), tx.now)

    def _answer_again(self, tx: Transaction, detection: Detection, alert: Alert, now: datetime) -> None:
        """The device that raised ``alert`` again hears where its call stands (:func:`answer_again`) while it
        rings or help is on the way; one pending is announced by the home, not answered as a call."""
        if detection.kind in DEVICE_ANSWERED_KINDS and alert.is_open and alert.state is not AlertState.PENDING:
            tx.fx.downlinks.append((detection.device_id, answer_again(alert, now)))

    def _raise_call(
        self, tx: Transaction, detection: Detection, org_path: str | None
    ) -> tuple[tuple[Any, ...], datetime]:
        """The parameters of :data:`RAISE_SQL` for a detection decided now, and that time."""
        now = tx.now = self.ctx.clock()  # each detection is decided at its own time
        policy = self.ctx.policies.resolve(detection.resident_id, org_path)
        pending_until = None
        steps: list[TimerStep]
        if detection.kind in CANCELLABLE_KINDS and policy.cancel_window_s > 0:
            pending_until = now + timedelta(seconds=policy.cancel_window_s)
            steps = [("cancel_window", pending_until, {})]  # the ladder starts when the window ends
        else:
            steps = ringing_steps(policy, now)
        params = (
            detection.key,
            alert_id_for(detection.key),
            detection.resident_id,
            detection.device_id,
            detection.kind.value,
            PRIORITY.get(detection.kind, 5),
            from_ms(detection.ts_ms),
            now,
            self.ctx.coalesce_window,
            float(detection.confidence),
            Jsonb(dict(detection.details)),
            OPEN_STATE_NAMES,
            org_path,
            pending_until,
            [kind for kind, _, _ in steps],
            [due for _, due, _ in steps],
            [Jsonb(data) for _, _, data in steps],
        )
        return params, now

    def _record(self, tx: Transaction, row: DictRow | None, now: datetime, detection: Detection) -> None:
        """What ``raise_alert_v3`` decided at ``now`` for ``detection``: the events and commands to send
        after the commit."""
        if row is None:
            return  # seen before: a redelivery or a replay
        outcome = row.pop("event")
        timer_ids = row.pop("timer_ids") or []
        timer_due = row.pop("timer_due") or []
        alert = alert_from(row)
        tx.fx.timers.extend(zip(timer_ids, timer_due, strict=True))
        if outcome == "repeated":
            tx.fx.events.append(AlertEvent(AlertEventType.REPEATED, alert, at=now))
            # pressed again (or on another button): told too, or a resident who sees no light fears nobody heard
            self._answer_again(tx, detection, alert, now)
        elif outcome == "pending":
            assert alert.pending_until is not None
            self.maybe_pending.add(alert.resident_id)
            tx.fx.events.append(AlertEvent(AlertEventType.PENDING, alert, at=now))
            announce = command(alert, "announce_pending", now, kind=alert.kind, cancel_by=ms(alert.pending_until))
            tx.fx.send(self.ctx.home_devices(alert), announce)
        else:
            tx.fx.events.append(AlertEvent(AlertEventType.RAISED, alert, at=now))
            if alert.kind in DEVICE_ANSWERED_KINDS:
                tx.fx.downlinks.append((alert.device_id, command(alert, "call_received", now)))

    async def _press_cancels(self, tx: Transaction, press: Detection) -> bool:
        """A button press while the resident has pending alerts cancels them (and raises nothing)."""
        cursor = await tx.conn.execute(
            f"SELECT {COLUMNS} FROM alerts WHERE resident_id = %s AND state = 'pending' ORDER BY raised_at FOR UPDATE",
            (press.resident_id,),
        )
        pending = [alert_from(row) for row in await cursor.fetchall()]
        if not pending:
            self.maybe_pending.discard(press.resident_id)
            return False
        cursor = await tx.conn.execute(
            "INSERT INTO alert_triggers (key, alert_id, received_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO NOTHING RETURNING key",
            (press.key, pending[0].id, tx.now),
        )
        if await cursor.fetchone() is None:
            return True  # this press was handled before (a redelivery)
        actor = f"resident:{press.device_id}"
        for alert in pending:
            cancelled = await tx.move(
                alert,
                Move(
                    AlertState.CANCELLED,
                    actor,
                    f"the resident pressed {press.device_id} inside the cancel window: I'm fine",
                    sets={"closed_at": tx.now, "closed_by": actor, "outcome": Outcome.RESIDENT_FINE.value},
                    action="cancelled by resident",
                    detail={"by": "resident", "device_id": press.device_id},
                ),
            )
            cancel = command(cancelled, "cancelled", tx.now, reason="resident")
            tx.fx.send(self.ctx.home_devices(cancelled, press.device_id), cancel)
        return True


class HomeDevice(Protocol):
    """What announcements need of a device record (``registry.store.DeviceRecord`` fits)."""

    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...


def home_announcers(devices_of: Callable[[str], Iterable[HomeDevice]]) -> Callable[[str], list[str]]:
    """The resident's devices that speak or light up (pending countdowns, "help is on the way"; by their
    type's ``announces`` in :mod:`devices.catalogue`), from ``devices_of(resident_id)`` (their devices)."""

    def announcers(resident_id: str) -> list[str]:
        return [d.id for d in devices_of(resident_id) if device_type(d.type).announces]

    return announcers


RaiseDetections = Callable[[Sequence[Detection]], Awaitable[Any]]


async def store_until_stored(
    raise_detections: RaiseDetections, detections: Sequence[Detection], retry_max_s: float
) -> None:
    """Store ``detections`` however long the database is away: each failure is logged and retried
    after a delay doubling from 0.1 s up to ``retry_max_s``."""
    delay = 0.1
    while True:
        try:
            await raise_detections(detections)
            return
        except Exception as error:
            log.error("storing alerts failed; retrying", extra={"error": repr(error)[:200], "retry_s": delay})
            await asyncio.sleep(delay)
            delay = min(delay * 2, retry_max_s)
