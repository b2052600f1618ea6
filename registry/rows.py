"""Typed rows: every pool the platform opens makes dict rows (``eldercare.db.open_pool`` sets
``row_factory=dict_row``); :func:`connection` tells the type checker so, in one place. Also the
pool's readiness check (:func:`answers`), which every process's ``/ready`` asks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from registry.errors import NotFound

Row = dict[str, Any]
"""A row as a dict of column name to value (``DictRow``)."""


def connection(pool: AsyncConnectionPool) -> AbstractAsyncContextManager[AsyncConnection[DictRow]]:
    """A pooled connection whose cursors return :data:`Row` s."""
    return cast("AbstractAsyncContextManager[AsyncConnection[DictRow]]", pool.connection())


async def page(pool: AsyncConnectionPool, sql: str, params: Sequence[object]) -> tuple[list[Row], int]:
    """One page of rows from ``sql`` (which selects ``count(*) OVER () AS total``) and the total."""
    async with connection(pool) as conn:
        rows: list[Row] = await (await conn.execute(sql, params)).fetchall()
    total = int(rows[0]["total"]) if rows else 0
    for row in rows:
        row.pop("total", None)
    return rows, total


async def found(cursor: AsyncCursor[DictRow], missing: str) -> Row:
    """The row a lookup (by id, in the caller's area) returns; none: :class:`NotFound` with the
    reason ``missing`` ("no home 'h-1' in your area")."""
    row = await cursor.fetchone()
    if row is None:
        raise NotFound(missing)
    return row


async def only_row(cursor: AsyncCursor[DictRow]) -> Row:
    """The row a statement always returns (``RETURNING``, ``count(*)``); none is a bug, not a 404."""
    row = await cursor.fetchone()
    if row is None:
        raise LookupError("the statement returned no row")
    return row


async def answers(pool: AsyncConnectionPool, timeout_s: float = 1.0) -> bool:
    """Whether the database answers a trivial query within ``timeout_s`` (readiness probes)."""
    try:
        async with asyncio.timeout(timeout_s), pool.connection() as conn:
            await conn.execute("SELECT 1")
    except Exception:
        return False
    return True
