"""Migration 006 (a resident's usual wake-up and bed times): applied again it changes nothing, and the
database refuses a time that is not ``HH:MM`` whatever path the row takes."""

from __future__ import annotations

import psycopg
import pytest

from registry.area import Area
from registry.store import Registry
from registry.users import User
from tests.registry.migrations import apply_again

MIGRATION = "006_resident_routine.sql"
ROOT = User("admin", "admin")


async def test_the_migration_applied_twice_is_harmless(city_registry: Registry) -> None:
    registry = city_registry
    resident = await registry.create_resident(
        {"name": "王秀英", "org_node": "410100", "usual_wake": "07:30", "usual_bed": "22:00"}, Area(), ROOT
    )
    await apply_again(registry, MIGRATION)  # by hand, then by the migrator
    async with registry.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'residents'::regclass AND conname LIKE %s"
            " ORDER BY conname",
            ("residents_usual_%",),
        )
        assert [row["conname"] for row in await cursor.fetchall()] == [
            "residents_usual_bed_check",
            "residents_usual_wake_check",
        ]
        cursor = await conn.execute("SELECT usual_wake, usual_bed FROM residents WHERE id = %s", (resident["id"],))
        assert await cursor.fetchone() == {"usual_wake": "07:30", "usual_bed": "22:00"}
        for column, bad in (("usual_wake", "7:30"), ("usual_bed", "24:00"), ("usual_wake", "07:30\n")):
            with pytest.raises(psycopg.errors.CheckViolation):
                async with conn.transaction():
                    await conn.execute(f"UPDATE residents SET {column} = %s WHERE id = %s", (bad, resident["id"]))
    fresh = Registry(registry.pool)
    await fresh.load()
    assert fresh.routine_of(resident["id"]) == (450, 1320)
