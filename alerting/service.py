"""Alerting's service interface: raise, acknowledge, dispatch, resolve, escalate. It owns the tables.

Every alert is committed to PostgreSQL before anyone (the device, the console, a family) is told
about it: each operation decides inside one transaction (the alert row locked ``FOR UPDATE``, so two
operators cannot both dispatch one alert) and collects its side effects (events, downlinks,
notifications, timers), which run only after the commit.

Timers (cancel windows, the escalation ladder, responder acceptance) are rows in ``alert_timers``
with wall-clock deadlines, mirrored into an in-memory :class:`~alerting.scheduler.Scheduler`. A timer
fires by claiming its row (``fired_at IS NULL``), so after a restart a deadline that passed while the
process was down fires once, and a second process never fires it again.

**The resident's button and the cancel window.** Sensor-derived alerts (falls, inactivity) start
*pending*: the home announces them (``announce_pending``) and the console shows them greyed with a
countdown. The gateway turns any button press into an SOS detection; when that resident has a pending
alert, the press *is* the answer "I'm fine": the pending alerts are cancelled (recorded in the audit
trail with the pressing device) and **no SOS is raised** for that press. A resident who needs help
presses again: with nothing pending, that press raises an SOS as usual. SOS presses never wait.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any, Protocol

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from alerting.bus import AlertBus
from alerting.links import LinkClaims, LinkSigner
from alerting.model import (
    CANCELLABLE_KINDS,
    CLOSED_STATES,
    OPEN_STATES,
    PRIORITY,
    STATE_EVENTS,
    TRANSITIONS,
    Alert,
    AlertEvent,
    AlertEventType,
    AlertNotFound,
    AlertState,
    Conflict,
    IllegalTransition,
    InvalidRequest,
    NoResponderAvailable,
    Outcome,
    alert_id_for,
)
from alerting.notify import Contact, Delivery, Notice, Notifier, local_time, redact, refused_target, validate_urls
from alerting.policy import EscalationPolicy, PolicyBook, validate_override
from alerting.responders import RESPONDER_KINDS, Responder, nearness, parse_rota, rank, rota_to_json, serves
from alerting.scheduler import Scheduler
from stream.detections import Detection, DetectionKind

log = logging.getLogger("eldercare.alerting")

Downlink = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Sends a command to a device: ``await downlink(device_id, {"type": "call_received", …})``."""

Clock = Callable[[], datetime]
OrgOf = Callable[[str], "str | Awaitable[str | None] | None"]
"""The resident's org path (``/city/district/street/community/``), sync or async; None if unknown."""
Announcers = Callable[[str], Sequence[str]]
"""The resident's devices that can speak or light up (button, hub), for home announcements."""

_COLUMNS = (
    "id, resident_id, device_id, kind, priority, state, occurred_at, raised_at, last_trigger_at,"
    " acknowledged_at, acknowledged_by, repeats, confidence, details, org_path, ringing_at, pending_until,"
    " dispatched_at, on_scene_at, closed_at, closed_by, outcome, duplicate_of, urgency, needs_emergency_call,"
    " responder"
)
DEVICE_ANSWERED_KINDS = frozenset({DetectionKind.SOS, DetectionKind.FALL})
LADDER_TIMERS = ("ring_again", "supervisor", "family")
"""Stopped by acknowledgement."""
ACTIVE_DISPATCH = ("offered", "accepted", "arrived")


class ScopeLike(Protocol):
    """What alerting needs of the caller's scope (``api.scope.Scope`` fits)."""

    @property
    def org_path(self) -> str: ...

    @property
    def resident_id(self) -> str | None: ...


@dataclass(slots=True)
class AlertingConfig:
    public_url: str = "http://127.0.0.1:8000"
    """Base of the links in notifications (responder and family pages)."""
    link_ttl_s: int = 24 * 3600
    utc_offset_min: int = 480
    """Homes' and rotas' local time (quiet hours, shifts, report days)."""
    policy: EscalationPolicy = field(default_factory=EscalationPolicy)
    timer_retries: int = 3
    timer_retry_s: float = 5.0
    outbox_lease_s: float = 120.0
    """A notification still unsent this long after its sender claimed it is sent by the next sweep
    (the sender died or hung between the commit and the send)."""
    outbox_sweep_s: float = 30.0
    """How often the live timer loop sweeps the outbox."""
    notify_allowed_hosts: tuple[str, ...] = ()
    """Hosts, addresses or networks on internal addresses that notifications may reach (a local relay)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _alert(row: dict[str, Any]) -> Alert:
    return Alert(**{**row, "state": AlertState(row["state"])})


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def closed_summary(alert: Alert) -> str:
    """How a closed alert ended, in words without personal data ("resolved: resident fine")."""
    outcome = (alert.outcome or "").replace("_", " ")
    return f"{alert.state.value}: {outcome}" if outcome else alert.state.value


def _in_scope(scope: ScopeLike | None, responder: Responder) -> bool:
    """Whether a console caller's scope covers the responder (None: the system itself, everything)."""
    if scope is None:
        return True
    return scope.resident_id is None and responder.org_path.startswith(scope.org_path)


def scope_clause(scope: ScopeLike | None) -> tuple[str, tuple[Any, ...]]:
    """SQL restricting alerts (by ``resident_id`` / ``org_path``) to a scope; None: everything."""
    if scope is None:
        return "TRUE", ()
    if scope.resident_id is not None:
        return "resident_id = %s", (scope.resident_id,)
    if scope.org_path in ("", "/"):
        return "TRUE", ()
    return "COALESCE(org_path, '/') LIKE %s", (_like_prefix(scope.org_path),)


