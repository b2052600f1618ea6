"""Access tokens (short-lived JWTs) and login throttling."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass

import jwt

from registry.users import User

ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    secret: str
    ttl_s: int = 900

    def issue(self, user: User) -> str:
        now = int(time.time())
        claims = {
            "sub": user.username,
            "role": user.role,
            "org": user.org_node,
            "resident": user.resident_id,
            "iat": now,
            "exp": now + self.ttl_s,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> User:
        """The token's user; raises :class:`jwt.InvalidTokenError` (expired, forged, malformed)."""
        claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
        return User(
            username=str(claims["sub"]),
            role=str(claims.get("role", "")),
            org_node=claims.get("org"),
            resident_id=claims.get("resident"),
        )


class LoginThrottle:
    """At most ``attempts`` failed logins per username (and per client address) per ``window_s``."""

    def __init__(self, attempts: int = 5, window_s: float = 300.0) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, *keys: str) -> float:
        now = time.monotonic()
        wait = 0.0
        for key in keys:
            failures = self._failures.get(key)
            if not failures:
                continue
            while failures and now - failures[0] > self.window_s:
                failures.popleft()
            if len(failures) >= self.attempts:
                wait = max(wait, self.window_s - (now - failures[0]))
        return wait

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._failures[key].append(now)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
