"""Alerting's service interface: raise, acknowledge, dispatch, resolve, escalate. It owns the tables.

Every alert is committed to PostgreSQL before anyone (the device, the console, a family) is told
about it: each operation decides inside one transaction (the alert row locked ``FOR UPDATE``, so two
operators cannot both dispatch one alert) and collects its side effects (events, downlinks,
notifications, timers), which run only after the commit (:mod:`alerting.tx`, :mod:`alerting.effects`).

:class:`AlertService` is a facade: the API, the platform and the tests use it; the work is done by
one object per concept, sharing one :class:`~alerting.context.Context`:

- :mod:`alerting.intake`: detections become alerts; a button press cancels a pending alert.
- :mod:`alerting.lifecycle`: acknowledge, cancel, resolve, duplicate, contact; the 120 check.
- :mod:`alerting.escalation`: what the timers do (the ladder) and the policies that set it.
- :mod:`alerting.dispatch`: responders, proposals, offers, answers, arrival, responder links.
- :mod:`alerting.family`: contacts, family notices and the family's answer.
- :mod:`alerting.outbox`: notifications queued in the transaction, sent after it, swept if lost.
- :mod:`alerting.queries`: read-only questions, scoped.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from alerting.bus import AlertBus
from alerting.context import AlertingConfig as AlertingConfig
from alerting.context import (
    Announcers,
    Clock,
    Context,
    Downlink,
    NameOf,
    OrgOf,
    ScopeLike,
    Shared,
    scope_clause,
    utc_now,
)
from alerting.dispatch import Dispatch
from alerting.early import Storing
from alerting.escalation import Escalation
from alerting.family import Family
from alerting.intake import Intake
from alerting.lifecycle import Lifecycle
from alerting.links import LinkClaims
from alerting.model import Alert, AlertEvent, AlertState
from alerting.notify import Contact, Notifier, redact
from alerting.outbox import Outbox
from alerting.policy import EscalationPolicy, PolicyBook
from alerting.queries import Queries
from alerting.responders import Responder
from alerting.scheduler import Scheduler
from alerting.tx import Transactions
from stream.detections import Detection

log = logging.getLogger("eldercare.alerting")


class AlertService:
    """The alert lifecycle; what happens is published on :attr:`bus`."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        bus: AlertBus | None = None,
        downlink: Downlink | None = None,
        clock: Clock = utc_now,
        coalesce_window: timedelta = timedelta(minutes=10),
        *,
        org_of: OrgOf | None = None,
        announcers: Announcers | None = None,
        notifier: Notifier | None = None,
        config: AlertingConfig | None = None,
        name_of: NameOf | None = None,
    ) -> None:
        ctx = self.ctx = Context(
            pool,
            bus or AlertBus(),
            downlink,
            clock,
            coalesce_window,
            org_of,
            announcers,
            notifier or Notifier(),
            config or AlertingConfig(),
        )
        ctx.name_of = name_of
        self.outbox = Outbox(ctx)
        self.transactions = Transactions(ctx, self.outbox.deliver)
        self.queries = Queries(ctx)
        self.intake = Intake(ctx, self.transactions)
        self.lifecycle = Lifecycle(ctx, self.transactions, self.queries.get)
        self.dispatcher = Dispatch(ctx, self.transactions, self.outbox, self.lifecycle)
        self.family = Family(ctx, self.transactions, self.outbox, self.lifecycle, self.dispatcher.verify_link)
        self.intake.tell_family = self.family.tell_moving_again
        self.escalation = Escalation(ctx, self.transactions, self.outbox, self.lifecycle, self.family, self.dispatcher)

    # -- the shared context (``clock``, ``notifier`` and ``downlink`` may be swapped, e.g. in tests) --

    pool = Shared[AsyncConnectionPool]()
    bus = Shared[AlertBus]()
    config = Shared[AlertingConfig]()
    policies = Shared[PolicyBook]()
    scheduler = Shared[Scheduler]()
    clock = Shared[Clock](settable=True)
    notifier = Shared[Notifier](settable=True)
    downlink = Shared[Downlink | None](settable=True)

    @property
    def _background(self) -> set[asyncio.Task[None]]:
        """Downlinks and notifications still being sent."""
        return self.ctx.background

    # -- start, timers --

    async def restore(self, *, periodic: bool = False) -> int:
        """Load the link key, the escalation policies and every pending timer (after a restart).

        ``periodic``: a process picking up other processes' timers every few seconds logs at debug.
        """
        await self.ctx.links()
        await self.escalation.load_policies()
        await self.intake.restore()
        timers = await self.transactions.restore_timers()
        log.log(logging.DEBUG if periodic else logging.INFO, "alert timers restored", extra={"timers": timers})
        await self.sweep_outbox()
        return timers

    async def run_timers(self, max_wait_s: float = 1.0) -> None:
        """The live timer loop (the platform runs it as a task), with the outbox sweep beside it."""
        await asyncio.gather(self.ctx.scheduler.run_forever(max_wait_s), self.outbox.sweep_forever())

    async def tick(self) -> int:
        """Fire every timer due by ``clock()`` and wait for what they send; returns how many fired."""
        fired = await self.ctx.scheduler.run_due()
        await self.drain()
        return fired

    async def drain(self) -> None:
        """Wait for background downlinks and notifications (tests, benchmarks, shutdown)."""
        await self.ctx.drain()

    async def sweep_outbox(self) -> int:
        """Send every notification left unsent past its lease; returns how many were taken over."""
        return await self.outbox.sweep()

    # -- intake --

    async def raise_detections(self, detections: Sequence[Detection]) -> list[AlertEvent]:
        """Store each detection as a new alert or a repeat of an open one, then announce them (idempotent)."""
        return await self.intake.raise_detections(detections)

    @property
    def storing(self) -> Storing:
        """Provisional alerts being stored (an action on one waits for its store)."""
        return self.ctx.storing

    def rings_at_once(self, detection: Detection, org_path: str | None) -> bool:
        """Whether the detection is certain to become a new ringing alert (:mod:`alerting.early`)."""
        return self.intake.rings_at_once(detection, org_path)

    async def settle_provisional(self, provisional: Sequence[Alert]) -> None:
        """Provisional alerts the store decided otherwise about: shown as stored, or withdrawn."""
        await self.intake.settle_provisional(provisional)

    # -- lifecycle --

    async def acknowledge(
        self, alert_id: uuid.UUID, actor: str, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        """An operator takes the call: stops the ring-again, supervisor and family steps."""
        return await self.lifecycle.acknowledge(alert_id, actor, note, scope)

    async def cancel(self, alert_id: uuid.UUID, actor: str, note: str = "", scope: ScopeLike | None = None) -> Alert:
        """Cancel a pending alert (e.g. the resident phoned in); the home is told."""
        return await self.lifecycle.cancel(alert_id, actor, note, scope)

    async def resolve(
        self, alert_id: uuid.UUID, actor: str, outcome: str, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        return await self.lifecycle.resolve(alert_id, actor, outcome, note, scope)

    async def close_duplicate(
        self, alert_id: uuid.UUID, of: uuid.UUID, actor: str, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        return await self.lifecycle.close_duplicate(alert_id, of, actor, note, scope)

    async def record_contact(
        self, alert_id: uuid.UUID, actor: str, reached: bool, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        """The operator tried to call the resident: reached or not (unreachable may prompt a 120 call)."""
        return await self.lifecycle.record_contact(alert_id, actor, reached, note, scope)

    async def add_note(self, alert_id: uuid.UUID, actor: str, note: str, scope: ScopeLike | None = None) -> Alert:
        """A free call note in the trail (audited, announced)."""
        return await self.lifecycle.add_note(alert_id, actor, note, scope)

    # -- dispatch --

    async def propose(
        self, alert_id: uuid.UUID, scope: ScopeLike | None = None, limit: int = 5
    ) -> list[dict[str, Any]]:
        """The nearest available responders for an alert, best first."""
        return await self.dispatcher.propose(alert_id, scope, limit)

    async def dispatch(
        self,
        alert_id: uuid.UUID,
        actor: str,
        responder: str | None = None,
        note: str = "",
        scope: ScopeLike | None = None,
    ) -> Alert:
        """Send a responder (the nearest available one unless named); only from *acknowledged*."""
        return await self.dispatcher.dispatch(alert_id, actor, responder, note, scope)

    async def respond(
        self, alert_id: uuid.UUID, responder: str, dispatch_id: int, accept: bool, note: str = ""
    ) -> Alert:
        """The responder's answer to an offer (from their link): accept, or decline for the next one."""
        return await self.dispatcher.respond(alert_id, responder, dispatch_id, accept, note)

    async def arrive(
        self,
        alert_id: uuid.UUID,
        actor: str,
        note: str = "",
        scope: ScopeLike | None = None,
        responder: str | None = None,
    ) -> Alert:
        """The responder is with the resident (an offer not yet accepted counts as accepted)."""
        return await self.dispatcher.arrive(alert_id, actor, note, scope, responder)

    async def responder_link(
        self, alert_id: uuid.UUID, responder: str, dispatch_id: int, now: datetime | None = None
    ) -> str:
        return await self.dispatcher.responder_link(alert_id, responder, dispatch_id, now)

    async def verify_link(self, token: str, audience: str) -> LinkClaims:
        return await self.dispatcher.verify_link(token, audience)

    async def upsert_responder(self, data: dict[str, Any], org_path: str) -> Responder:
        return await self.dispatcher.upsert_responder(data, org_path)

    async def set_availability(self, username: str, available: bool) -> Responder:
        return await self.dispatcher.set_availability(username, available)

    async def responders(self, scope: ScopeLike | None = None) -> list[Responder]:
        return await self.dispatcher.responders(scope)

    async def responder(self, username: str) -> Responder | None:
        return await self.dispatcher.responder(username)

    # -- family --

    async def notify_family(self, alert_id: uuid.UUID, actor: str, scope: ScopeLike | None = None) -> Alert:
        """Notify every eligible contact now (the operator's choice, whatever the ladder says)."""
        return await self.family.notify_family(alert_id, actor, scope)

    async def family_response(self, token: str, action: str, note: str = "") -> Alert:
        """A family contact tapped their link: "going" (I am going over) or "fine" (I called, all fine)."""
        return await self.family.family_response(token, action, note)

    async def contacts(self, resident_id: str) -> list[Contact]:
        return await self.family.contacts(resident_id)

    async def set_contacts(self, resident_id: str, contacts: Sequence[dict[str, Any]]) -> list[Contact]:
        """Replace a resident's contacts; order is the list's order. Validates every Apprise URL."""
        return await self.family.set_contacts(resident_id, contacts)

    # -- policies --

    async def set_policy(self, scope: str, key: str, config: dict[str, Any] | None, actor: str) -> EscalationPolicy:
        """Override the ladder for an area (org path prefix) or a resident; None removes the override."""
        return await self.escalation.set_policy(scope, key, config, actor)

    def policy_for(self, resident_id: str, org_path: str | None) -> EscalationPolicy:
        return self.escalation.policy_for(resident_id, org_path)

    # -- queries --

    async def get(self, alert_id: uuid.UUID, scope: ScopeLike | None = None) -> Alert:
        return await self.queries.get(alert_id, scope)

    async def open_alerts(
        self, limit: int = 500, scope: ScopeLike | None = None, states: Sequence[AlertState] | None = None
    ) -> list[Alert]:
        """The queue: ringing first, then in hand, then pending; by priority, urgency, age."""
        return await self.queries.open_alerts(limit, scope, states)

    async def recent_alerts(
        self, scope: ScopeLike | None = None, since: datetime | None = None, limit: int = 200
    ) -> list[Alert]:
        """Alerts in any state raised since ``since``, newest first."""
        return await self.queries.recent_alerts(scope, since, limit)

    async def counts_by_resident(self, resident_ids: Sequence[str], start: datetime, end: datetime) -> dict[str, int]:
        """Alerts raised in [start, end) per resident."""
        return await self.queries.counts_by_resident(resident_ids, start, end)

    async def resident_history(self, resident_id: str, scope: ScopeLike | None = None, limit: int = 50) -> list[Alert]:
        """One resident's alerts in any state, newest first (for the resident record)."""
        return await self.queries.resident_history(resident_id, scope, limit)

    async def audit_trail(self, alert_id: uuid.UUID, scope: ScopeLike | None = None) -> list[dict[str, Any]]:
        return await self.queries.audit_trail(alert_id, scope)

    async def dispatches(self, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self.queries.dispatches(alert_id)

    async def deliveries(self, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self.queries.deliveries(alert_id)

    async def pending_timers(self, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self.queries.pending_timers(alert_id)


__all__ = ["AlertService", "AlertingConfig", "ScopeLike", "redact", "scope_clause"]
