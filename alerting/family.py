"""Family: a resident's notification contacts, the notices they get, and their answer from the link.

A contact is skipped (and the skip recorded) when they opted out of the alert's kind or it is their
quiet time; urgent alerts (priority 1) go through quiet hours.

A contact's link names them (:func:`contact_key`, a digest of their name and phone), not their place
in the list: after the list is edited, the link answers for that same person wherever they now stand,
and is refused (:class:`ContactRemoved`) once they are off the list.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from alerting.context import Context, ScopeLike
from alerting.lifecycle import Lifecycle
from alerting.links import LinkClaims
from alerting.model import (
    Alert,
    AlertEventType,
    AlertState,
    Conflict,
    InvalidLink,
    InvalidRequest,
    closed_summary,
)
from alerting.notify import Contact, Notice, local_time, validate_urls
from alerting.outbox import Outbox
from alerting.tx import Transaction, Transactions
from alerting.wording import kind_words, local_stamp, moving_words
from stream.detections import NOTICE_KINDS, DetectionKind

PHONE = re.compile(r"[0-9+()\- ]{3,32}")
VerifyLink = Callable[[str, str], Awaitable[LinkClaims]]


async def fetch_contacts(conn: AsyncConnection[DictRow], resident_id: str) -> list[Contact]:
    cursor = await conn.execute(
        "SELECT resident_id, position, name, relation, urls, quiet_start, quiet_end, kinds, phone"
        " FROM notification_contacts WHERE resident_id = %s ORDER BY position",
        (resident_id,),
    )
    return [
        Contact(**{**row, "urls": tuple(row["urls"]), "kinds": tuple(row["kinds"])}) for row in await cursor.fetchall()
    ]


class ContactRemoved(InvalidLink):
    """A family link whose contact is no longer on the resident's contact list (HTTP 403)."""


