"""Signed one-tap links for responders and families: no login, one alert, one person, a time limit.

A token is ``base64url(json claims) "." base64url(HMAC-SHA256(key, claims))``. The key is generated
once and kept in alerting's own table, so links sent before a restart still work after it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from alerting.model import InvalidLink


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class LinkClaims:
    alert_id: str
    audience: str  # "family" or "responder"
    subject: str  # the contact ("<resident>:<position>") or the responder's username
    expires: int  # epoch seconds
    extra: dict[str, Any]


class LinkSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    async def load(cls, pool: AsyncConnectionPool, name: str = "links") -> LinkSigner:
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO alerting_keys (name, key) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                (name, secrets.token_urlsafe(32)),
            )
            cursor = await conn.execute("SELECT key FROM alerting_keys WHERE name = %s", (name,))
            row = await cursor.fetchone()
        return cls(str(row["key"]).encode())  # type: ignore[index,call-overload]

    def sign(self, alert_id: str, audience: str, subject: str, expires: datetime, **extra: Any) -> str:
        claims = {"a": alert_id, "u": audience, "s": subject, "x": int(expires.timestamp()), **extra}
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(body)}"

    def verify(self, token: str, audience: str, now: datetime) -> LinkClaims:
        body, _, mac = token.partition(".")
        # compare_digest refuses non-ASCII str (TypeError): a pasted, mangled link is just not valid
        if not body or not mac or not token.isascii() or not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidLink("this link is not valid")
        try:
            claims = json.loads(_unb64(body))
            expires = claims.get("x", 0)
            if not isinstance(expires, int) or not isinstance(claims.get("a"), str):
                raise ValueError("claims")
        except (ValueError, AttributeError):
            raise InvalidLink("this link is not valid") from None
        if claims.get("u") != audience:
            raise InvalidLink("this link is for someone else")
        if expires < now.timestamp():
            raise InvalidLink("this link has expired")
        extra = {k: v for k, v in claims.items() if k not in ("a", "u", "s", "x")}
        return LinkClaims(str(claims["a"]), audience, str(claims["s"]), int(claims["x"]), extra)

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:20])
