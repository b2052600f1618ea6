"""``eldercare bench history``'s writer on a small city: two writers over their own residents lose and
double nothing, and the platform's retention drops old raw months while the aggregates keep every day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from alerting.history import EventHistory, HistoryConfig
from eldercare.db import migrate, open_pool
from lab.bench.history import OFFSET_MIN, Workload, raw_days_held, site_settings, write
from lab.harness import throwaway_database
from tests.services import TestServices

RAW_DAYS = 35


async def test_two_writers_and_retention_as_the_days_pass(services: TestServices) -> None:
    async with throwaway_database(services.database_url) as url:
        pool = await open_pool(url, min_size=1, max_size=4)
        try:
            await migrate(pool, "alerting")
            history = EventHistory(pool, HistoryConfig(raw_days=RAW_DAYS, utc_offset_min=OFFSET_MIN))
            await history.ensure_schema()
            work = Workload(12, 75, activity=6, status=1, batch=100, seed=3, raw_days=RAW_DAYS, writers=2)
            written = await write(history, pool, work)
            async with pool.connection() as conn:

                async def one(query: str) -> dict[str, Any]:
                    row = await (await conn.execute(query)).fetchone()
                    assert row is not None
                    return cast(dict[str, Any], row)

                aggregated = await one("SELECT sum(messages) AS n FROM device_daily")
                raw = await one("SELECT count(*) AS n, min(received_at) AS oldest FROM events")
                first_hour = await one("SELECT min(bucket) AS at FROM activity_hourly")
            now = datetime.now(UTC)
            first_day = datetime.fromisoformat(written["first_day"])
            held = await raw_days_held(pool, first_day, now)
        finally:
            await pool.close()
    assert written["writers"] == 2 and written["rows"] > 12 * 75 * 6
    assert aggregated["n"] == written["rows"]  # every event, old raw days included
    assert written["raw_partitions_dropped"], "75 days with 35 kept must drop at least one month"
    assert 0 < raw["n"] < written["rows"]
    assert raw["oldest"] > now - timedelta(days=RAW_DAYS + 31)  # whole months go, never a month too many
    assert RAW_DAYS <= held <= RAW_DAYS + 31
    # the aggregates keep the first simulated day, whose raw events are gone (whatever the time of day)
    assert first_hour["at"] < min(first_day + timedelta(days=1), raw["oldest"])


def test_the_site_settings_file_reads_as_name_value_pairs() -> None:
    settings = site_settings()
    assert settings["synchronous_commit"] == "on"  # alarms are acknowledged only once stored
    assert {"shared_buffers", "max_wal_size", "wal_compression"} <= settings.keys()
    assert all("#" not in value and value for value in settings.values())
