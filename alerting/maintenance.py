"""The history's upkeep on a schedule, for whichever processes of a site run it.

Every ``every_s`` (a minute) the alerts-per-area rollup (:mod:`alerting.alert_rollup`) takes in what
changed; every hour the raw history gets its partitions ahead and its retention
(:meth:`alerting.history.EventHistory.maintain`). One process (``eldercare up``) or several (each API
instance of a partitioned deployment) may run it at once: the rollup refresh locks its position row,
and the hourly work runs only in the process that holds the advisory lock :data:`LOCK`, the others
skip that round. Failures are logged and tried again next round; nothing here stops a loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from psycopg_pool import AsyncConnectionPool

from alerting.alert_rollup import refresh_alerts_daily
from alerting.history import EventHistory

log = logging.getLogger("eldercare.history")

LOCK = 7453
"""The advisory lock of the hourly history work (``alerting.history`` holds 7452 for its schema)."""
HOUR_S = 3600.0


async def maintain_history(
    pool: AsyncConnectionPool, history: EventHistory, utc_offset_min: int, hourly: bool = True
) -> None:
    """Refresh the alert rollup; with ``hourly``, partitions ahead and retention too (one process at a time)."""
    try:
        await refresh_alerts_daily(pool, utc_offset_min)
        if hourly:
            async with pool.connection() as conn:
                await conn.set_autocommit(True)  # a session lock, held while other connections work
                try:
                    cursor = await conn.execute("SELECT pg_try_advisory_lock(%s) AS held", (LOCK,))
                    row = await cursor.fetchone()
                    if not (row and row["held"]):  # type: ignore[call-overload]
                        return  # another process is at it
                    try:
                        await history.maintain(datetime.now(UTC))
                    finally:
                        await conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))
                finally:
                    await conn.set_autocommit(False)
    except Exception:
        log.exception("history maintenance failed; will retry")


async def maintain_forever(
    pool: AsyncConnectionPool, history: EventHistory, utc_offset_min: int, every_s: float = 60.0
) -> None:
    """:func:`maintain_history` every ``every_s``, the hourly part on the first round and then hourly."""
    next_hourly = 0.0
    while True:
        await asyncio.sleep(every_s)
        hourly = time.monotonic() >= next_hourly
        if hourly:
            next_hourly = time.monotonic() + HOUR_S
        await maintain_history(pool, history, utc_offset_min, hourly)
