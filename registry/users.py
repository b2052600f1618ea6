"""Platform users (operators, administrators, responders, families) and their passwords."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg_pool import AsyncConnectionPool

from registry.area import Area
from registry.errors import Conflict, Invalid, NotFound, OutOfScope

ROLES = ("admin", "supervisor", "operator", "responder", "family")
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
_PUBLIC = "username, role, org_node, org_path, resident_id, display_name, active, created_at"


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: str
    org_node: str | None = None
    resident_id: str | None = None


class Users:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def count(self) -> int:
        async with self.pool.connection() as conn:
            cursor = await conn.execute("SELECT count(*) AS n FROM users")
            row = await cursor.fetchone()
        return int(row["n"])  # type: ignore[index,call-overload]

    async def add(
        self,
        username: str,
        password: str,
        role: str,
        org_node: str | None = None,
        resident_id: str | None = None,
    ) -> User:
        """Create or reset a user (bootstrap and tests; the API uses :meth:`create`)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        if len(password) < 8:
            raise ValueError("a password needs at least 8 characters")
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO users (username, password_hash, role, org_node, resident_id)"
                " VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
                " role = EXCLUDED.role, org_node = EXCLUDED.org_node, resident_id = EXCLUDED.resident_id,"
                " active = true",
                (username, _hasher.hash(password), role, org_node, resident_id),
            )
        return User(username, role, org_node, resident_id)

    async def get(self, username: str) -> User | None:
        """An active user as they are now (role and node may have changed since their token)."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT username, role, org_node, resident_id FROM users WHERE username = %s AND active",
                (username,),
            )
            row = await cursor.fetchone()
        return User(**row) if row else None  # type: ignore[arg-type]

    async def authenticate(self, username: str, password: str) -> User | None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT username, role, org_node, resident_id, password_hash, active FROM users WHERE username = %s",
                (username,),
            )
            row = await cursor.fetchone()
        stored = row.pop("password_hash") if row else _DUMMY_HASH  # type: ignore[union-attr,attr-defined]
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if not row or not row.pop("active"):  # type: ignore[attr-defined]
            return None
        return User(**row)  # type: ignore[arg-type]

    # -- administration, within the administrator's area --

    async def _check_placement(
        self, conn: psycopg.AsyncConnection[Any], role: str, org_node: str | None, resident_id: str | None, area: Area
    ) -> None:
        if role == "family":
            if not resident_id or org_node is not None:
                raise Invalid("a family account is linked to one resident and no org node")
            condition, params = area.where("org_path", "id")
            cursor = await conn.execute(
                f"SELECT 1 FROM residents WHERE id = %s AND {condition}", (resident_id, *params)
            )
            if await cursor.fetchone() is None:
                raise Invalid(f"no resident {resident_id!r} in your area")
            return
        if resident_id is not None:
            raise Invalid(f"a {role} account is not linked to a resident")
        if org_node is None:
            if role == "admin" and area.is_root:
                return
            raise Invalid(f"a {role} account needs an org node")
        cursor = await conn.execute("SELECT path FROM org_nodes WHERE code = %s", (org_node,))
        row = await cursor.fetchone()
        if row is None:
            raise Invalid(f"org node {org_node!r} does not exist")
        if not area.covers(row["path"]):  # type: ignore[call-overload]
            raise OutOfScope(f"org node {org_node!r} is outside your area")

    async def create(self, data: dict[str, Any], area: Area, actor: User) -> dict[str, Any]:
        from registry.audit import write_audit

        async with self.pool.connection() as conn, conn.transaction():
            await self._check_placement(conn, data["role"], data.get("org_node"), data.get("resident_id"), area)
            try:
                cursor = await conn.execute(
                    "INSERT INTO users (username, password_hash, role, org_node, resident_id, display_name)"
                    f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_PUBLIC}",
                    (
                        data["username"],
                        _hasher.hash(data["password"]),
                        data["role"],
                        data.get("org_node"),
                        data.get("resident_id"),
                        data.get("display_name", ""),
                    ),
                )
            except psycopg.errors.UniqueViolation:
                raise Conflict(f"user {data['username']!r} already exists") from None
            row: dict[str, Any] = await cursor.fetchone()  # type: ignore[assignment]
            await write_audit(conn, actor, "create", "user", row["username"], row["org_path"], {"role": row["role"]})
        return row

    async def audit_log(
        self, area: Area, limit: int, offset: int, **filters: str | None
    ) -> tuple[list[dict[str, Any]], int]:
        """The registry's audit entries about objects in ``area``, newest first (see ``query_audit``)."""
        from registry.audit import query_audit

        return await query_audit(self.pool, area, limit, offset, **filters)

    async def list(
        self, area: Area, limit: int, offset: int, role: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        condition, params = area.where("org_path", None)
        sql = f"SELECT {_PUBLIC}, count(*) OVER () AS total FROM users WHERE {condition}"
        if role:
            sql += " AND role = %s"
            params.append(role)
        sql += " ORDER BY org_path, username LIMIT %s OFFSET %s"
        async with self.pool.connection() as conn:
            rows: list[dict[str, Any]] = await (await conn.execute(sql, [*params, limit, offset])).fetchall()  # type: ignore[arg-type,assignment]
        total = int(rows[0]["total"]) if rows else 0
        for row in rows:
            row.pop("total")
        return rows, total

    async def get_public(self, username: str, area: Area) -> dict[str, Any]:
        condition, params = area.where("org_path", None)
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_PUBLIC} FROM users WHERE username = %s AND {condition}", (username, *params)
            )
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no user {username!r} in your area")
        return row  # type: ignore[return-value]

    async def profile(self, username: str) -> dict[str, Any]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(f"SELECT {_PUBLIC} FROM users WHERE username = %s", (username,))
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no user {username!r}")
        return row  # type: ignore[return-value]

    async def update(self, username: str, changes: dict[str, Any], area: Area, actor: User) -> dict[str, Any]:
        from registry.audit import write_audit

        if username == actor.username and (
            {"role", "org_node", "resident_id"} & set(changes) or changes.get("active") is False
        ):
            raise Conflict("you cannot change your own role, area or deactivate yourself")
        current = await self.get_public(username, area)
        async with self.pool.connection() as conn, conn.transaction():
            role = changes.get("role") or current["role"]
            org_node = changes["org_node"] if "org_node" in changes else current["org_node"]
            resident_id = changes["resident_id"] if "resident_id" in changes else current["resident_id"]
            if role == "family" and "org_node" not in changes:
                org_node = None
            if role != "family" and "resident_id" not in changes:
                resident_id = None
            await self._check_placement(conn, role, org_node, resident_id, area)
            sets = ["role = %s", "org_node = %s", "resident_id = %s"]
            values: list[Any] = [role, org_node, resident_id]
            if changes.get("password"):
                sets.append("password_hash = %s")
                values.append(_hasher.hash(changes["password"]))
            for name in ("display_name", "active"):
                if changes.get(name) is not None:
                    sets.append(f"{name} = %s")
                    values.append(changes[name])
            cursor = await conn.execute(
                f"UPDATE users SET {', '.join(sets)} WHERE username = %s RETURNING {_PUBLIC}", (*values, username)
            )
            row: dict[str, Any] = await cursor.fetchone()  # type: ignore[assignment]
            fields = sorted(key for key in changes if key != "password") + (
                ["password"] if changes.get("password") else []
            )
            await write_audit(conn, actor, "update", "user", username, row["org_path"], {"fields": fields})
        return row