@dataclass(slots=True)
class _Effects:
    """Side effects decided in a transaction, run after it commits."""

    events: list[AlertEvent] = field(default_factory=list)
    downlinks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    timers: list[tuple[int, datetime]] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


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
    ) -> None:
        self.pool = pool
        self.bus = bus or AlertBus()
        self.downlink = downlink
        self.clock = clock
        self.coalesce_window = coalesce_window
        self.org_of = org_of
        self.announcers = announcers
        self.notifier = notifier or Notifier()
        self.config = config or AlertingConfig()
        self.policies = PolicyBook(self.config.policy)
        self.scheduler = Scheduler(lambda: self.clock())
        self._signer: LinkSigner | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._retries: dict[int, int] = {}
        self._maybe_pending: set[str] = set()
        """Residents who may have a pending alert, so a plain SOS press costs no extra query. Exact for
        the process that owns the resident's partition (rebuilt in :meth:`restore`); cleared lazily."""

    # ------------------------------------------------------------------------------------- start, timers

    async def restore(self) -> int:
        """Load the link key, the escalation policies and every pending timer (after a restart)."""
        await self._links()
        async with self.pool.connection() as conn:
            cursor = await conn.execute("SELECT scope, key, config FROM escalation_policies")
            for row in await cursor.fetchall():
                self.policies.set(row["scope"], row["key"], row["config"])  # type: ignore[call-overload]
            cursor = await conn.execute("SELECT DISTINCT resident_id FROM alerts WHERE state = 'pending'")
            self._maybe_pending = {row["resident_id"] for row in await cursor.fetchall()}  # type: ignore[call-overload]
            cursor = await conn.execute(
                "SELECT id, due_at FROM alert_timers WHERE fired_at IS NULL AND cancelled_at IS NULL"
            )
            rows = await cursor.fetchall()
        for row in rows:
            self._schedule(row["id"], row["due_at"])  # type: ignore[call-overload]
        log.info("alert timers restored", extra={"timers": len(rows)})
        await self.sweep_outbox()
        return len(rows)

    async def run_timers(self, max_wait_s: float = 1.0) -> None:
        """The live timer loop (the platform runs it as a task), with the outbox sweep beside it."""
        await asyncio.gather(self.scheduler.run_forever(max_wait_s), self._sweep_forever())

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.outbox_sweep_s)
            try:
                await self.sweep_outbox()
            except Exception:  # the database may be away; the next sweep tries again
                log.exception("outbox sweep failed")

    async def tick(self) -> int:
        """Fire every timer due by ``clock()`` and wait for what they send; returns how many fired."""
        fired = await self.scheduler.run_due()
        await self.drain()
        return fired

    async def drain(self) -> None:
        """Wait for background downlinks and notifications (tests, benchmarks, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def _schedule(self, timer_id: int, due: datetime) -> None:
        self.scheduler.schedule(due, ("timer", timer_id), partial(self._fire, timer_id))

    async def _links(self) -> LinkSigner:
        if self._signer is None:
            self._signer = await LinkSigner.load(self.pool)
        return self._signer

    async def _fire(self, timer_id: int) -> None:
        try:
            await self._fire_once(timer_id)
            self._retries.pop(timer_id, None)
        except Exception:
            attempt = self._retries.get(timer_id, 0) + 1
            log.exception("alert timer failed", extra={"timer": timer_id, "attempt": attempt})
            if attempt < self.config.timer_retries:
                self._retries[timer_id] = attempt
                self._schedule(timer_id, self.clock() + timedelta(seconds=self.config.timer_retry_s))
            else:
                self._retries.pop(timer_id, None)  # left in the table: the next start tries again

    async def _fire_once(self, timer_id: int) -> None:
        fx = _Effects()
        now = self.clock()
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "UPDATE alert_timers SET fired_at = %s WHERE id = %s AND fired_at IS NULL AND cancelled_at IS NULL"
                " RETURNING alert_id, kind, data",
                (now, timer_id),
            )
            claimed = await cursor.fetchone()
            if claimed is None:
                return  # cancelled, or fired by another process or before a restart
            alert = await self._lock(conn, claimed["alert_id"])  # type: ignore[call-overload]
            handler = {
                "cancel_window": self._on_cancel_window,
                "ring_again": self._on_ring_again,
                "supervisor": self._on_supervisor,
                "family": self._on_family,
                "emergency": self._on_emergency,
                "dispatch_timeout": self._on_dispatch_timeout,
            }[claimed["kind"]]  # type: ignore[call-overload]
            await handler(conn, alert, claimed["data"], fx, now)  # type: ignore[call-overload]
        await self._apply(fx)

    # ------------------------------------------------------------------------------------ side effects

    async def _apply(self, fx: _Effects) -> None:
        for timer_id in fx.cancelled:
            self.scheduler.cancel(("timer", timer_id))
        for timer_id, due in fx.timers:
            self._schedule(timer_id, due)
        for event in fx.events:
            self.bus.publish(event)
        if self.downlink is not None:
            for device_id, command in fx.downlinks:
                self._background_task(self._send(device_id, command))
        for notice in fx.notices:
            self._background_task(self._deliver(notice))

    def _background_task(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send(self, device_id: str, command: dict[str, Any]) -> None:
        assert self.downlink is not None
        try:
            await self.downlink(device_id, command)
        except Exception:  # the alert is stored; a failed downlink must not lose it
            log.exception("downlink failed", extra={"device_id": device_id, "alert_id": command.get("alert_id")})

    async def _queue_notice(self, conn: AsyncConnection[Any], notice: Notice, fx: _Effects, now: datetime) -> None:
        """Write ``notice`` to the outbox inside the deciding transaction (claimed by this process)
        and send it after the commit: if the process dies in between, a sweep sends it later."""
        cursor = await conn.execute(
            "INSERT INTO notification_outbox (alert_id, audience, recipient, urls, title, body, created_at, claimed_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                uuid.UUID(notice.alert_id),
                notice.audience,
                notice.recipient,
                list(notice.urls),
                notice.title,
                notice.body,
                now,
                now,
            ),
        )
        row = await cursor.fetchone()
        assert row is not None
        fx.notices.append(replace(notice, outbox_id=row["id"]))  # type: ignore[call-overload]

    async def sweep_outbox(self) -> int:
        """Send every outbox notification left unsent past the lease (its sender died or hung after
        the commit); each is claimed first, so two processes never both take one over. Delivery is
        at least once: a sender that died mid-send may have reached some channels already.
        Returns how many were taken over."""
        now = self.clock()
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE notification_outbox SET claimed_at = %s, attempts = attempts + 1"
                " WHERE sent_at IS NULL AND claimed_at <= %s"
                " RETURNING id, alert_id, audience, recipient, urls, title, body, attempts",
                (now, now - timedelta(seconds=self.config.outbox_lease_s)),
            )
            rows = await cursor.fetchall()
        for row in rows:
            notice = Notice(
                str(row["alert_id"]),  # type: ignore[call-overload]
                row["audience"],  # type: ignore[call-overload]
                row["recipient"],  # type: ignore[call-overload]
                tuple(row["urls"]),  # type: ignore[call-overload]
                row["title"],  # type: ignore[call-overload]
                row["body"],  # type: ignore[call-overload]
                outbox_id=row["id"],  # type: ignore[call-overload]
            )
            log.warning(
                "notification taken over from the outbox",
                extra={"alert_id": notice.alert_id, "audience": notice.audience, "attempt": row["attempts"]},  # type: ignore[call-overload]
            )
            self._background_task(self._deliver(notice))
        return len(rows)

    async def _deliver(self, notice: Notice) -> None:
        try:
            allowed = self.config.notify_allowed_hosts
            refusals = await asyncio.to_thread(lambda: [refused_target(url, allowed) for url in notice.urls])
            sendable = [url for url, refused in zip(notice.urls, refusals, strict=True) if refused is None]
            results = [Delivery(redact(url), False, why) for url, why in zip(notice.urls, refusals, strict=True) if why]
            if sendable:
                results += await self.notifier.send(sendable, notice.title, notice.body)
            async with self.pool.connection() as conn, conn.transaction():
                for result in results:
                    await conn.execute(
                        "INSERT INTO notification_deliveries (alert_id, audience, recipient, channel, at, ok, error)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        (
                            uuid.UUID(notice.alert_id),
                            notice.audience,
                            notice.recipient,
                            result.channel,
                            self.clock(),
                            result.ok,
                            result.error,
                        ),
                    )
                if notice.outbox_id is not None:
                    await conn.execute(
                        "UPDATE notification_outbox SET sent_at = %s WHERE id = %s", (self.clock(), notice.outbox_id)
                    )
        except Exception:  # left unsent in the outbox: the sweep after the lease sends it again
            log.exception("notification failed", extra={"alert_id": notice.alert_id, "audience": notice.audience})

    def _home_devices(self, alert: Alert, *extra: str) -> list[str]:
        devices = [alert.device_id, *extra]
        if self.announcers is not None:
            devices.extend(self.announcers(alert.resident_id))
        return list(dict.fromkeys(devices))

    def _command(self, alert: Alert, command: str, now: datetime, **extra: Any) -> dict[str, Any]:
        return {"type": command, "alert_id": str(alert.id), "ts": _ms(now), **extra}

    # ------------------------------------------------------------------------------------------ raising

    async def raise_detections(self, detections: Sequence[Detection]) -> list[AlertEvent]:
        """Store each detection as a new alert or a repeat of an open one, then announce them.

        Idempotent: a detection whose key was seen before changes nothing and announces nothing.
        """
        if not detections:
            return []
        paths = {d.resident_id: await self._org_path(d.resident_id) for d in detections}
        fx = _Effects()
        async with self.pool.connection() as conn, conn.transaction():
            for detection in detections:
                await self._raise_one(conn, detection, paths[detection.resident_id], fx)
        await self._apply(fx)
        return fx.events

    async def _org_path(self, resident_id: str) -> str | None:
        if self.org_of is None:
            return None
        try:
            path = self.org_of(resident_id)
            if inspect.isawaitable(path):
                path = await path
        except Exception:  # an unknown org path must not stop the alarm: the alert is seen from the root
            log.exception("org path lookup failed", extra={"resident_id": resident_id})
            return None
        return path  # type: ignore[return-value]

    async def _raise_one(
        self, conn: AsyncConnection[Any], detection: Detection, org_path: str | None, fx: _Effects
    ) -> None:
        now = self.clock()
        if (
            detection.kind is DetectionKind.SOS
            and detection.resident_id in self._maybe_pending
            and await self._press_cancels(conn, detection, now, fx)
        ):
            return
        policy = self.policies.resolve(detection.resident_id, org_path)
        pending_until = None
        if detection.kind in CANCELLABLE_KINDS and policy.cancel_window_s > 0:
            pending_until = now + timedelta(seconds=policy.cancel_window_s)
        if pending_until is not None:
            steps: list[tuple[str, datetime, dict[str, Any]]] = [("cancel_window", pending_until, {})]
        else:
            steps = self._ringing_steps(policy, now)
        cursor = await conn.execute(
            "SELECT * FROM raise_alert_v3(%s, %s, %s, %s, %s, %s::smallint, %s, %s, %s, %s::real, %s,"
            " %s::text[], %s, %s, %s::text[], %s::timestamptz[], %s::jsonb[])",
            (
                detection.key,
                alert_id_for(detection.key),
                detection.resident_id,
                detection.device_id,
                detection.kind.value,
                PRIORITY.get(detection.kind, 5),
                _from_ms(detection.ts_ms),
                now,
                self.coalesce_window,
                float(detection.confidence),
                Jsonb(dict(detection.details)),
                [s.value for s in OPEN_STATES],
                org_path,
                pending_until,
                [kind for kind, _, _ in steps],
                [due for _, due, _ in steps],
                [Jsonb(data) for _, _, data in steps],
            ),
        )
        row = await cursor.fetchone()
        if row is None:
            return  # seen before: a redelivery or a replay
        outcome = row.pop("event")  # type: ignore[union-attr]
        timer_ids = row.pop("timer_ids") or []  # type: ignore[union-attr]
        timer_due = row.pop("timer_due") or []  # type: ignore[union-attr]
        alert = _alert(row)  # type: ignore[arg-type]
        fx.timers.extend(zip(timer_ids, timer_due, strict=True))
        if outcome == "repeated":
            fx.events.append(AlertEvent(AlertEventType.REPEATED, alert, at=now))
        elif outcome == "pending":
            assert alert.pending_until is not None
            self._maybe_pending.add(alert.resident_id)
            fx.events.append(AlertEvent(AlertEventType.PENDING, alert, at=now))
            command = self._command(alert, "announce_pending", now, kind=alert.kind, cancel_by=_ms(alert.pending_until))
            fx.downlinks.extend((device, command) for device in self._home_devices(alert))
        else:
            fx.events.append(AlertEvent(AlertEventType.RAISED, alert, at=now))
            if alert.kind in DEVICE_ANSWERED_KINDS:
                fx.downlinks.append((alert.device_id, self._command(alert, "call_received", now)))

    async def _press_cancels(self, conn: AsyncConnection[Any], press: Detection, now: datetime, fx: _Effects) -> bool:
        """A button press while the resident has pending alerts cancels them (and raises nothing)."""
        cursor = await conn.execute(
            f"SELECT {_COLUMNS} FROM alerts WHERE resident_id = %s AND state = 'pending' ORDER BY raised_at FOR UPDATE",
            (press.resident_id,),
        )
        pending = [_alert(row) for row in await cursor.fetchall()]  # type: ignore[arg-type]
        if not pending:
            self._maybe_pending.discard(press.resident_id)
            return False
        cursor = await conn.execute(
            "INSERT INTO alert_triggers (key, alert_id, received_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO NOTHING RETURNING key",
            (press.key, pending[0].id, now),
        )
        if await cursor.fetchone() is None:
            return True  # this press was handled before (a redelivery)
        actor = f"resident:{press.device_id}"
        for alert in pending:
            cancelled = await self._move(
                conn,
                alert,
                AlertState.CANCELLED,
                actor,
                f"the resident pressed {press.device_id} inside the cancel window: I'm fine",
                fx,
                now,
                sets={"closed_at": now, "closed_by": actor, "outcome": Outcome.RESIDENT_FINE.value},
                action="cancelled by resident",
                detail={"by": "resident", "device_id": press.device_id},
            )
            command = self._command(cancelled, "cancelled", now, reason="resident")
            fx.downlinks.extend((device, command) for device in self._home_devices(cancelled, press.device_id))
        return True

    async def _start_ringing(
        self, conn: AsyncConnection[Any], alert: Alert, policy: EscalationPolicy, fx: _Effects, now: datetime
    ) -> None:
        """The escalation ladder, from when the console starts ringing."""
        await self._add_timers(conn, alert.id, self._ringing_steps(policy, now), fx, now)

    @staticmethod
    def _ringing_steps(policy: EscalationPolicy, now: datetime) -> list[tuple[str, datetime, dict[str, Any]]]:
        def at(seconds: int) -> datetime:
            return now + timedelta(seconds=seconds)

        steps: list[tuple[str, datetime, dict[str, Any]]] = [
            ("ring_again", at(seconds), {"step": step}) for step, seconds in enumerate(policy.ring_again_s, start=1)
        ]
        if policy.supervisor_s is not None:
            steps.append(("supervisor", at(policy.supervisor_s), {}))
        if policy.family_s is not None:
            steps.append(("family", at(policy.family_s), {"index": 0}))
        if policy.emergency_s is not None:
            steps.append(("emergency", at(policy.emergency_s), {}))
        return steps

    async def _schedule_emergency(
        self, conn: AsyncConnection[Any], alert: Alert, policy: EscalationPolicy, fx: _Effects, now: datetime
    ) -> None:
        if policy.emergency_s is not None:
            due = now + timedelta(seconds=policy.emergency_s)
            await self._add_timer(conn, alert.id, "emergency", due, {}, fx, now)

    # ------------------------------------------------------------------------------------- transitions

    async def _lock(self, conn: AsyncConnection[Any], alert_id: uuid.UUID, scope: ScopeLike | None = None) -> Alert:
        where, params = scope_clause(scope)
        cursor = await conn.execute(
            f"SELECT {_COLUMNS} FROM alerts WHERE id = %s AND {where} FOR UPDATE", (alert_id, *params)
        )
        row = await cursor.fetchone()
        if row is None:
            raise AlertNotFound(f"no alert {alert_id}")
        return _alert(row)  # type: ignore[arg-type]

    async def _update(self, conn: AsyncConnection[Any], alert: Alert, sets: dict[str, Any]) -> Alert:
        assignments = ", ".join(f"{name} = %s" for name in sets)
        cursor = await conn.execute(
            f"UPDATE alerts SET {assignments} WHERE id = %s RETURNING {_COLUMNS}", (*sets.values(), alert.id)
        )
        return _alert(await cursor.fetchone())  # type: ignore[arg-type]

    async def _move(
        self,
        conn: AsyncConnection[Any],
        alert: Alert,
        wanted: AlertState,
        actor: str,
        note: str,
        fx: _Effects,
        now: datetime,
        *,
        sets: dict[str, Any] | None = None,
        action: str | None = None,
        event: AlertEventType | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Alert:
        """Check the transition table, update, audit, stop the timers the new state ends, announce."""
        if wanted not in TRANSITIONS[alert.state]:
            raise IllegalTransition(alert.state, wanted)
        moved = await self._update(conn, alert, {"state": wanted.value, **(sets or {})})
        await self._audit(conn, alert.id, now, actor, action or wanted.value, alert.state, wanted, note)
        if wanted in CLOSED_STATES:
            await self._cancel_timers(conn, alert.id, None, fx, now)
            await self._end_dispatches(conn, alert.id, now)
        elif wanted is AlertState.ACKNOWLEDGED:
            await self._cancel_timers(conn, alert.id, (*LADDER_TIMERS, "cancel_window"), fx, now)
        fx.events.append(AlertEvent(event or STATE_EVENTS[wanted], moved, actor, now, detail or {"note": note}))
        return moved

    async def _audit(
        self,
        conn: AsyncConnection[Any],
        alert_id: uuid.UUID,
        at: datetime,
        actor: str,
        action: str,
        from_state: AlertState | None,
        to_state: AlertState | None,
        note: str,
    ) -> None:
        await conn.execute(
            "INSERT INTO alert_audit (alert_id, at, actor, action, from_state, to_state, note)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (alert_id, at, actor, action, from_state, to_state, note),
        )

    async def _add_timers(
        self,
        conn: AsyncConnection[Any],
        alert_id: uuid.UUID,
        steps: Sequence[tuple[str, datetime, dict[str, Any]]],
        fx: _Effects,
        now: datetime,
    ) -> None:
        """Several timers in one round trip (the raise path is latency-sensitive)."""
        if not steps:
            return
        cursor = await conn.execute(
            "INSERT INTO alert_timers (alert_id, kind, due_at, data, created_at)"
            " SELECT %s, kind, due_at, data, %s FROM unnest(%s::text[], %s::timestamptz[], %s::jsonb[])"
            " AS t(kind, due_at, data) RETURNING id, due_at",
            (alert_id, now, [k for k, _, _ in steps], [d for _, d, _ in steps], [Jsonb(x) for _, _, x in steps]),
        )
        fx.timers.extend((row["id"], row["due_at"]) for row in await cursor.fetchall())  # type: ignore[call-overload]

    async def _add_timer(
        self,
        conn: AsyncConnection[Any],
        alert_id: uuid.UUID,
        kind: str,
        due: datetime,
        data: dict[str, Any],
        fx: _Effects,
        now: datetime,
    ) -> None:
        cursor = await conn.execute(
            "INSERT INTO alert_timers (alert_id, kind, due_at, data, created_at) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING id",
            (alert_id, kind, due, Jsonb(data), now),
        )
        row = await cursor.fetchone()
        fx.timers.append((row["id"], due))  # type: ignore[index,call-overload]

    async def _cancel_timers(
        self,
        conn: AsyncConnection[Any],
        alert_id: uuid.UUID,
        kinds: Sequence[str] | None,
        fx: _Effects,
        now: datetime,
        data_match: dict[str, Any] | None = None,
    ) -> None:
        query = (
            "UPDATE alert_timers SET cancelled_at = %s WHERE alert_id = %s AND fired_at IS NULL"
            " AND cancelled_at IS NULL"
        )
        params: list[Any] = [now, alert_id]
        if kinds is not None:
            query += " AND kind = ANY(%s)"
            params.append(list(kinds))
        if data_match is not None:
            query += " AND data @> %s"
            params.append(Jsonb(data_match))
        cursor = await conn.execute(query + " RETURNING id", params)
        fx.cancelled.extend(row["id"] for row in await cursor.fetchall())  # type: ignore[call-overload]

    async def _end_dispatches(self, conn: AsyncConnection[Any], alert_id: uuid.UUID, now: datetime) -> None:
        await conn.execute(
            "UPDATE dispatches SET status = CASE WHEN status = 'arrived' THEN 'done' ELSE 'recalled' END,"
            " responded_at = COALESCE(responded_at, %s) WHERE alert_id = %s AND status = ANY(%s)",
            (now, alert_id, list(ACTIVE_DISPATCH)),
        )

    async def _run(
        self,
        alert_id: uuid.UUID,
        scope: ScopeLike | None,
        step: Callable[[AsyncConnection[Any], Alert, _Effects, datetime], Awaitable[Alert]],
    ) -> Alert:
        """Lock the alert (inside the scope), run ``step`` in the transaction, then the side effects."""
        fx = _Effects()
        now = self.clock()
        async with self.pool.connection() as conn, conn.transaction():
            alert = await self._lock(conn, alert_id, scope)
            alert = await step(conn, alert, fx, now)
        await self._apply(fx)
        return alert

    async def acknowledge(
        self, alert_id: uuid.UUID, actor: str, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        """An operator takes the call: stops the ring-again, supervisor and family steps."""

        async def step(conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime) -> Alert:
            return await self._acknowledge(conn, alert, actor, note, fx, now)

        return await self._run(alert_id, scope, step)

    async def _acknowledge(
        self, conn: AsyncConnection[Any], alert: Alert, actor: str, note: str, fx: _Effects, now: datetime
    ) -> Alert:
        was_pending = alert.state is AlertState.PENDING
        alert = await self._move(
            conn,
            alert,
            AlertState.ACKNOWLEDGED,
            actor,
            note,
            fx,
            now,
            sets={"acknowledged_at": now, "acknowledged_by": actor},
        )
        if was_pending:  # taken before it rang: only the "nobody on the way" check is left to run
            policy = self.policies.resolve(alert.resident_id, alert.org_path)
            await self._schedule_emergency(conn, alert, policy, fx, now)
        return alert

    async def cancel(self, alert_id: uuid.UUID, actor: str, note: str = "", scope: ScopeLike | None = None) -> Alert:
        """Cancel a pending alert (e.g. the resident phoned in); the home is told."""

        async def step(conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime) -> Alert:
            alert = await self._move(
                conn, alert, AlertState.CANCELLED, actor, note, fx, now, sets={"closed_at": now, "closed_by": actor}
            )
            command = self._command(alert, "cancelled", now, reason="operator")
            fx.downlinks.extend((device, command) for device in self._home_devices(alert))
            return alert

        return await self._run(alert_id, scope, step)

    async def resolve(
        self, alert_id: uuid.UUID, actor: str, outcome: str, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        try:
            result = Outcome(outcome)
        except ValueError:
            raise InvalidRequest(f"outcome must be one of {', '.join(o.value for o in Outcome)}") from None

        async def step(conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime) -> Alert:
            return await self._move(
                conn,
                alert,
                AlertState.RESOLVED,
                actor,
                note,
                fx,
                now,
                sets={"closed_at": now, "closed_by": actor, "outcome": result.value},
                detail={"outcome": result.value, "note": note},
            )

        return await self._run(alert_id, scope, step)

    async def close_duplicate(
        self, alert_id: uuid.UUID, of: uuid.UUID, actor: str, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        if of == alert_id:
            raise InvalidRequest("an alert cannot be a duplicate of itself")
        original = await self.get(of, scope)

        async def step(conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime) -> Alert:
            if alert.resident_id != original.resident_id:
                raise InvalidRequest("a duplicate must be of an alert for the same resident")
            sets = {"closed_at": now, "closed_by": actor, "duplicate_of": of}
            if alert.acknowledged_at is None:  # an operator handled the ringing call by closing it
                sets |= {"acknowledged_at": now, "acknowledged_by": actor}
            return await self._move(conn, alert, AlertState.DUPLICATE, actor, note, fx, now, sets=sets)

        return await self._run(alert_id, scope, step)

    async def record_contact(
        self, alert_id: uuid.UUID, actor: str, reached: bool, note: str = "", scope: ScopeLike | None = None
    ) -> Alert:
        """The operator tried to call the resident: reached or not. Unreachable with nobody on the way
        flags the alert for an emergency (120) call at once."""

        async def step(conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime) -> Alert:
            if not alert.is_open:
                raise Conflict(f"the alert is {alert.state.value}")
            details = {**alert.details, "resident_reached": reached}
            alert = await self._update(conn, alert, {"details": Jsonb(details)})
            action = "resident reached" if reached else "resident unreachable"
            await self._audit(conn, alert.id, now, actor, action, None, None, note)
            fx.events.append(AlertEvent(AlertEventType.UPDATED, alert, actor, now, {"resident_reached": reached}))
            if not reached:
                alert = await self._check_emergency(conn, alert, fx, now, actor)
            return alert

        return await self._run(alert_id, scope, step)

    async def _nobody_on_the_way(self, conn: AsyncConnection[Any], alert: Alert) -> bool:
        if alert.state is AlertState.ON_SCENE or alert.details.get("family_going"):
            return False
        cursor = await conn.execute(
            "SELECT 1 FROM dispatches WHERE alert_id = %s AND status IN ('accepted', 'arrived')", (alert.id,)
        )
        return await cursor.fetchone() is None

    async def _check_emergency(
        self, conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime, actor: str = "system"
    ) -> Alert:
        if alert.needs_emergency_call or alert.details.get("resident_reached") is True:
            return alert
        if not await self._nobody_on_the_way(conn, alert):
            return alert
        alert = await self._update(conn, alert, {"needs_emergency_call": True})
        note = "resident unreachable and nobody on the way: call emergency services (120)"
        await self._audit(conn, alert.id, now, actor, "prompt emergency call", None, None, note)
        fx.events.append(
            AlertEvent(AlertEventType.ESCALATED, alert, actor, now, {"step": "emergency_call", "note": note})
        )
        return alert

    # ------------------------------------------------------------------------------- escalation steps

    async def _on_cancel_window(
        self, conn: AsyncConnection[Any], alert: Alert, data: dict[str, Any], fx: _Effects, now: datetime
    ) -> None:
        if alert.state is not AlertState.PENDING:
            return
        alert = await self._move(
            conn,
            alert,
            AlertState.RAISED,
            "system",
            "nobody cancelled inside the cancel window",
            fx,
            now,
            sets={"ringing_at": now},
            action="cancel window ended",
        )
        await self._start_ringing(conn, alert, self.policies.resolve(alert.resident_id, alert.org_path), fx, now)
        if alert.kind in DEVICE_ANSWERED_KINDS:
            fx.downlinks.append((alert.device_id, self._command(alert, "call_received", now)))

    async def _on_ring_again(
        self, conn: AsyncConnection[Any], alert: Alert, data: dict[str, Any], fx: _Effects, now: datetime
    ) -> None:
        if alert.state is not AlertState.RAISED:
            return
        alert = await self._update(conn, alert, {"urgency": alert.urgency + 1})
        waited = int((now - (alert.ringing_at or alert.raised_at)).total_seconds())
        note = f"not acknowledged after {waited} s: ringing again, urgency {alert.urgency}"
        await self._audit(conn, alert.id, now, "system", "escalated", None, None, note)
        fx.events.append(
            AlertEvent(AlertEventType.ESCALATED, alert, "system", now, {"step": "ring_again", "urgency": alert.urgency})
        )

    async def _on_supervisor(
        self, conn: AsyncConnection[Any], alert: Alert, data: dict[str, Any], fx: _Effects, now: datetime
    ) -> None:
        if alert.state is not AlertState.RAISED:
            return
        policy = self.policies.resolve(alert.resident_id, alert.org_path)
        waited = int((now - (alert.ringing_at or alert.raised_at)).total_seconds())
        note = f"not acknowledged after {waited} s: area supervisor notified"
        await self._audit(conn, alert.id, now, "system", "escalated to supervisor", None, None, note)
        fx.events.append(AlertEvent(AlertEventType.ESCALATED, alert, "system", now, {"step": "supervisor"}))
        if policy.supervisor_urls:
            body = (
                f"Alert {alert.id} ({alert.kind}, resident {alert.resident_id}, area {alert.org_path or '/'})"
                f" has not been answered for {waited} s. Open the console: {self.config.public_url}/"
            )
            await self._queue_notice(
                conn,
                Notice(
                    str(alert.id),
                    "supervisor",
                    "area supervisor",
                    policy.supervisor_urls,
                    "12349: unanswered alert",
                    body,
                ),
                fx,
                now,
            )

    async def _on_family(
        self, conn: AsyncConnection[Any], alert: Alert, data: dict[str, Any], fx: _Effects, now: datetime
    ) -> None:
        if alert.state is not AlertState.RAISED:
            return
        contacts = await self._contacts(conn, alert.resident_id)
        index = int(data.get("index", 0))
        while index < len(contacts):
            contact = contacts[index]
            index += 1
            if await self._family_notice(conn, alert, contact, fx, now):
                break
        if index < len(contacts):
            policy = self.policies.resolve(alert.resident_id, alert.org_path)
            due = now + timedelta(seconds=policy.family_interval_s)
            await self._add_timer(conn, alert.id, "family", due, {"index": index}, fx, now)

    async def _on_emergency(
        self, conn: AsyncConnection[Any], alert: Alert, data: dict[str, Any], fx: _Effects, now: datetime
    ) -> None:
        if alert.is_open:
            await self._check_emergency(conn, alert, fx, now)

    async def _on_dispatch_timeout(
        self, conn: AsyncConnection[Any], alert: Alert, data: dict[str, Any], fx: _Effects, now: datetime
    ) -> None:
        cursor = await conn.execute(
            "UPDATE dispatches SET status = 'expired', responded_at = %s WHERE id = %s AND status = 'offered'"
            " RETURNING responder",
            (now, data["dispatch_id"]),
        )
        row = await cursor.fetchone()
        if row is None or alert.state is not AlertState.DISPATCHED:
            return
        note = f"{row['responder']} did not accept in time"  # type: ignore[call-overload]
        await self._audit(conn, alert.id, now, "system", "responder timed out", None, None, note)
        await self._reoffer(conn, alert, fx, now, note)

    # ---------------------------------------------------------------------------------------- dispatch

    async def _responders(
        self, conn: AsyncConnection[Any], where: str = "TRUE", params: Sequence[Any] = ()
    ) -> list[Responder]:
        cursor = await conn.execute(
            "SELECT username, name, kind, org_node, org_path, phone, available, rota, notify_urls FROM responders"
            f" WHERE {where} ORDER BY username",
            params,
        )
        return [
            Responder(
                **{**row, "rota": parse_rota(row["rota"]), "notify_urls": tuple(row["notify_urls"])}  # type: ignore[call-overload]
            )
            for row in await cursor.fetchall()
        ]

    async def _candidates(
        self, conn: AsyncConnection[Any], alert: Alert, now: datetime, scope: ScopeLike | None = None
    ) -> list[tuple[Responder, int]]:
        """Available, on duty, not busy with another open alert, not passed over for this one, serving
        the alert's area (:func:`serves`) and inside the caller's scope; nearest first."""
        responders = await self._responders(
            conn,
            "available AND username NOT IN (SELECT d.responder FROM dispatches d JOIN alerts a ON a.id = d.alert_id"
            " WHERE d.status = ANY(%s) AND a.state = ANY(%s))"
            " AND username NOT IN (SELECT responder FROM dispatches WHERE alert_id = %s)",
            (list(ACTIVE_DISPATCH), [s.value for s in OPEN_STATES], alert.id),
        )
        on_duty = [
            r
            for r in responders
            if r.on_duty(now, self.config.utc_offset_min) and serves(r, alert.org_path) and _in_scope(scope, r)
        ]
        return rank(alert.org_path, on_duty)

    async def propose(
        self, alert_id: uuid.UUID, scope: ScopeLike | None = None, limit: int = 5
    ) -> list[dict[str, Any]]:
        """The nearest available responders for an alert, best first."""
        async with self.pool.connection() as conn:
            alert = await self._get(conn, alert_id, scope)
            ranked = await self._candidates(conn, alert, self.clock(), scope)
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

        async def step(conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime) -> Alert:
            if alert.state is not AlertState.ACKNOWLEDGED:
                raise IllegalTransition(alert.state, AlertState.DISPATCHED)
            candidates = await self._candidates(conn, alert, now, scope)
            if responder is None:
                if not candidates:
                    raise NoResponderAvailable("no responder is available and on duty")
                chosen = candidates[0][0]
            else:
                match = [r for r, _ in candidates if r.username == responder]
                if not match:
                    named = await self._responders(conn, "username = %s", (responder,))
                    if named and not (serves(named[0], alert.org_path) and _in_scope(scope, named[0])):
                        raise NoResponderAvailable(
                            f"responder {responder!r} does not serve this alert's area or is outside yours"
                        )
                    raise NoResponderAvailable(f"responder {responder!r} is unknown, busy, off duty or passed over")
                chosen = match[0]
            return await self._offer(conn, alert, chosen, actor, note, fx, now)

        return await self._run(alert_id, scope, step)

    async def _offer(
        self,
        conn: AsyncConnection[Any],
        alert: Alert,
        responder: Responder,
        actor: str,
        note: str,
        fx: _Effects,
        now: datetime,
    ) -> Alert:
        cursor = await conn.execute(
            "INSERT INTO dispatches (alert_id, responder, status, offered_at, offered_by, note)"
            " VALUES (%s, %s, 'offered', %s, %s, %s) RETURNING id",
            (alert.id, responder.username, now, actor, note),
        )
        dispatch_id = int((await cursor.fetchone())["id"])  # type: ignore[index,call-overload]
        detail = {"responder": responder.username, "status": "offered", "dispatch_id": dispatch_id}
        if alert.state is AlertState.ACKNOWLEDGED:
            alert = await self._move(
                conn,
                alert,
                AlertState.DISPATCHED,
                actor,
                note or f"offered to {responder.username}",
                fx,
                now,
                sets={"responder": responder.username, "dispatched_at": now},
                detail=detail,
            )
        else:  # re-offered to the next responder
            alert = await self._update(conn, alert, {"responder": responder.username})
            await self._audit(conn, alert.id, now, actor, "offered to next responder", None, None, responder.username)
            fx.events.append(
                AlertEvent(AlertEventType.ESCALATED, alert, actor, now, {"step": "next_responder", **detail})
            )
        policy = self.policies.resolve(alert.resident_id, alert.org_path)
        due = now + timedelta(seconds=policy.responder_accept_s)
        await self._add_timer(conn, alert.id, "dispatch_timeout", due, {"dispatch_id": dispatch_id}, fx, now)
        if responder.notify_urls:
            link = await self.responder_link(alert.id, responder.username, dispatch_id, now)
            body = (
                f"12349 needs you: {alert.kind} alert for resident {alert.resident_id}. "
                f"Accept or decline within {policy.responder_accept_s // 60} min: {link}"
            )
            notice = Notice(
                str(alert.id), "responder", responder.username, responder.notify_urls, "12349 dispatch", body
            )
            await self._queue_notice(conn, notice, fx, now)
        return alert

    async def _reoffer(self, conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime, why: str) -> Alert:
        """The responder declined or timed out: offer the next nearest, or hand the alert back."""
        candidates = await self._candidates(conn, alert, now)
        if candidates:
            return await self._offer(conn, alert, candidates[0][0], "system", why, fx, now)
        alert = await self._move(
            conn,
            alert,
            AlertState.ACKNOWLEDGED,
            "system",
            f"{why}; no other responder available",
            fx,
            now,
            sets={"responder": None},
            action="no responder",
            event=AlertEventType.ESCALATED,
            detail={"step": "no_responder", "note": why},
        )
        return await self._check_emergency(conn, alert, fx, now)

    async def _current_dispatch(
        self, conn: AsyncConnection[Any], alert_id: uuid.UUID, dispatch_id: int | None = None
    ) -> dict[str, Any] | None:
        query = "SELECT id, responder, status FROM dispatches WHERE alert_id = %s AND status = ANY(%s)"
        params: list[Any] = [alert_id, list(ACTIVE_DISPATCH)]
        if dispatch_id is not None:
            query = "SELECT id, responder, status FROM dispatches WHERE alert_id = %s AND id = %s"
            params = [alert_id, dispatch_id]
        cursor = await conn.execute(query + " ORDER BY id DESC LIMIT 1 FOR UPDATE", params)
        return await cursor.fetchone()  # type: ignore[return-value]

    async def respond(
        self, alert_id: uuid.UUID, responder: str, dispatch_id: int, accept: bool, note: str = ""
    ) -> Alert:
        """The responder's answer to an offer (from their link): accept, or decline for the next one."""

        async def step(conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime) -> Alert:
            dispatch = await self._current_dispatch(conn, alert.id, dispatch_id)
            if dispatch is None or dispatch["responder"] != responder:
                raise Conflict("this dispatch is not yours")
            if dispatch["status"] != "offered":
                raise Conflict(f"this dispatch is already {dispatch['status']}")
            status = "accepted" if accept else "declined"
            await conn.execute(
                "UPDATE dispatches SET status = %s, responded_at = %s WHERE id = %s", (status, now, dispatch_id)
            )
            await self._cancel_timers(conn, alert.id, ("dispatch_timeout",), fx, now, {"dispatch_id": dispatch_id})
            await self._audit(conn, alert.id, now, f"responder:{responder}", f"responder {status}", None, None, note)
            if not accept:
                return await self._reoffer(conn, alert, fx, now, f"{responder} declined")
            await self._cancel_timers(conn, alert.id, ("emergency",), fx, now)
            alert = await self._update(conn, alert, {"needs_emergency_call": False})
            detail = {"responder": responder, "status": "accepted", "dispatch_id": dispatch_id}
            fx.events.append(AlertEvent(AlertEventType.DISPATCHED, alert, f"responder:{responder}", now, detail))
            command = self._command(alert, "help_on_the_way", now, responder=responder)
            fx.downlinks.extend((device, command) for device in self._home_devices(alert))
            return alert

        return await self._run(alert_id, None, step)

    async def arrive(
        self,
        alert_id: uuid.UUID,
        actor: str,
        note: str = "",
        scope: ScopeLike | None = None,
        responder: str | None = None,
    ) -> Alert:
        """The responder is with the resident (an offer not yet accepted counts as accepted)."""

        async def step(conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime) -> Alert:
            dispatch = await self._current_dispatch(conn, alert.id)
            if dispatch is None:
                raise IllegalTransition(alert.state, AlertState.ON_SCENE)
            if responder is not None and dispatch["responder"] != responder:
                raise Conflict("this dispatch is not yours")
            await conn.execute(
                "UPDATE dispatches SET status = 'arrived', arrived_at = %s, responded_at = COALESCE(responded_at, %s)"
                " WHERE id = %s",
                (now, now, dispatch["id"]),
            )
            await self._cancel_timers(conn, alert.id, ("dispatch_timeout", "emergency"), fx, now)
            return await self._move(
                conn,
                alert,
                AlertState.ON_SCENE,
                actor,
                note,
                fx,
                now,
                sets={"on_scene_at": now, "needs_emergency_call": False},
                detail={"responder": dispatch["responder"], "note": note},
            )

        return await self._run(alert_id, scope, step)

    async def responder_link(
        self, alert_id: uuid.UUID, responder: str, dispatch_id: int, now: datetime | None = None
    ) -> str:
        signer = await self._links()
        expires = (now or self.clock()) + timedelta(seconds=self.config.link_ttl_s)
        token = signer.sign(str(alert_id), "responder", responder, expires, d=dispatch_id)
        return f"{self.config.public_url}/r/{token}"

    async def verify_link(self, token: str, audience: str) -> LinkClaims:
        return (await self._links()).verify(token, audience, self.clock())

    # ------------------------------------------------------------------------------------------ family

    async def _contacts(self, conn: AsyncConnection[Any], resident_id: str) -> list[Contact]:
        cursor = await conn.execute(
            "SELECT resident_id, position, name, relation, urls, quiet_start, quiet_end, kinds"
            " FROM notification_contacts WHERE resident_id = %s ORDER BY position",
            (resident_id,),
        )
        return [
            Contact(**{**row, "urls": tuple(row["urls"]), "kinds": tuple(row["kinds"])})  # type: ignore[call-overload]
            for row in await cursor.fetchall()
        ]

    async def _family_notice(
        self, conn: AsyncConnection[Any], alert: Alert, contact: Contact, fx: _Effects, now: datetime
    ) -> bool:
        """Queue a message to one contact unless they opted out of this kind or it is their quiet time
        (urgent alerts, priority 1, go through quiet hours). Skips are recorded as deliveries."""
        skip = None
        if not contact.wants(alert.kind):
            skip = f"does not want {alert.kind} alerts"
        elif alert.priority > 1 and contact.quiet_at(local_time(now, self.config.utc_offset_min)):
            skip = "quiet hours"
        if skip is not None:
            await conn.execute(
                "INSERT INTO notification_deliveries (alert_id, audience, recipient, channel, at, ok, error)"
                " VALUES (%s, 'family', %s, '', %s, false, %s)",
                (alert.id, contact.name, now, f"skipped: {skip}"),
            )
            return False
        signer = await self._links()
        expires = now + timedelta(seconds=self.config.link_ttl_s)
        token = signer.sign(str(alert.id), "family", f"{contact.resident_id}:{contact.position}", expires)
        link = f"{self.config.public_url}/f/{token}"
        body = (
            f"12349 elderly-care centre: a {alert.kind.replace('_', ' ')} alert for your relative"
            f" ({alert.resident_id}) at {local_time(alert.raised_at, self.config.utc_offset_min):%H:%M}.\n"
            f"I am going over: {link}?do=going\n"
            f"I called, all is fine: {link}?do=fine\n"
        )
        notice = Notice(str(alert.id), "family", contact.name, contact.urls, f"12349 alert: {alert.kind}", body)
        await self._queue_notice(conn, notice, fx, now)
        await self._audit(conn, alert.id, now, "system", "family notified", None, None, contact.name)
        fx.events.append(
            AlertEvent(AlertEventType.ESCALATED, alert, "system", now, {"step": "family", "contact": contact.name})
        )
        return True

    async def notify_family(self, alert_id: uuid.UUID, actor: str, scope: ScopeLike | None = None) -> Alert:
        """Notify every eligible contact now (the operator's choice, whatever the ladder says)."""

        async def step(conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime) -> Alert:
            if not alert.is_open:
                raise Conflict(f"the alert is {alert.state.value}")
            contacts = await self._contacts(conn, alert.resident_id)
            if not contacts:
                raise Conflict(f"resident {alert.resident_id} has no notification contacts")
            for contact in contacts:
                await self._family_notice(conn, alert, contact, fx, now)
            await self._cancel_timers(conn, alert.id, ("family",), fx, now)
            return alert

        return await self._run(alert_id, scope, step)

    async def family_response(self, token: str, action: str, note: str = "") -> Alert:
        """A family contact tapped their link: "going" (I am going over) or "fine" (I called, all fine).

        A ringing or pending alert is acknowledged in their name (the ladder stops); otherwise the
        answer is recorded. "going" counts as somebody on the way."""
        if action not in ("going", "fine"):
            raise InvalidRequest("action is 'going' or 'fine'")
        claims = await self.verify_link(token, "family")
        resident_id, _, position = claims.subject.partition(":")
        async with self.pool.connection() as conn:
            contacts = {c.position: c for c in await self._contacts(conn, resident_id)}
        contact = contacts.get(int(position or -1))
        name = contact.name if contact else claims.subject
        text = {"going": "I am going over", "fine": "I called, all is fine"}[action]
        note = f"{text}. {note}".strip()
        actor = f"family:{name}"

        async def step(conn: AsyncConnection[Any], alert: Alert, fx: _Effects, now: datetime) -> Alert:
            if not alert.is_open:
                raise Conflict(f"this alert is already closed ({closed_summary(alert)}); no answer is needed")
            if action == "going" and alert.is_open:
                alert = await self._update(conn, alert, {"details": Jsonb({**alert.details, "family_going": name})})
            if action == "fine" and alert.is_open:
                alert = await self._update(conn, alert, {"details": Jsonb({**alert.details, "resident_reached": True})})
            if alert.state in (AlertState.RAISED, AlertState.PENDING):
                return await self._acknowledge(conn, alert, actor, note, fx, now)
            await self._audit(conn, alert.id, now, actor, f"family: {action}", None, None, note)
            fx.events.append(AlertEvent(AlertEventType.UPDATED, alert, actor, now, {"family": action, "note": note}))
            return alert

        return await self._run(uuid.UUID(claims.alert_id), None, step)

    async def contacts(self, resident_id: str) -> list[Contact]:
        async with self.pool.connection() as conn:
            return await self._contacts(conn, resident_id)

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
            unknown = set(kinds) - {k.value for k in DetectionKind}
            if unknown:
                raise InvalidRequest(f"unknown alert kinds: {', '.join(sorted(unknown))}")
            urls = validate_urls(list(item.get("urls") or ()), self.config.notify_allowed_hosts)
            parsed.append(Contact(resident_id, position, name, urls, str(item.get("relation", "")), start, end, kinds))
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM notification_contacts WHERE resident_id = %s", (resident_id,))
            for c in parsed:
                await conn.execute(
                    "INSERT INTO notification_contacts (resident_id, position, name, relation, urls, quiet_start,"
                    " quiet_end, kinds) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        c.resident_id,
                        c.position,
                        c.name,
                        c.relation,
                        list(c.urls),
                        c.quiet_start,
                        c.quiet_end,
                        list(c.kinds),
                    ),
                )
        return parsed

    # -------------------------------------------------------------------------------------- responders

    async def upsert_responder(self, data: dict[str, Any], org_path: str) -> Responder:
        kind = data.get("kind")
        if kind not in RESPONDER_KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(RESPONDER_KINDS)}")
        username, name = str(data.get("username", "")).strip(), str(data.get("name", "")).strip()
        if not username or not name:
            raise InvalidRequest("a responder needs a username and a name")
        urls = tuple(data.get("notify_urls") or ())
        if urls:
            validate_urls(urls, self.config.notify_allowed_hosts)
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
        async with self.pool.connection() as conn:
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
        async with self.pool.connection() as conn:
            await conn.execute("UPDATE responders SET available = %s WHERE username = %s", (available, username))
            found = await self._responders(conn, "username = %s", (username,))
        if not found:
            raise InvalidRequest(f"no responder {username!r}")
        return found[0]

    async def responders(self, scope: ScopeLike | None = None) -> list[Responder]:
        path = "/" if scope is None or scope.resident_id is not None else scope.org_path
        async with self.pool.connection() as conn:
            return await self._responders(conn, "org_path LIKE %s", (_like_prefix(path),))

    async def responder(self, username: str) -> Responder | None:
        async with self.pool.connection() as conn:
            found = await self._responders(conn, "username = %s", (username,))
        return found[0] if found else None

    # ---------------------------------------------------------------------------------------- policies

    async def set_policy(self, scope: str, key: str, config: dict[str, Any] | None, actor: str) -> EscalationPolicy:
        """Override the ladder for an area (org path prefix) or a resident; None removes the override."""
        if scope not in ("area", "resident"):
            raise InvalidRequest("scope is 'area' or 'resident'")
        clean = None if config is None else validate_override(config)
        async with self.pool.connection() as conn:
            if clean is None:
                await conn.execute("DELETE FROM escalation_policies WHERE scope = %s AND key = %s", (scope, key))
            else:
                await conn.execute(
                    "INSERT INTO escalation_policies (scope, key, config, updated_at, updated_by)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (scope, key) DO UPDATE SET config = EXCLUDED.config,"
                    " updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by",
                    (scope, key, Jsonb(clean), self.clock(), actor),
                )
        self.policies.set(scope, key, clean)
        if scope == "area":
            return self.policies.resolve("", key)
        return self.policies.resolve(key, None)

    def policy_for(self, resident_id: str, org_path: str | None) -> EscalationPolicy:
        return self.policies.resolve(resident_id, org_path)

    # ----------------------------------------------------------------------------------------- queries

    async def _get(self, conn: AsyncConnection[Any], alert_id: uuid.UUID, scope: ScopeLike | None) -> Alert:
        where, params = scope_clause(scope)
        cursor = await conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = %s AND {where}", (alert_id, *params))
        row = await cursor.fetchone()
        if row is None:
            raise AlertNotFound(f"no alert {alert_id}")
        return _alert(row)  # type: ignore[arg-type]

    async def get(self, alert_id: uuid.UUID, scope: ScopeLike | None = None) -> Alert:
        async with self.pool.connection() as conn:
            return await self._get(conn, alert_id, scope)

    async def open_alerts(
        self, limit: int = 500, scope: ScopeLike | None = None, states: Sequence[AlertState] | None = None
    ) -> list[Alert]:
        """The queue: ringing first, then in hand, then pending; by priority (SOS and falls first),
        urgency, and oldest first within a priority."""
        where, params = scope_clause(scope)
        wanted = [s.value for s in (states or OPEN_STATES)]
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM alerts WHERE state = ANY(%s) AND {where}"
                " ORDER BY CASE state WHEN 'raised' THEN 0 WHEN 'pending' THEN 2 ELSE 1 END, priority,"
                " urgency DESC, COALESCE(ringing_at, raised_at), raised_at LIMIT %s",
                (wanted, *params, limit),
            )
            rows = await cursor.fetchall()
        return [_alert(row) for row in rows]  # type: ignore[arg-type]

    async def recent_alerts(
        self, scope: ScopeLike | None = None, since: datetime | None = None, limit: int = 200
    ) -> list[Alert]:
        """Alerts in any state raised since ``since``, newest first."""
        where, params = scope_clause(scope)
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM alerts WHERE raised_at >= %s AND {where} ORDER BY raised_at DESC LIMIT %s",
                (since or datetime(1970, 1, 1, tzinfo=UTC), *params, limit),
            )
            rows = await cursor.fetchall()
        return [_alert(row) for row in rows]  # type: ignore[arg-type]

    async def resident_history(self, resident_id: str, scope: ScopeLike | None = None, limit: int = 50) -> list[Alert]:
        """One resident's alerts in any state, newest first (for the resident record)."""
        where, params = scope_clause(scope)
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM alerts WHERE resident_id = %s AND {where} ORDER BY raised_at DESC LIMIT %s",
                (resident_id, *params, limit),
            )
            rows = await cursor.fetchall()
        return [_alert(row) for row in rows]  # type: ignore[arg-type]

    async def audit_trail(self, alert_id: uuid.UUID, scope: ScopeLike | None = None) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            if scope is not None:
                await self._get(conn, alert_id, scope)
            cursor = await conn.execute(
                "SELECT at, actor, action, from_state, to_state, note FROM alert_audit WHERE alert_id = %s ORDER BY id",
                (alert_id,),
            )
            return list(await cursor.fetchall())  # type: ignore[arg-type]

    async def dispatches(self, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, responder, status, offered_at, offered_by, responded_at, arrived_at, note"
                " FROM dispatches WHERE alert_id = %s ORDER BY id",
                (alert_id,),
            )
            return list(await cursor.fetchall())  # type: ignore[arg-type]

    async def deliveries(self, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT audience, recipient, channel, at, ok, error FROM notification_deliveries"
                " WHERE alert_id = %s ORDER BY id",
                (alert_id,),
            )
            return list(await cursor.fetchall())  # type: ignore[arg-type]

    async def pending_timers(self, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, kind, due_at, data FROM alert_timers WHERE alert_id = %s AND fired_at IS NULL"
                " AND cancelled_at IS NULL ORDER BY due_at, id",
                (alert_id,),
            )
            return list(await cursor.fetchall())  # type: ignore[arg-type]


__all__ = ["AlertService", "AlertingConfig", "ScopeLike", "redact", "scope_clause"]
