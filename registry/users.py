"""Platform users (operators, administrators, responders, families) and their passwords."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from registry.area import Area
from registry.audit import query_audit, write_audit
from registry.errors import Conflict, Invalid, OutOfScope
from registry.roles import ROLES
from registry.rows import connection, found, only_row, page

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
_PUBLIC = "username, role, org_node, org_path, resident_id, display_name, active, created_at"
_SESSION = "username, role, org_node, resident_id, token_generation"

MIN_PASSWORD = 10
PASSPHRASE = 16
# The most used passwords that pass the length rule (from public breach lists), and the obvious local ones.
COMMON_PASSWORDS = frozenset(
    [
        "1234567890",
        "0123456789",
        "12345678910",
        "1234567891",
        "0987654321",
        "1111111111",
        "0000000000",
        "1122334455",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "qwerty12345",
        "qwerty123456",
        "asdfghjkl;",
        "password12",
        "password123",
        "password1234",
        "passw0rd123",
        "iloveyou12",
        "princess12",
        "football12",
        "baseball12",
        "abc1234567",
        "abcd123456",
        "a123456789",
        "aa12345678",
        "qwer123456",
        "q1w2e3r4t5",
        "zxcvbnm123",
        "1234qwerasdf",
        "welcome123",
        "letmein123",
        "admin12345",
        "admin123456",
        "administrator",
        "changeme123",
        "dragon1234",
        "monkey1234",
        "sunshine12",
        "woaini1314",
        "woaini520520",
        "5201314520",
        "1314520520",
        "a5201314",
        "iloveyou1314",
        "eldercare1",
        "eldercare123",
        "eldercare12349",
        "12349hotline",
        "hotline12349",
        "operator123",
        "supervisor1",
    ]
)


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` is too weak, or None.

    Policy: at least 10 characters; not one of the commonly used passwords; not the username
    (nor the username followed by digits, nor reversed); and at least two kinds of character (lower case, upper
    case, digits, others) unless it is a passphrase of 16 characters or more."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        return "this password is one of the most commonly used; choose another"
    name = username.lower()
    if name and (lowered == name or lowered.rstrip("0123456789!.") == name or lowered == name[::-1]):
        return "a password may not be the username"
    if len(set(password)) < 4:
        return "a password needs more than three different characters"
    kinds = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if kinds < 2 and len(password) < PASSPHRASE:
        return (
            f"a password under {PASSPHRASE} characters needs two kinds of character"
            " (letters and digits, or upper and lower case, or symbols)"
        )
    return None


def _verifies(stored: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: str
    org_node: str | None = None
    resident_id: str | None = None
    token_generation: int = 0
    """Tokens carry the generation they were issued under; a password change moves it on."""


class Users:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def count(self) -> int:
        async with connection(self.pool) as conn:
            row = await only_row(await conn.execute("SELECT count(*) AS n FROM users"))
        return int(row["n"])

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
        problem = password_problem(password, username)
        if problem:
            raise ValueError(problem)
        async with connection(self.pool) as conn:
            cursor = await conn.execute("SELECT password_hash FROM users WHERE username = %s", (username,))
            existing = await cursor.fetchone()
            # a restart with the same ELDERCARE_ADMIN keeps the admin's tokens; a reset revokes them
            reset = existing is not None and not _verifies(existing["password_hash"], password)
            cursor = await conn.execute(
                "INSERT INTO users (username, password_hash, role, org_node, resident_id)"
                " VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
                " role = EXCLUDED.role, org_node = EXCLUDED.org_node, resident_id = EXCLUDED.resident_id,"
                " active = true, token_generation = users.token_generation + %s"
                f" RETURNING {_SESSION}",
                (username, _hasher.hash(password), role, org_node, resident_id, int(reset)),
            )
            row = await only_row(cursor)
        return User(**row)

    async def get(self, username: str) -> User | None:
        """An active user as they are now (role and node may have changed since their token)."""
        async with connection(self.pool) as conn:
            cursor = await conn.execute(
                f"SELECT {_SESSION} FROM users WHERE username = %s AND active",
                (username,),
            )
            row = await cursor.fetchone()
        return User(**row) if row else None

    async def authenticate(self, username: str, password: str) -> User | None:
        row: DictRow | None = None
        if "\x00" not in username:  # PostgreSQL text cannot hold NUL: no such account (the dummy hash still runs)
            async with connection(self.pool) as conn:
                cursor = await conn.execute(
                    f"SELECT {_SESSION}, password_hash, active FROM users WHERE username = %s",
                    (username,),
                )
                row = await cursor.fetchone()
        stored = row.pop("password_hash") if row else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if not row or not row.pop("active"):
            return None
        return User(**row)

    # -- administration, within the administrator's area --

    async def _check_placement(
        self, conn: AsyncConnection[DictRow], role: str, org_node: str | None, resident_id: str | None, area: Area
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
        if not area.covers(row["path"]):
            raise OutOfScope(f"org node {org_node!r} is outside your area")

    async def create(self, data: dict[str, Any], area: Area, actor: User) -> dict[str, Any]:
        problem = password_problem(data["password"], data["username"])
        if problem:
            raise Invalid(problem)
        async with connection(self.pool) as conn, conn.transaction():
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
            row = await only_row(cursor)
            await write_audit(conn, actor, "create", "user", row["username"], row["org_path"], {"role": row["role"]})
        return row

    async def audit_log(
        self, area: Area, limit: int, offset: int, **filters: str | None
    ) -> tuple[list[dict[str, Any]], int]:
        """The registry's audit entries about objects in ``area``, newest first (see ``query_audit``)."""
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
        return await page(self.pool, sql, [*params, limit, offset])

    async def get_public(self, username: str, area: Area) -> dict[str, Any]:
        condition, params = area.where("org_path", None)
        async with connection(self.pool) as conn:
            cursor = await conn.execute(
                f"SELECT {_PUBLIC} FROM users WHERE username = %s AND {condition}", (username, *params)
            )
            return await found(cursor, f"no user {username!r} in your area")

    async def profile(self, username: str) -> dict[str, Any]:
        async with connection(self.pool) as conn:
            cursor = await conn.execute(f"SELECT {_PUBLIC} FROM users WHERE username = %s", (username,))
            return await found(cursor, f"no user {username!r}")

    async def update(self, username: str, changes: dict[str, Any], area: Area, actor: User) -> dict[str, Any]:
        if username == actor.username and (
            {"role", "org_node", "resident_id"} & set(changes) or changes.get("active") is False
        ):
            raise Conflict("you cannot change your own role, area or deactivate yourself")
        if changes.get("password"):
            problem = password_problem(changes["password"], username)
            if problem:
                raise Invalid(problem)
        current = await self.get_public(username, area)
        async with connection(self.pool) as conn, conn.transaction():
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
            if changes.get("password") or changes.get("active") is False:
                sets.append("token_generation = token_generation + 1")  # every earlier token is refused
            for name in ("display_name", "active"):
                if changes.get(name) is not None:
                    sets.append(f"{name} = %s")
                    values.append(changes[name])
            cursor = await conn.execute(
                f"UPDATE users SET {', '.join(sets)} WHERE username = %s RETURNING {_PUBLIC}", (*values, username)
            )
            row = await only_row(cursor)
            fields = sorted(key for key in changes if key != "password") + (
                ["password"] if changes.get("password") else []
            )
            await write_audit(conn, actor, "update", "user", username, row["org_path"], {"fields": fields})
        return row
