"""The history's upkeep run by several processes at once (the API instances of a partitioned site):
the hourly work is done by the one holding the lock, the others skip it, nobody fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from alerting.history import EventHistory
from alerting.maintenance import LOCK, maintain_history
from tests.services import TestServices, migrated_pool


@pytest.fixture
async def pool(services: TestServices) -> AsyncIterator[AsyncConnectionPool]:
    async with migrated_pool(services, "registry", "alerting") as pool:
        yield pool


def two_months_ahead() -> str:
    now = datetime.now(UTC)
    month = now.month + 2
    return f"events_{now.year + (month - 1) // 12}_{(month - 1) % 12 + 1:02d}"


async def exists(pool: AsyncConnectionPool, table: str) -> bool:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT to_regclass(%s) IS NOT NULL AS made", (table,))
        row = await cursor.fetchone()
        return bool(row and row["made"])  # type: ignore[call-overload]


async def drop(pool: AsyncConnectionPool, table: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(f"DROP TABLE {table}")  # type: ignore[arg-type]


async def test_several_processes_maintain_at_once_without_failing(
    pool: AsyncConnectionPool, caplog: pytest.LogCaptureFixture
) -> None:
    histories = [EventHistory(pool) for _ in range(3)]
    for history in histories:
        await history.ensure_schema()
    ahead = two_months_ahead()
    await drop(pool, ahead)
    with caplog.at_level(logging.WARNING, logger="eldercare.history"):
        await asyncio.gather(*(maintain_history(pool, history, 480) for history in histories))
    assert await exists(pool, ahead)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT position FROM rollup_positions WHERE name = 'alerts_daily'")
        assert await cursor.fetchone() is not None


async def test_the_hourly_work_is_skipped_while_another_process_holds_it(pool: AsyncConnectionPool) -> None:
    history = EventHistory(pool)
    await history.ensure_schema()
    ahead = two_months_ahead()
    await drop(pool, ahead)
    async with await psycopg.AsyncConnection.connect(pool.conninfo, autocommit=True) as other:
        await other.execute("SELECT pg_advisory_lock(%s)", (LOCK,))
        await maintain_history(pool, history, 480)
        assert not await exists(pool, ahead)  # the other process is at it
        await other.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))
    await maintain_history(pool, history, 480)
    assert await exists(pool, ahead)
    await maintain_history(pool, history, 480, hourly=False)  # the rollup alone, every minute
