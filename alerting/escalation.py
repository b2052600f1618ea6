"""Escalation: what each timer does when it fires, and the policies that set the ladder.

A sensor alert's cancel window ends → it starts ringing and the ladder starts (see
:func:`~alerting.policy.ringing_steps`): not acknowledged → ring again with a higher urgency, then the
area supervisor, then the family contacts one by one; nobody on the way → prompt an emergency (120)
call. An offer a responder leaves unanswered passes to the next one (:mod:`alerting.dispatch`).
Every handler runs with its alert locked and does nothing if the alert has moved on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from psycopg.types.json import Jsonb

from alerting.context import Context
from alerting.dispatch import Dispatch
from alerting.effects import command
from alerting.family import Family, fetch_contacts
from alerting.intake import DEVICE_ANSWERED_KINDS
from alerting.lifecycle import Lifecycle
from alerting.model import Alert, AlertEventType, AlertState, InvalidRequest
from alerting.notify import Notice
from alerting.outbox import Outbox
from alerting.policy import EscalationPolicy, ringing_steps, validate_override
from alerting.tx import Move, Transaction, Transactions
from alerting.wording import kind_words

log = logging.getLogger("eldercare.alerting")


@dataclass(eq=False)
class Escalation:
    ctx: Context
    transactions: Transactions
    outbox: Outbox
    lifecycle: Lifecycle
    family: Family
    dispatch: Dispatch

    def __post_init__(self) -> None:
        on_timer = self.transactions.on_timer
        on_timer("cancel_window", self._on_cancel_window)
        on_timer("ring_again", self._on_ring_again)
        on_timer("supervisor", self._on_supervisor)
        on_timer("family", self._on_family)
        on_timer("emergency", self._on_emergency)
        on_timer("dispatch_timeout", self.dispatch.on_offer_timeout)

    # -- the ladder --

    async def _on_cancel_window(self, tx: Transaction, alert: Alert, data: dict[str, Any]) -> None:
        if alert.state is not AlertState.PENDING:
            return
        alert = await tx.move(
            alert,
            Move(
                AlertState.RAISED,
                "system",
                "nobody cancelled inside the cancel window",
                sets={"ringing_at": tx.now},
                action="cancel window ended",
            ),
        )
        await tx.add_timers(alert.id, ringing_steps(self.ctx.policy(alert), tx.now))
        if alert.kind in DEVICE_ANSWERED_KINDS:
            tx.fx.downlinks.append((alert.device_id, command(alert, "call_received", tx.now)))

    async def _on_ring_again(self, tx: Transaction, alert: Alert, data: dict[str, Any]) -> None:
        if alert.state is not AlertState.RAISED:
            return
        alert = await tx.update(alert, {"urgency": alert.urgency + 1})
        waited = int((tx.now - (alert.ringing_at or alert.raised_at)).total_seconds())
        note = f"not acknowledged after {waited} s: ringing again, urgency {alert.urgency}"
        await tx.audit(alert.id, "system", "escalated", note)
        tx.publish(AlertEventType.ESCALATED, alert, "system", {"step": "ring_again", "urgency": alert.urgency})

    async def _on_supervisor(self, tx: Transaction, alert: Alert, data: dict[str, Any]) -> None:
        if alert.state is not AlertState.RAISED:
            return
        policy = self.ctx.policy(alert)
        waited = int((tx.now - (alert.ringing_at or alert.raised_at)).total_seconds())
        note = f"not acknowledged after {waited} s: area supervisor notified"
        await tx.audit(alert.id, "system", "escalated to supervisor", note)
        tx.publish(AlertEventType.ESCALATED, alert, "system", {"step": "supervisor"})
        if policy.supervisor_urls:
            who = await self.ctx.resident_name(alert.resident_id)
            kind_zh, kind_en = kind_words(alert.kind)
            console = f"{self.ctx.config.public_url}/#alert={alert.id}"
            body = (
                f"12349 督导提醒：{who} 的{kind_zh}已 {waited} 秒无人接听（区域 {alert.org_path or '/'}）。"
                f"打开调度台：{console}\n"
                f"12349 supervisor: {kind_en} from {who} has not been answered for {waited} s"
                f" (area {alert.org_path or '/'}). Open the console: {console}"
            )
            title = f"12349 无人接听 / unanswered: {who}"
            notice = Notice(str(alert.id), "supervisor", "area supervisor", policy.supervisor_urls, title, body)
            await self.outbox.queue(tx, notice)

    async def _on_family(self, tx: Transaction, alert: Alert, data: dict[str, Any]) -> None:
        """The next contact who wants this alert now; the one after at the next interval."""
        if alert.state is not AlertState.RAISED:
            return
        contacts = await fetch_contacts(tx.conn, alert.resident_id)
        index = int(data.get("index", 0))
        while index < len(contacts):
            contact = contacts[index]
            index += 1
            if await self.family.notice(tx, alert, contact):
                break
        if index < len(contacts):
            due = tx.now + timedelta(seconds=self.ctx.policy(alert).family_interval_s)
            await tx.add_timer(alert.id, "family", due, {"index": index})

    async def _on_emergency(self, tx: Transaction, alert: Alert, data: dict[str, Any]) -> None:
        if alert.is_open:
            await self.lifecycle.check_emergency(tx, alert)

    # -- policies --

    async def load_policies(self) -> None:
        async with self.ctx.connection() as conn:
            cursor = await conn.execute("SELECT scope, key, config FROM escalation_policies")
            for row in await cursor.fetchall():
                self.ctx.policies.set(row["scope"], row["key"], row["config"])

    async def set_policy(self, scope: str, key: str, config: dict[str, Any] | None, actor: str) -> EscalationPolicy:
        """Override the ladder for an area (org path prefix) or a resident; None removes the override."""
        if scope not in ("area", "resident"):
            raise InvalidRequest("scope is 'area' or 'resident'")
        clean = None if config is None else validate_override(config)
        async with self.ctx.connection() as conn:
            if clean is None:
                await conn.execute("DELETE FROM escalation_policies WHERE scope = %s AND key = %s", (scope, key))
            else:
                await conn.execute(
                    "INSERT INTO escalation_policies (scope, key, config, updated_at, updated_by)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (scope, key) DO UPDATE SET config = EXCLUDED.config,"
                    " updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by",
                    (scope, key, Jsonb(clean), self.ctx.clock(), actor),
                )
        self.ctx.policies.set(scope, key, clean)
        if scope == "area":
            return self.ctx.policies.resolve("", key)
        return self.ctx.policies.resolve(key, None)

    def policy_for(self, resident_id: str, org_path: str | None) -> EscalationPolicy:
        return self.ctx.policies.resolve(resident_id, org_path)
