"""The registry's audit log: every read of a resident record and every change, who and when.

Append-only (a trigger refuses updates and deletes). Each entry carries the org path of the object
it concerns, so administrators query the entries of their own area.
"""

from __future__ import annotations

from typing import Any, Protocol

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from registry.area import Area
from registry.rows import page


class Actor(Protocol):
    """Who did it (``registry.users.User`` fits)."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...


async def write_audit(
    conn: AsyncConnection[Any],
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: str,
    org_path: str,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO registry_audit (actor, actor_role, action, object_type, object_id, org_path, details)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            actor.username if actor else "system",
            actor.role if actor else "system",
            action,
            object_type,
            object_id,
            org_path,
            Jsonb(details or {}),
        ),
    )


async def query_audit(
    pool: AsyncConnectionPool,
    area: Area,
    limit: int,
    offset: int,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Audit entries about objects in ``area``, newest first."""
    condition, params = area.where("org_path", None)
    sql = f"SELECT *, count(*) OVER () AS total FROM registry_audit WHERE {condition}"
    for column, value in (("actor", actor), ("action", action), ("object_type", object_type), ("object_id", object_id)):
        if value is not None:
            sql += f" AND {column} = %s"
            params.append(value)
    sql += " ORDER BY id DESC LIMIT %s OFFSET %s"
    return await page(pool, sql, [*params, limit, offset])
