"""The care-call queue: outbound check-in calls to at-risk residents, for the centre's operators.

**Who is on the queue.** Residents of the operator's area whose visit plan accepts a phone call and
whose next contact is due within ``within_days`` (the rollup's state, :mod:`care.rollup`), except
those another operator is calling now (an open call younger than :data:`CLAIM`) and those whose last
attempt failed less than its retry time ago. Ordered as the overdue list: the platform's signals
first (no sign of life today, a device offline), then the longest overdue.

**A call.** :meth:`CareCalls.start` claims the resident (one open call per resident; a second operator
gets :class:`Conflict`, a claim older than :data:`CLAIM` is abandoned). :meth:`CareCalls.finish`
records the outcome: *reached* stores a phone visit with the findings (so it counts for the visit
rate, and may raise an alert like any visit); *no_answer* and *busy* put the resident back on the
queue after :data:`RETRY`; *wrong_number* after a day, for someone to check the number.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from care.context import CareContext, Row, Signals, audit_path, no_signals, resident_in, resident_rows, row_in
from care.rollup import Rollup
from care.visits import most_urgent
from registry.area import Area
from registry.audit import Actor, write_audit
from registry.errors import Conflict, Forbidden, Invalid

CLAIM = timedelta(minutes=15)
"""How long an open call holds its resident for the operator who started it."""
RETRY = {"no_answer": timedelta(hours=2), "busy": timedelta(hours=2), "wrong_number": timedelta(days=1)}
"""When an unanswered resident comes back on the queue."""
OUTCOMES = ("reached", *RETRY)
COLUMNS = (
    "k.id, k.resident_id, k.operator, k.org_path, k.started_at, k.finished_at, k.outcome, k.retry_at, k.note,"
    " k.visit_id"
)
RecordVisit = Callable[[str, Mapping[str, Any], Area, Actor, bool], Awaitable[Row]]
""":meth:`care.CareService.record_visit` (a reached call is a phone visit, which may raise an alert)."""


class CareCalls:
    def __init__(
        self, ctx: CareContext, rollup: Rollup, record_visit: RecordVisit, signals: Signals = no_signals
    ) -> None:
        self.ctx = ctx
        self.rollup = rollup
        self.record_visit = record_visit
        self.signals = signals

    async def queue(self, area: Area, actor: Actor, within_days: int = 0, limit: int = 200) -> list[Row]:
        """Who to call now in ``area`` (see the module doc), each with their last attempt."""
        await self.rollup.catch_up()
        now = self.ctx.clock()
        condition, params = area.where("s.org_path", "s.resident_id")
        source = """
            care_resident_state s LEFT JOIN LATERAL (
                SELECT k.outcome, k.finished_at, k.retry_at, k.started_at FROM care_calls k
                WHERE k.resident_id = s.resident_id ORDER BY k.started_at DESC LIMIT 1
            ) last ON true
        """
        where = f"""{condition} AND 'phone' = ANY(s.modes) AND s.next_due <= %s
            AND NOT coalesce(last.outcome IS NULL AND last.started_at > %s, false)
            AND (last.retry_at IS NULL OR last.retry_at <= %s)"""
        columns = """s.resident_id, s.name, s.phone, s.org_path, s.categories, s.last_visit_at, s.next_due,
                     last.outcome AS last_outcome, last.finished_at AS last_call_at"""
        values = [*params, now + timedelta(days=within_days), now - CLAIM, now]
        async with self.ctx.pool.connection() as conn:
            rows = await most_urgent(conn, source, where, values, columns, self.signals, now, limit)
            await write_audit(conn, actor, "list", "care_call_queue", "", audit_path(area),
                              {"returned": [row["resident_id"] for row in rows][:200]})  # fmt: skip
        return rows

    async def start(self, resident_id: str, area: Area, actor: Actor) -> Row:
        """Claim ``resident_id`` for a call by ``actor``; :class:`Conflict` while another operator calls."""
        now = self.ctx.clock()
        async with self.ctx.pool.connection() as conn, conn.transaction():
            resident = await resident_in(conn, resident_id, area, lock=True)
            await conn.execute(
                "UPDATE care_calls SET outcome = 'abandoned', finished_at = %s"
                " WHERE resident_id = %s AND outcome IS NULL AND started_at <= %s",
                (now, resident_id, now - CLAIM),
            )
            cursor = await conn.execute(
                "INSERT INTO care_calls AS k (resident_id, operator, org_path, started_at) VALUES (%s, %s, %s, %s)"
                f" ON CONFLICT (resident_id) WHERE outcome IS NULL DO NOTHING RETURNING {COLUMNS}",
                (resident_id, actor.username, resident["org_path"], now),
            )
            row: Row | None = await cursor.fetchone()  # type: ignore[assignment]
            if row is None:
                holder = await (await conn.execute(
                    "SELECT operator FROM care_calls WHERE resident_id = %s AND outcome IS NULL", (resident_id,)
                )).fetchone()  # fmt: skip
                raise Conflict(f"{holder['operator'] if holder else 'another operator'} is calling this resident now")  # type: ignore[call-overload]
            await write_audit(conn, actor, "create", "care_call", str(row["id"]), resident["org_path"],
                              {"resident_id": resident_id})  # fmt: skip
        return row

    async def finish(self, call_id: int, data: Mapping[str, Any], area: Area, actor: Actor) -> Row:
        """Record what came of a call (``outcome``, ``note``; when reached: ``findings``, ``concern``,
        ``raise_alert``); only its operator finishes it."""
        outcome = data["outcome"]
        if outcome not in OUTCOMES:
            raise Invalid(f"outcome must be one of {', '.join(OUTCOMES)}")
        call = await self._call_in(call_id, area)
        if call["outcome"] is not None:
            raise Conflict(f"call {call_id} is already finished ({call['outcome']})")
        if call["operator"] != actor.username:
            raise Forbidden(f"call {call_id} is {call['operator']}'s")
        now = self.ctx.clock()
        retry_at = now + RETRY[outcome] if outcome in RETRY else None
        # the outcome is claimed before the visit is stored: of two finishes at once (a double tap, two
        # consoles) only one stores a visit and may raise an alert; a visit that cannot be stored unclaims it
        row = await self._claim(call_id, (outcome, now, retry_at, data.get("note", "")))
        visit_id = None
        if outcome == "reached":
            try:
                visit = await self.record_visit(call["resident_id"], {
                    "at": now, "mode": "phone", "visitor": actor.username, "findings": data.get("findings") or {},
                    "concern": bool(data.get("concern"))}, area, actor, bool(data.get("raise_alert")))  # fmt: skip
            except BaseException:
                await self._update(
                    call_id, "outcome = NULL, finished_at = NULL, retry_at = NULL, note = %s", (call["note"],)
                )
                raise
            visit_id = visit["id"]
            row = await self._update(call_id, "visit_id = %s", (visit_id,)) or row
        async with self.ctx.pool.connection() as conn:
            await write_audit(conn, actor, "update", "care_call", str(call_id), call["org_path"],
                              {"outcome": outcome, "visit_id": visit_id})  # fmt: skip
        return row

    async def _claim(self, call_id: int, values: tuple[Any, ...]) -> Row:
        """Set an open call's outcome, finish time, retry time and note; :class:`Conflict` if it was finished."""
        assignments = "outcome = %s, finished_at = %s, retry_at = %s, note = %s"
        row = await self._update(call_id, assignments, values, still_open=True)
        if row is None:
            raise Conflict(f"call {call_id} was finished meanwhile")
        return row

    async def _update(
        self, call_id: int, assignments: str, values: tuple[Any, ...] = (), still_open: bool = False
    ) -> Row | None:
        """Set ``assignments`` on the call (only if it has no outcome yet, with ``still_open``); the call as it
        is then, or None if it was finished."""
        condition = " AND outcome IS NULL" if still_open else ""
        async with self.ctx.pool.connection() as conn:
            cursor = await conn.execute(
                f"UPDATE care_calls AS k SET {assignments} WHERE id = %s{condition} RETURNING {COLUMNS}",
                (*values, call_id),
            )
            return await cursor.fetchone()  # type: ignore[return-value]

    async def _call_in(self, call_id: int, area: Area) -> Row:
        async with self.ctx.pool.connection() as conn:
            return await row_in(conn, "care_calls k", COLUMNS, call_id, area, f"no care call {call_id} in your area")

    async def of_resident(self, resident_id: str, area: Area, actor: Actor, limit: int = 100) -> list[Row]:
        sql = f"SELECT {COLUMNS} FROM care_calls k WHERE k.resident_id = %s ORDER BY k.started_at DESC LIMIT %s"
        return await resident_rows(self.ctx, resident_id, area, actor, "care_call", sql, limit)
