"""Dispatch: the responders' records, who is proposed, offers and re-offers, the responder's answer
and arrival, and the signed links responders answer from.

An alert is dispatched only from *acknowledged*; the offer waits ``responder_accept_s`` for the
responder to accept, then passes to the next nearest available responder (or hands the alert back).

A responder whose platform account is deactivated (:func:`deactivated`) is never proposed or offered,
and their links stop working; one without an account is unaffected.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from alerting.context import Context, ScopeLike
from alerting.effects import command
from alerting.family import linked_contact
from alerting.lifecycle import Lifecycle
from alerting.links import LinkClaims
from alerting.model import (
    OPEN_STATES,
    Alert,
    AlertEventType,
    AlertState,
    Conflict,
    IllegalTransition,
    InvalidLink,
    InvalidRequest,
    NoResponderAvailable,
)
from alerting.notify import Notice, validate_urls
from alerting.outbox import Outbox
from alerting.queries import fetch_alert
from alerting.responders import RESPONDER_KINDS, Responder, nearness, parse_rota, rank, rota_to_json, serves
from alerting.tx import ACTIVE_DISPATCH, Move, Transaction, Transactions
from alerting.wording import kind_words, local_stamp
from registry.like import like_prefix


@dataclass(eq=False)
class Dispatch:
    ctx: Context
    transactions: Transactions
    outbox: Outbox
    lifecycle: Lifecycle

    # -- responders' records --

    async def _responders(
        self, conn: AsyncConnection[DictRow], where: str = "TRUE", params: Sequence[Any] = ()
    ) -> list[Responder]:
        cursor = await conn.execute(
            "SELECT username, name, kind, org_node, org_path, phone, available, rota, notify_urls FROM responders"
            f" WHERE {where} ORDER BY username",
            params,
        )
        return [
            Responder(**{**row, "rota": parse_rota(row["rota"]), "notify_urls": tuple(row["notify_urls"])})
            for row in await cursor.fetchall()
        ]

    async def upsert_responder(self, data: dict[str, Any], org_path: str) -> Responder:
        kind = data.get("kind")
        if kind not in RESPONDER_KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(RESPONDER_KINDS)}")
        username, name = str(data.get("username", "")).strip(), str(data.get("name", "")).strip()
        if not username or not name:
            raise InvalidRequest("a responder needs a username and a name")
        urls = tuple(data.get("notify_urls") or ())
        if urls:
            validate_urls(urls, self.ctx.config.notify_allowed_hosts)
        responder = Responder(
            username=username,
            name=name,
            kind=kind,
            org_node=str(data["org_node"]),
            org_path=org_path,
            phone=str(data.get("phone", "")),
            available=bool(data.get("available", True)),
            rota=parse_rota(data.get("rota", [])),
            notify_urls=urls,
        )
        async with self.ctx.connection() as conn:
            await conn.execute(
                "INSERT INTO responders (username, name, phone, kind, org_node, org_path, available, rota, notify_urls)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (username) DO UPDATE SET"
                " name = EXCLUDED.name, phone = EXCLUDED.phone, kind = EXCLUDED.kind, org_node = EXCLUDED.org_node,"
                " org_path = EXCLUDED.org_path, available = EXCLUDED.available, rota = EXCLUDED.rota,"
                " notify_urls = EXCLUDED.notify_urls",
                (
                    responder.username,
                    responder.name,
                    responder.phone,
                    responder.kind,
                    responder.org_node,
                    responder.org_path,
                    responder.available,
                    Jsonb(rota_to_json(responder.rota)),
                    list(responder.notify_urls),
                ),
            )
        return responder

    async def set_availability(self, username: str, available: bool) -> Responder:
        async with self.ctx.connection() as conn:
            await conn.execute("UPDATE responders SET available = %s WHERE username = %s", (available, username))
            found = await self._responders(conn, "username = %s", (username,))
        if not found:
            raise InvalidRequest(f"no responder {username!r}")
        return found[0]

    async def responders(self, scope: ScopeLike | None = None) -> list[Responder]:
        path = "/" if scope is None or scope.resident_id is not None else scope.org_path
        async with self.ctx.connection() as conn:
            return await self._responders(conn, "org_path LIKE %s", (like_prefix(path),))

    async def responder(self, username: str) -> Responder | None:
        async with self.ctx.connection() as conn:
            found = await self._responders(conn, "username = %s", (username,))
        return found[0] if found else None

    # -- proposing and offering --

    async def _candidates(
        self, conn: AsyncConnection[DictRow], alert: Alert, now: datetime, scope: ScopeLike | None = None
    ) -> list[tuple[Responder, int]]:
        """Available, on duty, not busy with another open alert, not passed over for this one, serving
        the alert's area (:func:`serves`), inside the caller's scope and with no deactivated account;
        nearest first."""
        responders = await self._responders(
            conn,
            "available AND username NOT IN (SELECT d.responder FROM dispatches d JOIN alerts a ON a.id = d.alert_id"
            " WHERE d.status = ANY(%s) AND a.state = ANY(%s))"
            " AND username NOT IN (SELECT responder FROM dispatches WHERE alert_id = %s)",
            (list(ACTIVE_DISPATCH), [s.value for s in OPEN_STATES], alert.id),
        )
        gone = await deactivated(conn, [r.username for r in responders])
        on_duty = [
            r
            for r in responders
            if r.on_duty(now, self.ctx.config.utc_offset_min)
            and serves(r, alert.org_path)
            and _in_scope(scope, r)
            and r.username not in gone
        ]
        return rank(alert.org_path, on_duty)

    async def propose(
        self, alert_id: uuid.UUID, scope: ScopeLike | None = None, limit: int = 5
    ) -> list[dict[str, Any]]:
        """The nearest available responders for an alert, best first."""
        async with self.ctx.connection() as conn:
            alert = await fetch_alert(conn, alert_id, scope)
            ranked = await self._candidates(conn, alert, self.ctx.clock(), scope)
        return [
            {"responder": r.to_json(), "nearness": nearness(alert.org_path, r.org_path), "shared_depth": depth}
            for r, depth in ranked[:limit]
        ]

    async def dispatch(
        self,
        alert_id: uuid.UUID,
        actor: str,
        responder: str | None = None,
        note: str = "",
        scope: ScopeLike | None = None,
    ) -> Alert:
        """Send a responder (the nearest available one unless named). Only from *acknowledged*: a
        second operator dispatching the same alert gets :class:`IllegalTransition`."""

        async def step(tx: Transaction, alert: Alert) -> Alert:
            if alert.state is not AlertState.ACKNOWLEDGED:
                raise IllegalTransition(alert.state, AlertState.DISPATCHED)
            candidates = await self._candidates(tx.conn, alert, tx.now, scope)
            if responder is None:
                if not candidates:
                    raise NoResponderAvailable("no responder is available and on duty")
                chosen = candidates[0][0]
            else:
                match = [r for r, _ in candidates if r.username == responder]
                if not match:
                    named = await self._responders(tx.conn, "username = %s", (responder,))
                    if named and not (serves(named[0], alert.org_path) and _in_scope(scope, named[0])):
                        raise NoResponderAvailable(
                            f"responder {responder!r} does not serve this alert's area or is outside yours"
                        )
                    if named and await deactivated(tx.conn, [responder]):
                        raise NoResponderAvailable(f"responder {responder!r} has a deactivated account")
                    raise NoResponderAvailable(f"responder {responder!r} is unknown, busy, off duty or passed over")
                chosen = match[0]
            return await self._offer(tx, alert, chosen, actor, note)

        return await self.transactions.run(alert_id, scope, step)

    async def _offer(self, tx: Transaction, alert: Alert, responder: Responder, actor: str, note: str) -> Alert:
        cursor = await tx.conn.execute(
            "INSERT INTO dispatches (alert_id, responder, status, offered_at, offered_by, note)"
            " VALUES (%s, %s, 'offered', %s, %s, %s) RETURNING id",
            (alert.id, responder.username, tx.now, actor, note),
        )
        row = await cursor.fetchone()
        assert row is not None
        dispatch_id = int(row["id"])
        detail = {"responder": responder.username, "status": "offered", "dispatch_id": dispatch_id}
        if alert.state is AlertState.ACKNOWLEDGED:
            alert = await tx.move(
                alert,
                Move(
                    AlertState.DISPATCHED,
                    actor,
                    note or f"offered to {responder.username}",
                    sets={"responder": responder.username, "dispatched_at": tx.now},
                    detail=detail,
                ),
            )
        else:  # re-offered to the next responder
            alert = await tx.update(alert, {"responder": responder.username})
            await tx.audit(alert.id, actor, "offered to next responder", responder.username)
            tx.publish(AlertEventType.ESCALATED, alert, actor, {"step": "next_responder", **detail})
        policy = self.ctx.policy(alert)
        due = tx.now + timedelta(seconds=policy.responder_accept_s)
        await tx.add_timer(alert.id, "dispatch_timeout", due, {"dispatch_id": dispatch_id})
        if responder.notify_urls:
            link = await self.responder_link(alert.id, responder.username, dispatch_id, tx.now)
            who = await self.ctx.resident_name(alert.resident_id)
            kind_zh, kind_en = kind_words(alert.kind)
            when = local_stamp(alert.raised_at, self.ctx.config.utc_offset_min)
            minutes = max(1, policy.responder_accept_s // 60)
            body = (
                f"12349 派单：{when}，{who} 发出了{kind_zh}。请在 {minutes} 分钟内接受或拒绝：{link}\n"
                f"12349 dispatch: {when}, {kind_en} from {who}. Accept or decline within {minutes} min: {link}"
            )
            title = f"12349 派单 / dispatch: {who}"
            notice = Notice(str(alert.id), "responder", responder.username, responder.notify_urls, title, body)
            await self.outbox.queue(tx, notice)
        return alert

    async def _reoffer(self, tx: Transaction, alert: Alert, why: str) -> Alert:
        """The responder declined or timed out: offer the next nearest, or hand the alert back."""
        candidates = await self._candidates(tx.conn, alert, tx.now)
        if candidates:
            return await self._offer(tx, alert, candidates[0][0], "system", why)
        alert = await tx.move(
            alert,
            Move(
                AlertState.ACKNOWLEDGED,
                "system",
                f"{why}; no other responder available",
                sets={"responder": None},
                action="no responder",
                event=AlertEventType.ESCALATED,
                detail={"step": "no_responder", "note": why},
            ),
        )
        return await self.lifecycle.check_emergency(tx, alert)

    async def on_offer_timeout(self, tx: Transaction, alert: Alert, data: dict[str, Any]) -> None:
        """The ``dispatch_timeout`` timer: the offer expires and passes on."""
        cursor = await tx.conn.execute(
            "UPDATE dispatches SET status = 'expired', responded_at = %s WHERE id = %s AND status = 'offered'"
            " RETURNING responder",
            (tx.now, data["dispatch_id"]),
        )
        row = await cursor.fetchone()
        if row is None or alert.state is not AlertState.DISPATCHED:
            return
        note = f"{row['responder']} did not accept in time"
        await tx.audit(alert.id, "system", "responder timed out", note)
        await self._reoffer(tx, alert, note)

    # -- the responder's answer --

    async def _current_dispatch(
        self, tx: Transaction, alert_id: uuid.UUID, dispatch_id: int | None = None
    ) -> dict[str, Any] | None:
        query = "SELECT id, responder, status FROM dispatches WHERE alert_id = %s AND status = ANY(%s)"
        params: list[Any] = [alert_id, list(ACTIVE_DISPATCH)]
        if dispatch_id is not None:
            query = "SELECT id, responder, status FROM dispatches WHERE alert_id = %s AND id = %s"
            params = [alert_id, dispatch_id]
        cursor = await tx.conn.execute(query + " ORDER BY id DESC LIMIT 1 FOR UPDATE", params)
        row: dict[str, Any] | None = await cursor.fetchone()
        return row

    async def respond(
        self, alert_id: uuid.UUID, responder: str, dispatch_id: int, accept: bool, note: str = ""
    ) -> Alert:
        """The responder's answer to an offer (from their link): accept, or decline for the next one."""

        async def step(tx: Transaction, alert: Alert) -> Alert:
            dispatch = await self._current_dispatch(tx, alert.id, dispatch_id)
            if dispatch is None or dispatch["responder"] != responder:
                raise Conflict("this dispatch is not yours")
            if dispatch["status"] != "offered":
                raise Conflict(f"this dispatch is already {dispatch['status']}")
            status = "accepted" if accept else "declined"
            await tx.conn.execute(
                "UPDATE dispatches SET status = %s, responded_at = %s WHERE id = %s", (status, tx.now, dispatch_id)
            )
            await tx.cancel_timers(alert.id, ("dispatch_timeout",), {"dispatch_id": dispatch_id})
            await tx.audit(alert.id, f"responder:{responder}", f"responder {status}", note)
            if not accept:
                return await self._reoffer(tx, alert, f"{responder} declined")
            await tx.cancel_timers(alert.id, ("emergency",))
            alert = await tx.update(alert, {"needs_emergency_call": False})
            detail = {"responder": responder, "status": "accepted", "dispatch_id": dispatch_id}
            tx.publish(AlertEventType.DISPATCHED, alert, f"responder:{responder}", detail)
            on_the_way = command(alert, "help_on_the_way", tx.now, responder=responder)
            tx.fx.send(self.ctx.home_devices(alert), on_the_way)
            return alert

        return await self.transactions.run(alert_id, None, step)

    async def arrive(
        self,
        alert_id: uuid.UUID,
        actor: str,
        note: str = "",
        scope: ScopeLike | None = None,
        responder: str | None = None,
    ) -> Alert:
        """The responder is with the resident (an offer not yet accepted counts as accepted)."""

        async def step(tx: Transaction, alert: Alert) -> Alert:
            dispatch = await self._current_dispatch(tx, alert.id)
            if dispatch is None:
                raise IllegalTransition(alert.state, AlertState.ON_SCENE)
            if responder is not None and dispatch["responder"] != responder:
                raise Conflict("this dispatch is not yours")
            await tx.conn.execute(
                "UPDATE dispatches SET status = 'arrived', arrived_at = %s, responded_at = COALESCE(responded_at, %s)"
                " WHERE id = %s",
                (tx.now, tx.now, dispatch["id"]),
            )
            await tx.cancel_timers(alert.id, ("dispatch_timeout", "emergency"))
            return await tx.move(
                alert,
                Move(
                    AlertState.ON_SCENE,
                    actor,
                    note,
                    sets={"on_scene_at": tx.now, "needs_emergency_call": False},
                    detail={"responder": dispatch["responder"], "note": note},
                ),
            )

        return await self.transactions.run(alert_id, scope, step)

    # -- links --

    async def responder_link(
        self, alert_id: uuid.UUID, responder: str, dispatch_id: int, now: datetime | None = None
    ) -> str:
        signer = await self.ctx.links()
        expires = (now or self.ctx.clock()) + timedelta(seconds=self.ctx.config.link_ttl_s)
        token = signer.sign(str(alert_id), "responder", responder, expires, d=dispatch_id)
        return f"{self.ctx.config.public_url}/r/{token}"

    async def verify_link(self, token: str, audience: str) -> LinkClaims:
        """A link's claims while it still stands for someone: refused (:class:`InvalidLink`) once its
        responder's account is deactivated or its family contact has left the list."""
        claims = (await self.ctx.links()).verify(token, audience, self.ctx.clock())
        async with self.ctx.connection() as conn:
            if audience == "responder" and await deactivated(conn, [claims.subject]):
                raise InvalidLink("this link's responder account is deactivated")
            if audience == "family":
                await linked_contact(conn, claims)
        return claims


async def deactivated(conn: AsyncConnection[DictRow], usernames: Sequence[str]) -> set[str]:
    """Which of ``usernames`` have a deactivated platform account (the registry's ``users``; none when
    alerting runs without it, and none for a responder with no account)."""
    cursor = await conn.execute("SELECT to_regclass('users') IS NOT NULL AS present")
    row = await cursor.fetchone()
    if not usernames or row is None or not row["present"]:
        return set()
    cursor = await conn.execute(
        "SELECT username FROM users WHERE username = ANY(%s) AND NOT active", (list(dict.fromkeys(usernames)),)
    )
    return {str(row["username"]) for row in await cursor.fetchall()}


def _in_scope(scope: ScopeLike | None, responder: Responder) -> bool:
    """Whether a console caller's scope covers the responder (None: the system itself, everything)."""
    if scope is None:
        return True
    return scope.resident_id is None and responder.org_path.startswith(scope.org_path)
