"""The transaction layer: every decision about an alert is one PostgreSQL transaction.

:meth:`Transactions.begin` opens it; the :class:`Transaction` it yields holds the connection, the time
of the decision and the :class:`~alerting.effects.Effects` collected on the way, and offers the row
operations every concept uses (lock, update, audit, timers, a state :class:`Move`). The effects run
after the commit. :meth:`Transactions.run` is the common shape: lock one alert (inside the caller's
scope), decide, commit, then tell.

Timers (cancel windows, the escalation ladder, responder acceptance) are rows in ``alert_timers``
with wall-clock deadlines, mirrored into the in-memory :class:`~alerting.scheduler.Scheduler`. A timer
fires by claiming its row (``fired_at IS NULL``), so after a restart a deadline that passed while the
process was down fires once, and a second process never fires it again. What a timer does is the
handler its kind is registered with (:meth:`Transactions.on_timer`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from alerting.context import Context, ScopeLike, scope_clause
from alerting.effects import EffectRunner, Effects
from alerting.model import (
    CLOSED_STATES,
    STATE_EVENTS,
    TRANSITIONS,
    Alert,
    AlertEvent,
    AlertEventType,
    AlertNotFound,
    AlertState,
    IllegalTransition,
)
from alerting.notify import Notice

log = logging.getLogger("eldercare.alerting")

COLUMNS = (
    "id, resident_id, device_id, kind, priority, state, occurred_at, raised_at, last_trigger_at,"
    " acknowledged_at, acknowledged_by, repeats, confidence, details, org_path, ringing_at, pending_until,"
    " dispatched_at, on_scene_at, closed_at, closed_by, outcome, duplicate_of, urgency, needs_emergency_call,"
    " responder"
)
LADDER_TIMERS = ("ring_again", "supervisor", "family")
"""Stopped by acknowledgement."""
ACTIVE_DISPATCH = ("offered", "accepted", "arrived")

TimerStep = tuple[str, datetime, dict[str, Any]]
"""A timer to add: (kind, due, data)."""


def alert_from(row: Mapping[str, Any]) -> Alert:
    return Alert(**{**row, "state": AlertState(row["state"])})


@dataclass(frozen=True, slots=True)
class Move:
    """A move in the transition table, with what it writes and how it is recorded."""

    to: AlertState
    actor: str
    note: str = ""
    sets: Mapping[str, Any] = field(default_factory=dict)
    """Columns written with the new state (``closed_at``, ``outcome``, …)."""
    action: str | None = None
    """The audit trail's action (default: the new state)."""
    event: AlertEventType | None = None
    """The published event (default: the one the new state announces)."""
    detail: dict[str, Any] | None = None
    """The event's detail (default: the note)."""


