"""Alerting's service interface: raise alerts from detections, acknowledge, list. It owns the tables.

Every alert is committed to PostgreSQL before anyone (the device, the console) is told about it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from alerting.bus import AlertBus
from alerting.model import (
    OPEN_STATES,
    PRIORITY,
    TRANSITIONS,
    Alert,
    AlertEvent,
    AlertEventType,
    AlertNotFound,
    AlertState,
    IllegalTransition,
    alert_id_for,
)
from stream.detections import Detection, DetectionKind

log = logging.getLogger("eldercare.alerting")

Downlink = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Sends a command to a device: ``await downlink(device_id, {"type": "call_received", …})``."""

Clock = Callable[[], datetime]

_COLUMNS = (
    "id, resident_id, device_id, kind, priority, state, occurred_at, raised_at, last_trigger_at,"
    " acknowledged_at, acknowledged_by, repeats, confidence, details"
)
DEVICE_ANSWERED_KINDS = frozenset({DetectionKind.SOS, DetectionKind.FALL})


def utc_now() -> datetime:
    return datetime.now(UTC)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, UTC)


def _alert(row: dict[str, Any]) -> Alert:
    return Alert(**{**row, "state": AlertState(row["state"])})


class AlertService:
    """Raise, coalesce, acknowledge and list alerts; publish what happens on :attr:`bus`."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        bus: AlertBus | None = None,
        downlink: Downlink | None = None,
        clock: Clock = utc_now,
        coalesce_window: timedelta = timedelta(minutes=10),
    ) -> None:
        self.pool = pool
        self.bus = bus or AlertBus()
        self.downlink = downlink
        self.clock = clock
        self.coalesce_window = coalesce_window
        self._downlinks: set[asyncio.Task[None]] = set()

    async def raise_detections(self, detections: Sequence[Detection]) -> list[AlertEvent]:
        """Store each detection as a new alert or a repeat of an open one, then announce them.

        Idempotent: a detection whose key was seen before changes nothing and announces nothing.
        """
        if not detections:
            return []
        events: list[AlertEvent] = []
        async with self.pool.connection() as conn, conn.transaction():
            for detection in detections:
                event = await self._raise_one(conn, detection)
                if event is not None:
                    events.append(event)
        for event in events:
            self.bus.publish(event)
        await self._answer_devices(events)
        return events

    async def _raise_one(self, conn: AsyncConnection[Any], detection: Detection) -> AlertEvent | None:
        now = self.clock()
        cursor = await conn.execute(
            "SELECT * FROM raise_alert(%s, %s, %s, %s, %s, %s::smallint, %s, %s, %s, %s::real, %s, %s::text[])",
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
            ),
        )
        row = await cursor.fetchone()
        if row is None:
            return None  # seen before: a redelivery or a replay
        outcome = row.pop("event")  # type: ignore[union-attr]
        alert = _alert(row)  # type: ignore[arg-type]
        event_type = AlertEventType.RAISED if outcome == "raised" else AlertEventType.REPEATED
        return AlertEvent(event_type, alert, at=now)

    async def _answer_devices(self, events: Sequence[AlertEvent]) -> None:
        """Tell the pressing device its call was received (only after the alert is stored).

        Sent in the background: waiting for the broker's PUBACK here would hold up the next alarm.
        """
        if self.downlink is None:
            return
        for event in events:
            alert = event.alert
            if event.type is not AlertEventType.RAISED or alert.kind not in DEVICE_ANSWERED_KINDS:
                continue
            command = {"type": "call_received", "alert_id": str(alert.id), "ts": int(self.clock().timestamp() * 1000)}
            task = asyncio.create_task(self._send(alert, command))
            self._downlinks.add(task)
            task.add_done_callback(self._downlinks.discard)

    async def _send(self, alert: Alert, command: dict[str, Any]) -> None:
        assert self.downlink is not None
        try:
            await self.downlink(alert.device_id, command)
        except Exception:  # the alert is stored; a failed downlink must not lose it
            log.exception("downlink failed", extra={"device_id": alert.device_id, "alert_id": str(alert.id)})

    async def acknowledge(self, alert_id: uuid.UUID, actor: str, note: str = "") -> Alert:
        return await self._transition(alert_id, AlertState.ACKNOWLEDGED, actor, note)

    async def _transition(self, alert_id: uuid.UUID, wanted: AlertState, actor: str, note: str) -> Alert:
        now = self.clock()
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = %s FOR UPDATE", (alert_id,))
            row = await cursor.fetchone()
            if row is None:
                raise AlertNotFound(f"no alert {alert_id}")
            current = _alert(row)  # type: ignore[arg-type]
            if wanted not in TRANSITIONS[current.state]:
                raise IllegalTransition(current.state, wanted)
            stamp = ", acknowledged_at = %s, acknowledged_by = %s" if wanted is AlertState.ACKNOWLEDGED else ""
            params: tuple[Any, ...] = (wanted.value, now, actor) if stamp else (wanted.value,)
            cursor = await conn.execute(
                f"UPDATE alerts SET state = %s{stamp} WHERE id = %s RETURNING {_COLUMNS}", (*params, alert_id)
            )
            alert = _alert(await cursor.fetchone())  # type: ignore[arg-type]
            await self._audit(conn, alert_id, now, actor, wanted.value, current.state, wanted, note)
        event_type = AlertEventType.ACKNOWLEDGED if wanted is AlertState.ACKNOWLEDGED else AlertEventType.RESOLVED
        self.bus.publish(AlertEvent(event_type, alert, actor=actor, at=now))
        return alert

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

    async def get(self, alert_id: uuid.UUID) -> Alert:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = %s", (alert_id,))
            row = await cursor.fetchone()
        if row is None:
            raise AlertNotFound(f"no alert {alert_id}")
        return _alert(row)  # type: ignore[arg-type]

    async def open_alerts(self, limit: int = 500) -> list[Alert]:
        """Open alerts, newest first."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM alerts WHERE state = ANY(%s) ORDER BY raised_at DESC LIMIT %s",
                ([s.value for s in OPEN_STATES], limit),
            )
            rows = await cursor.fetchall()
        return [_alert(row) for row in rows]  # type: ignore[arg-type]

    async def audit_trail(self, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT at, actor, action, from_state, to_state, note FROM alert_audit WHERE alert_id = %s ORDER BY id",
                (alert_id,),
            )
            return list(await cursor.fetchall())  # type: ignore[arg-type]
