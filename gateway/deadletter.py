"""Dead letters: messages the gateway could not handle through no fault of the device, kept with their bytes.

The gateway puts a letter in a bounded in-memory buffer (never waiting, counting what overflows);
the platform writes the buffer to PostgreSQL in batches (:class:`DeadLetterStore`), and admins list
it over the API. A dead letter is acknowledged to the broker, so it is not redelivered forever.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("eldercare.gateway")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    received_at: datetime
    lane: str
    topic: str
    device_id: str | None
    reason: str
    error: str
    payload: bytes


class DeadLetterBuffer:
    """At most ``capacity`` letters waiting to be stored; beyond that new letters are counted as dropped."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.total = 0
        self.dropped = 0
        self._letters: deque[DeadLetter] = deque()

    def __len__(self) -> int:
        return len(self._letters)

    def put(self, letter: DeadLetter) -> None:
        self.total += 1
        if len(self._letters) >= self.capacity:
            self.dropped += 1
            return
        self._letters.append(letter)

    def take(self, limit: int) -> list[DeadLetter]:
        return [self._letters.popleft() for _ in range(min(limit, len(self._letters)))]

    def put_back(self, letters: list[DeadLetter]) -> None:
        """Return letters a failed write took (to the front, oldest first), within the capacity."""
        room = max(0, self.capacity - len(self._letters))
        self.dropped += max(0, len(letters) - room)
        self._letters.extendleft(reversed(letters[:room]))


class DeadLetterStore:
    """The ``dead_letters`` table (migrations in ``gateway/migrations``)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def write(self, letters: list[DeadLetter]) -> int:
        """Store ``letters``; returns how many the database refused as data (logged, not retried).

        A letter the database cannot take must not block the ones behind it; an unreachable database
        raises, and the caller keeps the letters for the next round.
        """
        try:
            await self._insert(letters)
            return 0
        except (psycopg.DataError, psycopg.IntegrityError):
            if len(letters) == 1:
                log.exception("a dead letter could not be stored", extra={"topic": letters[0].topic[:200]})
                return 1
        refused = 0
        for letter in letters:
            refused += await self.write([letter])
        return refused

    async def _insert(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        async with self.pool.connection() as conn, conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO dead_letters (received_at, lane, topic, device_id, reason, error, payload)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        d.received_at,
                        _text(d.lane),
                        _text(d.topic),
                        d.device_id and _text(d.device_id),
                        _text(d.reason),
                        _text(d.error),
                        d.payload,
                    )
                    for d in letters
                ],
            )

    async def recent(self, limit: int = 100, before_id: int | None = None) -> list[dict[str, Any]]:
        """Newest first; ``before_id`` pages back."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, received_at, stored_at, lane, topic, device_id, reason, error, payload"
                " FROM dead_letters WHERE (%(before)s::bigint IS NULL OR id < %(before)s)"
                " ORDER BY id DESC LIMIT %(limit)s",
                {"before": before_id, "limit": limit},
            )
            return [dict(row) for row in await cursor.fetchall()]  # type: ignore[call-overload]


def _text(value: str) -> str:
    """PostgreSQL text holds neither NUL nor lone surrogates, and an exception's message may quote either."""
    return value.replace("\x00", "\ufffd").encode("utf-8", errors="replace").decode("utf-8")
