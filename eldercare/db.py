"""PostgreSQL plumbing shared by the packages that own tables: a pool and a migration runner.

Each owner (``registry``, ``alerting``) ships numbered SQL files in its ``migrations/`` folder;
:func:`migrate` applies the new ones in order, once, under an advisory lock.
"""

from __future__ import annotations

import logging
import re
from importlib import resources

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from registry.rows import connection

log = logging.getLogger("eldercare.db")
_MIGRATION = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_ID = 0x456C6465  # "Elde"


async def open_pool(url: str, min_size: int = 2, max_size: int = 8) -> AsyncConnectionPool:
    """An open pool whose first connection has been made: a bad URL fails here, at start."""
    pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False, kwargs={"row_factory": dict_row})
    await pool.open(wait=True, timeout=15)
    return pool


async def migrate(pool: AsyncConnectionPool, component: str) -> list[str]:
    """Apply ``<component>/migrations/NNN_name.sql`` files not yet applied; return their names."""
    files = sorted(
        entry.name
        for entry in resources.files(component).joinpath("migrations").iterdir()
        if _MIGRATION.match(entry.name)
    )
    applied: list[str] = []
    async with connection(pool) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " component text NOT NULL, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, name))"
        )
        cursor = await conn.execute("SELECT name FROM schema_migrations WHERE component = %s", (component,))
        done = {row["name"] for row in await cursor.fetchall()}
        for name in files:
            if name in done:
                continue
            sql = resources.files(component).joinpath("migrations", name).read_text(encoding="utf-8")
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (component, name) VALUES (%s, %s)", (component, name))
            applied.append(name)
            log.info("migration applied", extra={"component": component, "migration": name})
    return applied
