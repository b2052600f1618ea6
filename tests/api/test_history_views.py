"""The console's timeline and overview read the activity aggregate, not the raw events: they answer
the same after the raw rows are gone (as after retention), in the same shape as before."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from devices.events import Event, Stream
from tests.harness import running_platform
from tests.services import TestServices


async def test_timeline_and_overview_are_served_from_the_aggregates(services: TestServices) -> None:
    async with running_platform(services, residents=2) as harness:
        platform = harness.platform
        now_ms = int(time.time() * 1000)
        hour = 3_600_000
        events = [
            Event("door-1", "res-1", Stream.CONTACT, now_ms - 2 * hour, now_ms - 2 * hour, {"open": True}),
            Event("door-1", "res-1", Stream.CONTACT, now_ms - 2 * hour + 60_000, now_ms - 2 * hour + 60_000, {}),
            Event("btn-1", "res-1", Stream.STATUS, now_ms - 1000, now_ms - 1000, {"online": True, "battery": 80}),
            Event("door-1", "res-1", Stream.CONTACT, now_ms - 1000, now_ms - 1000, {"open": False}),
            Event("door-1", "res-1", Stream.CONTACT, now_ms - 30 * hour, now_ms - 30 * hour, {"open": True}),
        ]
        await platform.history.append(events)
        async with platform.pool.connection() as conn:
            await conn.execute("TRUNCATE events")  # the raw rows gone; the aggregates stay

        async with harness.http() as client:
            response = await client.get("/api/v1/console/residents/res-1/activity", params={"hours": 24})
            assert response.status_code == 200, response.text
            body = response.json()
            assert set(body) == {"from", "to", "events"}
            rows = body["events"]
            assert all(set(row) == {"at", "device_id", "stream", "room", "payload"} for row in rows)
            assert [(r["device_id"], r["stream"], r["room"]) for r in rows] == [("door-1", "contact", "hall")] * len(
                rows
            )
            assert sum(r["payload"]["events"] for r in rows) == 3  # the 30-hour-old one is outside 24 h
            ats = [datetime.fromisoformat(r["at"]) for r in rows]
            assert ats == sorted(ats, reverse=True)
            assert ats[0] == datetime.fromtimestamp((now_ms - 1000) / 1000, UTC)

            overview = await client.get("/api/v1/console/overview", params={"tz_offset_min": 0})
            assert overview.status_code == 200, overview.text
            quiet = [r["resident_id"] for r in overview.json()["residents"]["no_activity_today"]]
            assert "res-1" not in quiet and "res-2" in quiet

            none = await client.get("/api/v1/console/residents/res-2/activity", params={"hours": 1})
            assert none.json()["events"] == []
            assert datetime.fromisoformat(none.json()["from"]) < datetime.now(UTC) - timedelta(minutes=59)


async def test_the_platform_maintains_the_history(services: TestServices) -> None:
    """What the platform runs on its schedule: the alert rollup refreshed, partitions made ahead."""
    async with running_platform(services, residents=1) as harness:
        platform = harness.platform
        now = datetime.now(UTC)
        last = f"events_{now.year + (now.month + 1) // 12}_{(now.month + 1) % 12 + 1:02d}"  # two months ahead
        async with platform.pool.connection() as conn:
            await conn.execute(f"DROP TABLE {last}")  # type: ignore[arg-type]
            cursor = await conn.execute("SELECT count(*) AS n FROM rollup_positions")
            assert (await cursor.fetchone())["n"] == 0  # type: ignore[index,call-overload]
        await platform.maintain_history()
        async with platform.pool.connection() as conn:
            cursor = await conn.execute("SELECT position FROM rollup_positions WHERE name = 'alerts_daily'")
            assert await cursor.fetchone() is not None
            cursor = await conn.execute("SELECT to_regclass(%s) IS NOT NULL AS made", (last,))
            assert (await cursor.fetchone())["made"]  # type: ignore[index,call-overload]
