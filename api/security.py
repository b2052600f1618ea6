"""Access tokens (short-lived JWTs) and login throttling."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

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
            "gen": user.token_generation,
            "iat": now,
            "exp": now + self.ttl_s,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> User:
        """The token's user; raises :class:`jwt.InvalidTokenError` (expired, forged, malformed).

        The user's ``token_generation`` is the one the token was issued under; the caller compares it
        with the account's current one (a password change, reset or deactivation moves it on)."""
        claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
        generation = claims.get("gen", 0)
        if not isinstance(generation, int) or isinstance(generation, bool):
            raise jwt.InvalidTokenError("bad token generation")
        return User(
            username=str(claims["sub"]),
            role=str(claims.get("role", "")),
            org_node=claims.get("org"),
            resident_id=claims.get("resident"),
            token_generation=generation,
        )


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)

    def recent(self, now: float, window_s: float) -> int:
        while self.times and now - self.times[0] > window_s:
            self.times.popleft()
        return len(self.times)


class LoginThrottle:
    """Slows password guessing without letting anyone lock a real user out.

    * **Per (username, address) pair**: the first ``free_attempts`` failures cost nothing; each
      further failure doubles the wait before the next try from that address for that name
      (1 s, 2 s, 4 s … at most ``max_delay_s``). A success from that address clears the pair.
      The same user on another address is not slowed at all: nobody can lock ``admin`` out.
    * **Per address**: ``address_limit`` failures (any usernames) per ``window_s`` before that
      address waits; generous, so a call centre behind one NAT address is not stopped by a few
      typos, and *not* cleared by a success on some other account (an attacker's own account must
      not reset the count of their guesses).
    * Failures are forgotten ``window_s`` after they happened. Nothing locks a user everywhere.
    """

    def __init__(
        self,
        free_attempts: int = 5,
        max_delay_s: float = 300.0,
        address_limit: int = 100,
        window_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self.free_attempts = free_attempts
        self.max_delay_s = max_delay_s
        self.address_limit = address_limit
        self.window_s = window_s
        self.clock = clock
        self.max_entries = max_entries
        self._pairs: dict[tuple[str, str], _Failures] = {}
        self._addresses: dict[str, _Failures] = {}

    def pair_delay_s(self, failures: int) -> float:
        """Wait after ``failures`` recent failures of one pair: 0, then 1 s doubling to the cap."""
        beyond = failures - self.free_attempts
        return 0.0 if beyond < 0 else min(self.max_delay_s, math.ldexp(1.0, beyond))

    def retry_after(self, username: str, address: str) -> float:
        """Seconds this address must wait before trying ``username`` again (0: go ahead)."""
        now = self.clock()
        wait = 0.0
        pair = self._pairs.get((username.lower(), address))
        if pair is not None and pair.recent(now, self.window_s):
            wait = max(wait, pair.times[-1] + self.pair_delay_s(len(pair.times)) - now)
        per_address = self._addresses.get(address)
        if per_address is not None and per_address.recent(now, self.window_s) >= self.address_limit:
            wait = max(wait, per_address.times[0] + self.window_s - now)
        return max(0.0, wait)

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        if len(self._pairs) + len(self._addresses) >= self.max_entries:
            self._forget_old(now)
        self._pairs.setdefault((username.lower(), address), _Failures()).times.append(now)
        self._addresses.setdefault(address, _Failures()).times.append(now)

    def succeeded(self, username: str, address: str) -> None:
        """The right password from this address: its guesses at this name are forgiven (only those)."""
        self._pairs.pop((username.lower(), address), None)

    def _forget_old(self, now: float) -> None:
        for pair in [k for k, f in self._pairs.items() if not f.recent(now, self.window_s)]:
            del self._pairs[pair]
        for address in [k for k, f in self._addresses.items() if not f.recent(now, self.window_s)]:
            del self._addresses[address]
