"""Migration 007 (a resident's night-exit watch): applied again it changes nothing, and the database
refuses a watch that is not ``HH:MM-HH:MM`` with two different times, whatever path the row takes."""

from __future__ import annotations

import psycopg
import pytest

from registry.area import Area
from registry.store import Registry
from registry.users import User
from tests.registry.migrations import apply_again

MIGRATION = "007_night_exit_watch.sql"
ROOT = User("admin", "admin")


async def test_the_migration_applied_twice_is_harmless_and_the_database_refuses_a_bad_watch(
    city_registry: Registry,
) -> None:
    registry = city_registry
    resident = await registry.create_resident(
        {"name": "孙玉兰", "org_node": "410100", "night_exit_watch": "22:00-06:00"}, Area(), ROOT
    )
    await apply_again(registry, MIGRATION)  # by hand, then by the migrator
    async with registry.pool.connection() as conn:
        cursor = await conn.execute("SELECT night_exit_watch FROM residents WHERE id = %s", (resident["id"],))
        assert await cursor.fetchone() == {"night_exit_watch": "22:00-06:00"}
        for bad in ("22:00-22:00", "22:00", "22:00-24:00", "22:00-06:00\n", "22:00 - 06:00"):
            with pytest.raises(psycopg.errors.CheckViolation):
                async with conn.transaction():
                    await conn.execute(
                        "UPDATE residents SET night_exit_watch = %s WHERE id = %s", (bad, resident["id"])
                    )
    fresh = Registry(registry.pool)
    await fresh.load()
    assert fresh.night_watch_of(resident["id"]) == (1320, 360)
