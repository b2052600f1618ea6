"""Read-only questions about alerts: one alert, the queue, recent and per-resident alerts, an alert's
audit trail, dispatches, deliveries and pending timers. Each is restricted to the caller's scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from alerting.context import Context, ScopeLike, scope_clause
from alerting.model import OPEN_STATES, Alert, AlertNotFound, AlertState
from alerting.tx import COLUMNS, alert_from


async def fetch_alert(conn: AsyncConnection[DictRow], alert_id: uuid.UUID, scope: ScopeLike | None) -> Alert:
    where, params = scope_clause(scope)
    cursor = await conn.execute(f"SELECT {COLUMNS} FROM alerts WHERE id = %s AND {where}", (alert_id, *params))
    row = await cursor.fetchone()
    if row is None:
        raise AlertNotFound(f"no alert {alert_id}")
    return alert_from(row)


class Queries:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def get(self, alert_id: uuid.UUID, scope: ScopeLike | None = None) -> Alert:
        async with self.ctx.connection() as conn:
            return await fetch_alert(conn, alert_id, scope)

    async def open_alerts(
        self, limit: int = 500, scope: ScopeLike | None = None, states: Sequence[AlertState] | None = None
    ) -> list[Alert]:
        """The queue: ringing first, then in hand, then pending; by priority (SOS and falls first),
        urgency, and oldest first within a priority."""
        where, params = scope_clause(scope)
        wanted = [s.value for s in (states or OPEN_STATES)]
        return await self._alerts(
            f"SELECT {COLUMNS} FROM alerts WHERE state = ANY(%s) AND {where}"
            " ORDER BY CASE state WHEN 'raised' THEN 0 WHEN 'pending' THEN 2 ELSE 1 END, priority,"
            " urgency DESC, COALESCE(ringing_at, raised_at), raised_at LIMIT %s",
            (wanted, *params, limit),
        )

    async def recent_alerts(
        self, scope: ScopeLike | None = None, since: datetime | None = None, limit: int = 200
    ) -> list[Alert]:
        """Alerts in any state raised since ``since``, newest first."""
        where, params = scope_clause(scope)
        return await self._alerts(
            f"SELECT {COLUMNS} FROM alerts WHERE raised_at >= %s AND {where} ORDER BY raised_at DESC LIMIT %s",
            (since or datetime(1970, 1, 1, tzinfo=UTC), *params, limit),
        )

    async def resident_history(self, resident_id: str, scope: ScopeLike | None = None, limit: int = 50) -> list[Alert]:
        """One resident's alerts in any state, newest first (for the resident record)."""
        where, params = scope_clause(scope)
        return await self._alerts(
            f"SELECT {COLUMNS} FROM alerts WHERE resident_id = %s AND {where} ORDER BY raised_at DESC LIMIT %s",
            (resident_id, *params, limit),
        )

    async def _alerts(self, query: str, params: Sequence[Any]) -> list[Alert]:
        async with self.ctx.connection() as conn:
            cursor = await conn.execute(query, params)
            rows = await cursor.fetchall()
        return [alert_from(row) for row in rows]

    async def audit_trail(self, alert_id: uuid.UUID, scope: ScopeLike | None = None) -> list[dict[str, Any]]:
        async with self.ctx.connection() as conn:
            if scope is not None:
                await fetch_alert(conn, alert_id, scope)
            return await self._rows(
                conn,
                "SELECT at, actor, action, from_state, to_state, note FROM alert_audit WHERE alert_id = %s ORDER BY id",
                alert_id,
            )

    async def dispatches(self, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self.ctx.connection() as conn:
            return await self._rows(
                conn,
                "SELECT id, responder, status, offered_at, offered_by, responded_at, arrived_at, note"
                " FROM dispatches WHERE alert_id = %s ORDER BY id",
                alert_id,
            )

    async def deliveries(self, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self.ctx.connection() as conn:
            return await self._rows(
                conn,
                "SELECT audience, recipient, channel, at, ok, error FROM notification_deliveries"
                " WHERE alert_id = %s ORDER BY id",
                alert_id,
            )

    async def pending_timers(self, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self.ctx.connection() as conn:
            return await self._rows(
                conn,
                "SELECT id, kind, due_at, data FROM alert_timers WHERE alert_id = %s AND fired_at IS NULL"
                " AND cancelled_at IS NULL ORDER BY due_at, id",
                alert_id,
            )

    @staticmethod
    async def _rows(conn: AsyncConnection[DictRow], query: str, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        cursor = await conn.execute(query, (alert_id,))
        return list(await cursor.fetchall())
