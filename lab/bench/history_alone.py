"""``python -m lab.bench.history_alone``: the log's history writer in a process of its own.

In a deployment every ``eldercare worker`` also runs the history writer
(:class:`partitions.history.HistoryFromLog`), so a worker's CPU holds both. ``eldercare bench
scaling`` runs this once after its windows, with the workers stopped and the durable ``history``
consumer deleted, so the same class writes the whole log again (into the bench's throwaway
database) and its CPU per event is measured alone. Settings as for ``eldercare worker``.
"""

from __future__ import annotations

from alerting import EventHistory
from eldercare.cluster import open_log, until_terminated
from eldercare.db import open_pool
from eldercare.settings import get_settings
from partitions.history import HistoryFromLog


async def write_history() -> None:
    settings = get_settings()
    assert settings.database_url and settings.nats_url, "ELDERCARE_DATABASE_URL and ELDERCARE_NATS_URL"
    pool = await open_pool(settings.database_url)
    try:
        history = EventHistory(pool)
        await history.ensure_schema()
        nc, js, _ = await open_log(settings, settings.nats_url, "eldercare-bench-history")
        try:
            await HistoryFromLog(js, history).run()
        finally:
            await nc.drain()
    finally:
        await pool.close()


if __name__ == "__main__":  # pragma: no cover - subprocess entry point
    until_terminated(write_history())
