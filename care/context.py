"""What every care module shares: the pool, the clock, local time, and the scoped resident lookup."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from registry.area import Area, like_prefix
from registry.audit import Actor, write_audit
from registry.errors import NotFound

Row = dict[str, Any]
Clock = Callable[[], datetime]
Signals = Callable[[Sequence[str]], Awaitable[Mapping[str, Sequence[str]]]]
"""Resident ids → the platform's signals about each (``no_activity_today``, ``device_offline`` …)."""


async def no_signals(resident_ids: Sequence[str]) -> Mapping[str, Sequence[str]]:
    return {}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class CareContext:
    pool: AsyncConnectionPool
    clock: Clock = utc_now
    utc_offset_min: int = 480
    """Local time of the site (months and days are counted in it); China is UTC+8."""


async def resident_in(conn: AsyncConnection[Any], resident_id: str, area: Area, lock: bool = False) -> Row:
    """The resident's id, name and org path if inside ``area``; otherwise :class:`NotFound` (never 403)."""
    condition, params = area.where("org_path", "id")
    cursor = await conn.execute(
        f"SELECT id, name, org_path FROM residents WHERE id = %s AND {condition}" + (" FOR UPDATE" if lock else ""),
        (resident_id, *params),
    )
    row: Row | None = await cursor.fetchone()  # type: ignore[assignment]
    if row is None:
        raise NotFound(f"no resident {resident_id!r} in your area")
    return row


async def row_in(conn: AsyncConnection[Any], source: str, columns: str, key: object, area: Area, missing: str) -> Row:
    """The row with id ``key`` of ``source`` (a table and its alias, ``"care_visits v"``) if its resident
    lies in ``area``; otherwise :class:`NotFound` saying ``missing`` (never 403)."""
    alias = source.split()[1]
    condition, params = area.where("r.org_path", "r.id")
    cursor = await conn.execute(
        f"SELECT {columns} FROM {source} JOIN residents r ON r.id = {alias}.resident_id"
        f" WHERE {alias}.id = %s AND {condition}",
        (key, *params),
    )
    row: Row | None = await cursor.fetchone()  # type: ignore[assignment]
    if row is None:
        raise NotFound(missing)
    return row


async def resident_rows(
    ctx: CareContext, resident_id: str, area: Area, actor: Actor, object_type: str, sql: str, *params: object
) -> list[Row]:
    """The rows ``sql`` selects about one resident of ``area`` (their id is its first parameter, ``params``
    follow); the read is audited as ``object_type``. :class:`NotFound` outside ``area``."""
    async with ctx.pool.connection() as conn:
        resident = await resident_in(conn, resident_id, area)
        rows: list[Row] = await (await conn.execute(sql, (resident_id, *params))).fetchall()  # type: ignore[arg-type,assignment]
        await write_audit(conn, actor, "read", object_type, resident_id, resident["org_path"])
    return rows


def audit_path(area: Area) -> str:
    """The org path an audit entry about a list in ``area`` is filed under."""
    return area.org_path if area.resident_id is None else "/"


def path_condition(column: str, path: str) -> tuple[str, list[object]]:
    """``column`` lies under ``path`` (an org path)."""
    if path == "/":
        return "true", []
    return f"{column} LIKE %s", [like_prefix(path)]


def child_code(parent: str, path: str) -> str:
    """The code of the child node of ``parent`` that ``path`` lies under ('' for ``parent`` itself)."""
    return path[len(parent) :].split("/", 1)[0] if path.startswith(parent) else ""


def share(numerator: int, denominator: int) -> float | None:
    """``numerator ÷ denominator`` to four places; ``None`` when nothing was counted."""
    return None if denominator == 0 else round(numerator / denominator, 4)
