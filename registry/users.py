"""Platform users (operators, administrators, responders, families) and their passwords."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg_pool import AsyncConnectionPool

ROLES = ("admin", "supervisor", "operator", "responder", "family")
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


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
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        if len(password) < 8:
            raise ValueError("a password needs at least 8 characters")
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO users (username, password_hash, role, org_node, resident_id)"
                " VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
                " role = EXCLUDED.role, org_node = EXCLUDED.org_node, resident_id = EXCLUDED.resident_id",
                (username, _hasher.hash(password), role, org_node, resident_id),
            )
        return User(username, role, org_node, resident_id)

    async def get(self, username: str) -> User | None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT username, role, org_node, resident_id FROM users WHERE username = %s", (username,)
            )
            row = await cursor.fetchone()
        return User(**row) if row else None  # type: ignore[arg-type]

    async def authenticate(self, username: str, password: str) -> User | None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT username, role, org_node, resident_id, password_hash FROM users WHERE username = %s",
                (username,),
            )
            row = await cursor.fetchone()
        stored = row.pop("password_hash") if row else _DUMMY_HASH  # type: ignore[union-attr]
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(**row) if row else None  # type: ignore[arg-type]
