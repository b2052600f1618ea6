"""The dead-letter buffer and table (real PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from eldercare.db import migrate, open_pool
from gateway.deadletter import DeadLetter, DeadLetterBuffer, DeadLetterStore
from tests.services import TestServices


def letter(n: int, error: str = "RuntimeError: x") -> DeadLetter:
    return DeadLetter(
        datetime.now(UTC), "telemetry", f"p/dev-{n}/imu", f"dev-{n}", "internal_error", error, b"\x00\xff"
    )


def test_the_buffer_never_grows_past_its_capacity_and_counts_what_it_drops() -> None:
    buffer = DeadLetterBuffer(capacity=3)
    for n in range(5):
        buffer.put(letter(n))
    assert (len(buffer), buffer.total, buffer.dropped) == (3, 5, 2)
    taken = buffer.take(2)
    buffer.put(letter(9))
    buffer.put_back(taken)  # a failed write returns them; only one fits
    assert (len(buffer), buffer.dropped) == (3, 3)
    assert [d.device_id for d in buffer.take(10)] == ["dev-0", "dev-2", "dev-9"]


async def test_letters_are_stored_with_their_bytes_even_when_the_error_quotes_a_nul(services: TestServices) -> None:
    pool = await open_pool(await services.create_database(), min_size=1, max_size=2)
    try:
        await migrate(pool, "gateway")
        store = DeadLetterStore(pool)
        assert await store.write([letter(1), letter(2, "KeyError: '\x00acc'"), letter(3, "bad \ud800")]) == 0
        rows = await store.recent(10)
        assert [row["device_id"] for row in rows] == ["dev-3", "dev-2", "dev-1"]
        rows = rows[1:]
        assert rows[0]["error"] == "KeyError: '\ufffdacc'" and bytes(rows[0]["payload"]) == b"\x00\xff"
        assert [row["device_id"] for row in await store.recent(10, before_id=rows[0]["id"])] == ["dev-1"]
        # A row the database refuses (here by a constraint added for the test) does not block the others.
        async with pool.connection() as conn:
            await conn.execute("ALTER TABLE dead_letters ADD CONSTRAINT no_dev_4 CHECK (device_id <> 'dev-4')")
        assert await store.write([letter(5), letter(4), letter(6)]) == 1
        assert [row["device_id"] for row in await store.recent(2)] == ["dev-6", "dev-5"]
    finally:
        await pool.close()
