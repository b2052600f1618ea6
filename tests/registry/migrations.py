"""Applying one of the registry's migrations again, by hand and by the migrator: it must change nothing."""

from __future__ import annotations

from importlib import resources

from eldercare.db import migrate
from registry.store import Registry


async def apply_again(registry: Registry, name: str) -> None:
    """Run migration ``name`` again by hand, then forget it was applied and let the migrator apply it."""
    sql = resources.files("registry").joinpath("migrations", name).read_text(encoding="utf-8")
    async with registry.pool.connection() as conn:
        await conn.execute(sql)
        await conn.execute("DELETE FROM schema_migrations WHERE component = 'registry' AND name = %s", (name,))
    assert await migrate(registry.pool, "registry") == [name]
    assert await migrate(registry.pool, "registry") == []