def contact_key(contact: Contact) -> str:
    """Who a family link is for, carried in the link: a digest of the contact's name and phone."""
    digest = hashlib.sha256(f"{contact.name}\n{contact.phone}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


async def linked_contact(conn: AsyncConnection[DictRow], claims: LinkClaims) -> Contact:
    """The contact a family link was sent to, as the list is now; :class:`ContactRemoved` if they left it.

    A link naming no contact (sent before links did) is its position's contact, only if that contact was
    told of the link's alert: never someone added since."""
    resident_id, _, position = claims.subject.partition(":")
    contacts = await fetch_contacts(conn, resident_id)
    key = claims.extra.get("c")
    if isinstance(key, str):
        found = [c for c in contacts if contact_key(c) == key]
        found.sort(key=lambda c: str(c.position) != position)  # namesakes: the one still in the link's place
    else:
        cursor = await conn.execute(
            "SELECT note FROM alert_audit WHERE alert_id = %s AND action = 'family notified'", (claims.alert_id,)
        )
        told = {row["note"] for row in await cursor.fetchall()}
        found = [c for c in contacts if str(c.position) == position and c.name in told]
    if not found:
        raise ContactRemoved("this link's contact is no longer on the resident's contact list")
    return found[0]


@dataclass(eq=False)
class Family:
    ctx: Context
    transactions: Transactions
    outbox: Outbox
    lifecycle: Lifecycle
    verify_link: VerifyLink

    async def notice(self, tx: Transaction, alert: Alert, contact: Contact) -> bool:
        """Queue a message to one contact unless they opted out of this kind or it is their quiet time
        (urgent alerts, priority 1, go through quiet hours). Skips are recorded as deliveries."""
        now, offset = tx.now, self.ctx.config.utc_offset_min
        skip = None
        if not contact.wants(alert.kind):
            skip = f"does not want {alert.kind} alerts"
        elif alert.priority > 1 and contact.quiet_at(local_time(now, offset)):
            skip = "quiet hours"
        if skip is not None:
            await tx.conn.execute(
                "INSERT INTO notification_deliveries (alert_id, audience, recipient, channel, at, ok, error)"
                " VALUES (%s, 'family', %s, '', %s, false, %s)",
                (alert.id, contact.name, now, f"skipped: {skip}"),
            )
            return False
        signer = await self.ctx.links()
        expires = now + timedelta(seconds=self.ctx.config.link_ttl_s)
        subject = f"{contact.resident_id}:{contact.position}"
        token = signer.sign(str(alert.id), "family", subject, expires, c=contact_key(contact))
        link = f"{self.ctx.config.public_url}/f/{token}"
        who = await self.ctx.resident_name(alert.resident_id)
        kind_zh, kind_en = kind_words(alert.kind)
        when = local_stamp(alert.raised_at, offset)
        hotline = self.ctx.config.hotline
        body = (
            f"{hotline} 养老服务热线：{when}，{who} 发出了{kind_zh}。\n"
            f"我这就过去：{link}?do=going\n"
            f"我已联系上，一切安好：{link}?do=fine\n"
            f"{hotline} elderly-care hotline: {when}, {kind_en} from {who}.\n"
            f"I am going over: {link}?do=going\n"
            f"I called, all is fine: {link}?do=fine\n"
        )
        title = f"{hotline}：{who} {kind_zh} / {kind_en} from {who}"
        notice = Notice(str(alert.id), "family", contact.name, contact.urls, title, body)
        await self.outbox.queue(tx, notice)
        await tx.audit(alert.id, "system", "family notified", contact.name)
        tx.publish(AlertEventType.ESCALATED, alert, "system", {"step": "family", "contact": contact.name})
        return True

    async def tell_moving_again(self, tx: Transaction, alert: Alert, at: datetime) -> int:
        """The contacts already told of ``alert`` hear that the resident was seen moving again at ``at``
        (that we still check on them); nobody else, and nothing when none was told. Returns how many."""
        cursor = await tx.conn.execute(
            "SELECT note FROM alert_audit WHERE alert_id = %s AND action = 'family notified'", (alert.id,)
        )
        told = {row["note"] for row in await cursor.fetchall()}
        contacts = [c for c in await fetch_contacts(tx.conn, alert.resident_id) if c.name in told] if told else []
        if not contacts:
            return 0
        who = await self.ctx.resident_name(alert.resident_id)
        when = local_stamp(at, self.ctx.config.utc_offset_min)
        hotline = self.ctx.config.hotline
        seen_zh, seen_en = moving_words(alert.kind, who, when)
        back = alert.kind == DetectionKind.NIGHT_EXIT.value
        title = (
            f"{hotline}：{who} 已回到屋内 / {who} back inside"
            if back
            else f"{hotline}：{who} 又有活动 / {who} moving again"
        )
        body = (
            f"{hotline} 养老服务热线：{seen_zh}。我们仍会与老人确认是否安好。\n"
            f"{hotline} elderly-care hotline: {seen_en}. We are still making sure all is well.\n"
        )
        for contact in contacts:
            await self.outbox.queue(tx, Notice(str(alert.id), "family", contact.name, contact.urls, title, body))
        await tx.audit(alert.id, "system", "family told moving again", ", ".join(c.name for c in contacts))
        return len(contacts)

    async def notify_family(self, alert_id: uuid.UUID, actor: str, scope: ScopeLike | None = None) -> Alert:
        """Notify every eligible contact now (the operator's choice, whatever the ladder says)."""

        async def step(tx: Transaction, alert: Alert) -> Alert:
            if not alert.is_open:
                raise Conflict(f"the alert is {alert.state.value}")
            contacts = await fetch_contacts(tx.conn, alert.resident_id)
            if not contacts:
                raise Conflict(f"resident {alert.resident_id} has no notification contacts")
            for contact in contacts:
                await self.notice(tx, alert, contact)
            await tx.cancel_timers(alert.id, ("family",))
            return alert

        return await self.transactions.run(alert_id, scope, step)

    async def family_response(self, token: str, action: str, note: str = "") -> Alert:
        """A family contact tapped their link: "going" (I am going over) or "fine" (I called, all fine).

        A ringing or pending alert is acknowledged in their name (the ladder stops); otherwise the
        answer is recorded. "going" counts as somebody on the way. A contact no longer on the list
        answers nothing (:class:`ContactRemoved`)."""
        if action not in ("going", "fine"):
            raise InvalidRequest("action is 'going' or 'fine'")
        claims = await self.verify_link(token, "family")
        text = {"going": "I am going over", "fine": "I called, all is fine"}[action]
        note = f"{text}. {note}".strip()

        async def step(tx: Transaction, alert: Alert) -> Alert:
            name = (await linked_contact(tx.conn, claims)).name  # in the transaction: the list as it is now
            actor = f"family:{name}"
            if not alert.is_open:
                raise Conflict(f"this alert is already closed ({closed_summary(alert)}); no answer is needed")
            if action == "going" and alert.is_open:
                alert = await tx.update(alert, {"details": Jsonb({**alert.details, "family_going": name})})
            if action == "fine" and alert.is_open:
                alert = await tx.update(alert, {"details": Jsonb({**alert.details, "resident_reached": True})})
            if alert.state in (AlertState.RAISED, AlertState.PENDING):
                return await self.lifecycle.acknowledge_in(tx, alert, actor, note)
            await tx.audit(alert.id, actor, f"family: {action}", note)
            tx.publish(AlertEventType.UPDATED, alert, actor, {"family": action, "note": note})
            return alert

        return await self.transactions.run(uuid.UUID(claims.alert_id), None, step)

    async def contacts(self, resident_id: str) -> list[Contact]:
        async with self.ctx.connection() as conn:
            return await fetch_contacts(conn, resident_id)

    async def set_contacts(self, resident_id: str, contacts: Sequence[dict[str, Any]]) -> list[Contact]:
        """Replace a resident's contacts; order is the list's order. Validates every Apprise URL."""
        parsed = []
        for position, item in enumerate(contacts, start=1):
            name = str(item.get("name", "")).strip()
            if not name:
                raise InvalidRequest("every contact needs a name")
            quiet = [item.get("quiet_start"), item.get("quiet_end")]
            if (quiet[0] is None) != (quiet[1] is None):
                raise InvalidRequest("quiet hours need both quiet_start and quiet_end")
            try:
                start, end = (time.fromisoformat(q) if q else None for q in quiet)
            except (TypeError, ValueError):
                raise InvalidRequest("quiet hours are times like 22:00") from None
            kinds = tuple(item.get("kinds") or ())
            unknown = set(kinds) - {k.value for k in DetectionKind if k not in NOTICE_KINDS}  # (not alerts)
            if unknown:
                raise InvalidRequest(f"unknown alert kinds: {', '.join(sorted(unknown))}")
            urls = validate_urls(list(item.get("urls") or ()), self.ctx.config.notify_allowed_hosts)
            phone = str(item.get("phone") or "").strip()
            if phone and not PHONE.fullmatch(phone):
                raise InvalidRequest(f"{name}: a phone number has digits, spaces, +, - and parentheses only")
            relation = str(item.get("relation", ""))
            parsed.append(Contact(resident_id, position, name, urls, relation, start, end, kinds, phone))
        async with self.ctx.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM notification_contacts WHERE resident_id = %s", (resident_id,))
            for c in parsed:
                await conn.execute(
                    "INSERT INTO notification_contacts (resident_id, position, name, relation, urls, quiet_start,"
                    " quiet_end, kinds, phone) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        c.resident_id,
                        c.position,
                        c.name,
                        c.relation,
                        list(c.urls),
                        c.quiet_start,
                        c.quiet_end,
                        list(c.kinds),
                        c.phone,
                    ),
                )
        return parsed
