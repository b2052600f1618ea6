"""The operator's moves on an alert: acknowledge, cancel, resolve, close as a duplicate, record a call
to the resident; and the check that prompts an emergency (120) call when nobody is on the way.

Each is one transaction on the locked alert (:meth:`~alerting.tx.Transactions.run`): two operators
cannot both take one alert, and an illegal move raises :class:`~alerting.model.IllegalTransition`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from psycopg.types.json import Jsonb

from alerting.context import Context, ScopeLike
from alerting.effects import command
from alerting.model import Alert, AlertEventType, AlertState, Conflict, InvalidRequest, Outcome
from alerting.tx import Move, Transaction, Transactions

GetAlert = Callable[[uuid.UUID, ScopeLike | None], Awaitable[Alert]]


class Lifecycle:
    def __init__(self, ctx: Context, transactions: Transactions, get: GetAlert) -> None:
        self.ctx = ctx
        self.transactions = transactions
        self.get = get

    async def acknowledge(
        self, alert_id: uuid.UUID, actor: str, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        """An operator takes the call: stops the ring-again, supervisor and family steps."""

        async def step(tx: Transaction, alert: Alert) -> Alert:
            return await self.acknowledge_in(tx, alert, actor, note)

        return await self.transactions.run(alert_id, scope, step)

    async def acknowledge_in(self, tx: Transaction, alert: Alert, actor: str, note: str) -> Alert:
        was_pending = alert.state is AlertState.PENDING
        alert = await tx.move(
            alert,
            Move(AlertState.ACKNOWLEDGED, actor, note, sets={"acknowledged_at": tx.now, "acknowledged_by": actor}),
        )
        if was_pending:  # taken before it rang: only the "nobody on the way" check is left to run
            emergency_s = self.ctx.policy(alert).emergency_s
            if emergency_s is not None:
                await tx.add_timer(alert.id, "emergency", tx.now + timedelta(seconds=emergency_s), {})
        return alert

    async def cancel(self, alert_id: uuid.UUID, actor: str, note: str = "", scope: ScopeLike | None = None) -> Alert:
        """Cancel a pending alert (e.g. the resident phoned in); the home is told."""

        async def step(tx: Transaction, alert: Alert) -> Alert:
            alert = await tx.move(
                alert, Move(AlertState.CANCELLED, actor, note, sets={"closed_at": tx.now, "closed_by": actor})
            )
            tx.fx.send(self.ctx.home_devices(alert), command(alert, "cancelled", tx.now, reason="operator"))
            return alert

        return await self.transactions.run(alert_id, scope, step)

    async def resolve(
        self, alert_id: uuid.UUID, actor: str, outcome: str, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        try:
            result = Outcome(outcome)
        except ValueError:
            raise InvalidRequest(f"outcome must be one of {', '.join(o.value for o in Outcome)}") from None

        async def step(tx: Transaction, alert: Alert) -> Alert:
            return await tx.move(
                alert,
                Move(
                    AlertState.RESOLVED,
                    actor,
                    note,
                    sets={"closed_at": tx.now, "closed_by": actor, "outcome": result.value},
                    detail={"outcome": result.value, "note": note},
                ),
            )

        return await self.transactions.run(alert_id, scope, step)

    async def close_duplicate(
        self, alert_id: uuid.UUID, of: uuid.UUID, actor: str, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        if of == alert_id:
            raise InvalidRequest("an alert cannot be a duplicate of itself")
        original = await self.get(of, scope)

        async def step(tx: Transaction, alert: Alert) -> Alert:
            if alert.resident_id != original.resident_id:
                raise InvalidRequest("a duplicate must be of an alert for the same resident")
            sets = {"closed_at": tx.now, "closed_by": actor, "duplicate_of": of}
            if alert.acknowledged_at is None:  # an operator handled the ringing call by closing it
                sets |= {"acknowledged_at": tx.now, "acknowledged_by": actor}
            return await tx.move(alert, Move(AlertState.DUPLICATE, actor, note, sets=sets))

        return await self.transactions.run(alert_id, scope, step)

    async def record_contact(
        self, alert_id: uuid.UUID, actor: str, reached: bool, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        """The operator tried to call the resident: reached or not. Unreachable with nobody on the way
        flags the alert for an emergency (120) call at once."""

        async def step(tx: Transaction, alert: Alert) -> Alert:
            if not alert.is_open:
                raise Conflict(f"the alert is {alert.state.value}")
            details = {**alert.details, "resident_reached": reached}
            alert = await tx.update(alert, {"details": Jsonb(details)})
            action = "resident reached" if reached else "resident unreachable"
            await tx.audit(alert.id, actor, action, note)
            tx.publish(AlertEventType.UPDATED, alert, actor, {"resident_reached": reached})
            if not reached:
                alert = await self.check_emergency(tx, alert, actor)
            return alert

        return await self.transactions.run(alert_id, scope, step)

    async def add_note(self, alert_id: uuid.UUID, actor: str, note: str, scope: ScopeLike | None = None) -> Alert:
        """A free call note in the alert's trail (what was said, what was agreed); any open or closed alert."""
        text = note.strip()
        if not text:
            raise InvalidRequest("a note needs some text")

        async def step(tx: Transaction, alert: Alert) -> Alert:
            await tx.audit(alert.id, actor, "note", text)
            tx.publish(AlertEventType.UPDATED, alert, actor, {"note": text})
            return alert

        return await self.transactions.run(alert_id, scope, step)

    async def check_emergency(self, tx: Transaction, alert: Alert, actor: str = "system") -> Alert:
        """Flag the alert for a 120 call unless the resident was reached or somebody is on the way."""
        if alert.needs_emergency_call or alert.details.get("resident_reached") is True:
            return alert
        if not await self._nobody_on_the_way(tx, alert):
            return alert
        alert = await tx.update(alert, {"needs_emergency_call": True})
        note = "resident unreachable and nobody on the way: call emergency services (120)"
        await tx.audit(alert.id, actor, "prompt emergency call", note)
        tx.publish(AlertEventType.ESCALATED, alert, actor, {"step": "emergency_call", "note": note})
        return alert

    async def _nobody_on_the_way(self, tx: Transaction, alert: Alert) -> bool:
        if alert.state is AlertState.ON_SCENE or alert.details.get("family_going"):
            return False
        cursor = await tx.conn.execute(
            "SELECT 1 FROM dispatches WHERE alert_id = %s AND status IN ('accepted', 'arrived')", (alert.id,)
        )
        return await cursor.fetchone() is None