class Transaction:
    """One deciding transaction: its connection, when it decides, what it will do after the commit."""

    def __init__(self, conn: AsyncConnection[DictRow], now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.fx = Effects()

    async def lock(self, alert_id: uuid.UUID, scope: ScopeLike | None = None) -> Alert:
        where, params = scope_clause(scope)
        cursor = await self.conn.execute(
            f"SELECT {COLUMNS} FROM alerts WHERE id = %s AND {where} FOR UPDATE", (alert_id, *params)
        )
        row = await cursor.fetchone()
        if row is None:
            raise AlertNotFound(f"no alert {alert_id}")
        return alert_from(row)

    async def update(self, alert: Alert, sets: Mapping[str, Any]) -> Alert:
        assignments = ", ".join(f"{name} = %s" for name in sets)
        cursor = await self.conn.execute(
            f"UPDATE alerts SET {assignments} WHERE id = %s RETURNING {COLUMNS}", (*sets.values(), alert.id)
        )
        row = await cursor.fetchone()
        assert row is not None
        return alert_from(row)

    async def audit(
        self,
        alert_id: uuid.UUID,
        actor: str,
        action: str,
        note: str,
        from_state: AlertState | None = None,
        to_state: AlertState | None = None,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO alert_audit (alert_id, at, actor, action, from_state, to_state, note)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (alert_id, self.now, actor, action, from_state, to_state, note),
        )

    async def move(self, alert: Alert, move: Move) -> Alert:
        """Check the transition table, update, audit, stop the timers the new state ends, announce."""
        if move.to not in TRANSITIONS[alert.state]:
            raise IllegalTransition(alert.state, move.to)
        moved = await self.update(alert, {"state": move.to.value, **move.sets})
        await self.audit(alert.id, move.actor, move.action or move.to.value, move.note, alert.state, move.to)
        if move.to in CLOSED_STATES:
            await self.cancel_timers(alert.id, None)
            await self.end_dispatches(alert.id)
        elif move.to is AlertState.ACKNOWLEDGED:
            await self.cancel_timers(alert.id, (*LADDER_TIMERS, "cancel_window"))
        detail = move.detail or {"note": move.note}
        self.fx.events.append(AlertEvent(move.event or STATE_EVENTS[move.to], moved, move.actor, self.now, detail))
        return moved

    def publish(self, event_type: AlertEventType, alert: Alert, actor: str, detail: dict[str, Any]) -> None:
        self.fx.events.append(AlertEvent(event_type, alert, actor, self.now, detail))

    def notify(self, notice: Notice) -> None:
        self.fx.notices.append(notice)

    async def add_timers(self, alert_id: uuid.UUID, steps: Sequence[TimerStep]) -> None:
        """Several timers in one round trip (the raise path is latency-sensitive)."""
        if not steps:
            return
        cursor = await self.conn.execute(
            "INSERT INTO alert_timers (alert_id, kind, due_at, data, created_at)"
            " SELECT %s, kind, due_at, data, %s FROM unnest(%s::text[], %s::timestamptz[], %s::jsonb[])"
            " AS t(kind, due_at, data) RETURNING id, due_at",
            (alert_id, self.now, [k for k, _, _ in steps], [d for _, d, _ in steps], [Jsonb(x) for _, _, x in steps]),
        )
        self.fx.timers.extend((row["id"], row["due_at"]) for row in await cursor.fetchall())

    async def add_timer(self, alert_id: uuid.UUID, kind: str, due: datetime, data: dict[str, Any]) -> None:
        cursor = await self.conn.execute(
            "INSERT INTO alert_timers (alert_id, kind, due_at, data, created_at) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING id",
            (alert_id, kind, due, Jsonb(data), self.now),
        )
        row = await cursor.fetchone()
        assert row is not None
        self.fx.timers.append((row["id"], due))

    async def cancel_timers(
        self, alert_id: uuid.UUID, kinds: Sequence[str] | None, data_match: dict[str, Any] | None = None
    ) -> None:
        query = (
            "UPDATE alert_timers SET cancelled_at = %s WHERE alert_id = %s AND fired_at IS NULL"
            " AND cancelled_at IS NULL"
        )
        params: list[Any] = [self.now, alert_id]
        if kinds is not None:
            query += " AND kind = ANY(%s)"
            params.append(list(kinds))
        if data_match is not None:
            query += " AND data @> %s"
            params.append(Jsonb(data_match))
        cursor = await self.conn.execute(query + " RETURNING id", params)
        self.fx.cancelled.extend(row["id"] for row in await cursor.fetchall())

    async def end_dispatches(self, alert_id: uuid.UUID) -> None:
        await self.conn.execute(
            "UPDATE dispatches SET status = CASE WHEN status = 'arrived' THEN 'done' ELSE 'recalled' END,"
            " responded_at = COALESCE(responded_at, %s) WHERE alert_id = %s AND status = ANY(%s)",
            (self.now, alert_id, list(ACTIVE_DISPATCH)),
        )


Step = Callable[[Transaction, Alert], Awaitable[Alert]]
TimerHandler = Callable[[Transaction, Alert, dict[str, Any]], Awaitable[None]]


class Transactions:
    """Opens deciding transactions, runs their effects after the commit, and fires timer rows."""

    def __init__(self, ctx: Context, deliver: Callable[[Notice], Awaitable[None]]) -> None:
        self.ctx = ctx
        self.effects = EffectRunner(ctx, self.schedule, deliver)
        self._handlers: dict[str, TimerHandler] = {}
        self._retries: dict[int, int] = {}

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Transaction]:
        """A transaction; its effects run if, and after, it commits."""
        now = self.ctx.clock()
        async with self.ctx.connection() as conn, conn.transaction():
            tx = Transaction(conn, now)
            yield tx
        self.effects.apply(tx.fx)

    @asynccontextmanager
    async def pipelined(self) -> AsyncIterator[Transaction]:
        """A transaction sent as a pipeline (BEGIN, the statements, COMMIT without waiting for each):
        a result is waited for only when fetched. For a run of independent statements, e.g. a
        backlog's alarms: one round trip for all of them instead of one each."""
        now = self.ctx.clock()
        async with self.ctx.connection() as conn, conn.pipeline(), conn.transaction():
            tx = Transaction(conn, now)
            yield tx
        self.effects.apply(tx.fx)

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[Transaction]:
        """A decision made by one statement that commits itself: one round trip to the database
        instead of three (BEGIN, the statement, COMMIT), still a synchronous commit. The statement
        must be atomic on its own (a PL/pgSQL function is); its effects run if, and after, it succeeds.
        """
        now = self.ctx.clock()
        async with self.ctx.connection() as conn:
            await conn.set_autocommit(True)
            try:
                tx = Transaction(conn, now)
                yield tx
            finally:
                try:
                    await conn.set_autocommit(False)
                except Exception:  # e.g. cancelled mid-statement: the pool replaces a closed connection
                    await conn.close()
        self.effects.apply(tx.fx)

    async def run(self, alert_id: uuid.UUID, scope: ScopeLike | None, step: Step) -> Alert:
        """Lock the alert (inside the scope), run ``step`` in the transaction, then the side effects.
        An alert the console shows before it is stored (:mod:`alerting.early`) is waited for first."""
        await self.ctx.storing.until_stored(alert_id)
        async with self.begin() as tx:
            alert = await tx.lock(alert_id, scope)
            alert = await step(tx, alert)
        return alert

    # -- timers --

    def on_timer(self, kind: str, handler: TimerHandler) -> None:
        """What a timer of ``kind`` does when it fires (with its alert locked)."""
        self._handlers[kind] = handler

    def schedule(self, timer_id: int, due: datetime) -> None:
        self.ctx.scheduler.schedule(due, ("timer", timer_id), partial(self.fire, timer_id))

    async def restore_timers(self) -> int:
        """Mirror every pending timer row into the scheduler (after a restart)."""
        async with self.ctx.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, due_at FROM alert_timers WHERE fired_at IS NULL AND cancelled_at IS NULL"
            )
            rows = await cursor.fetchall()
        for row in rows:
            self.schedule(row["id"], row["due_at"])
        return len(rows)

    async def fire(self, timer_id: int) -> None:
        try:
            await self._fire_once(timer_id)
            self._retries.pop(timer_id, None)
        except Exception:
            attempt = self._retries.get(timer_id, 0) + 1
            log.exception("alert timer failed", extra={"timer": timer_id, "attempt": attempt})
            if attempt < self.ctx.config.timer_retries:
                self._retries[timer_id] = attempt
                self.schedule(timer_id, self.ctx.clock() + timedelta(seconds=self.ctx.config.timer_retry_s))
            else:
                self._retries.pop(timer_id, None)  # left in the table: the next start tries again

    async def _fire_once(self, timer_id: int) -> None:
        async with self.begin() as tx:
            cursor = await tx.conn.execute(
                "UPDATE alert_timers SET fired_at = %s WHERE id = %s AND fired_at IS NULL AND cancelled_at IS NULL"
                " RETURNING alert_id, kind, data",
                (tx.now, timer_id),
            )
            claimed = await cursor.fetchone()
            if claimed is None:
                return  # cancelled, or fired by another process or before a restart
            alert = await tx.lock(claimed["alert_id"])
            await self._handlers[claimed["kind"]](tx, alert, claimed["data"])
