"""``alerts_daily``: alerts and answer times per area and local day, refreshed on a short schedule.

Alerts change after they are written (acknowledged, on scene, closed), and every change appends to
``alert_audit``. :func:`refresh_alerts_daily` reads the audit rows added since its last run (with an
overlap of :data:`OVERLAP` ids, for transactions that took an id earlier and committed later), and
recomputes the (day, area) rows of the alerts they touched from the ``alerts`` table: a handful of
rows per run, whatever the age of the alert (an alert acknowledged days late corrects its own day).

The same on plain PostgreSQL and TimescaleDB: ``alerts`` is an ordinary table, not a hypertable, so
there is no continuous aggregate to build over it.
"""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from alerting.model import ANSWER_DEADLINES_S

OVERLAP = 10_000
"""Audit ids read again on every run: a recompute is idempotent, a missed change is not."""

LOCAL_DAY = "((ringing_at AT TIME ZONE 'UTC') + make_interval(mins => %(offset)s))::date"

_REFRESH = f"""
WITH touched AS (
    SELECT DISTINCT {LOCAL_DAY} AS day, COALESCE(a.org_path, '/') AS org_path
    FROM alert_audit au JOIN alerts a ON a.id = au.alert_id
    WHERE au.id > %(after)s AND a.ringing_at IS NOT NULL
), figures AS (
    SELECT t.day, t.org_path, EXTRACT(EPOCH FROM a.acknowledged_at - a.ringing_at)::float8 AS answer_s,
           EXTRACT(EPOCH FROM a.on_scene_at - a.ringing_at)::float8 AS scene_s
    FROM touched t JOIN alerts a
      ON a.ringing_at >= (t.day - make_interval(mins => %(offset)s)) AT TIME ZONE 'UTC'
     AND a.ringing_at < (t.day + 1 - make_interval(mins => %(offset)s)) AT TIME ZONE 'UTC'
     AND COALESCE(a.org_path, '/') = t.org_path
)
INSERT INTO alerts_daily (day, org_path, alerts, answered, within_60s, within_180s, answer_s, scene_s)
SELECT day, org_path, count(*), count(answer_s), count(*) FILTER (WHERE answer_s <= %(d1)s),
       count(*) FILTER (WHERE answer_s <= %(d2)s), array_agg(answer_s), array_agg(scene_s)
FROM figures GROUP BY day, org_path ORDER BY day, org_path
ON CONFLICT (day, org_path) DO UPDATE SET
    alerts = EXCLUDED.alerts, answered = EXCLUDED.answered, within_60s = EXCLUDED.within_60s,
    within_180s = EXCLUDED.within_180s, answer_s = EXCLUDED.answer_s, scene_s = EXCLUDED.scene_s
"""


async def refresh_alerts_daily(pool: AsyncConnectionPool, utc_offset_min: int) -> int:
    """Recompute the (day, area) rows of alerts changed since the last run; returns the rows written."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("INSERT INTO rollup_positions VALUES ('alerts_daily', 0) ON CONFLICT DO NOTHING")
        cursor = await conn.execute(
            "SELECT position FROM rollup_positions WHERE name = 'alerts_daily' FOR UPDATE"
        )  # one refresh at a time
        position = int((await cursor.fetchone())["position"])  # type: ignore[index,call-overload]
        cursor = await conn.execute("SELECT COALESCE(max(id), 0) AS last FROM alert_audit")
        last = int((await cursor.fetchone())["last"])  # type: ignore[index,call-overload]
        if last == position:
            return 0
        params = {
            "after": max(0, position - OVERLAP) if position else 0,
            "offset": utc_offset_min,
            "d1": ANSWER_DEADLINES_S[0],
            "d2": ANSWER_DEADLINES_S[1],
        }
        cursor = await conn.execute(_REFRESH, params)  # type: ignore[arg-type]
        await conn.execute("UPDATE rollup_positions SET position = %s WHERE name = 'alerts_daily'", (last,))
        return cursor.rowcount
