"""The answer-time SLA report: per area (the next org level down) and period.

Whole local days are read from the ``alerts_daily`` rollup (:mod:`alerting.alert_rollup`, one
element per alert, so percentiles stay exact); only the partial days at the ends of the range are
read from ``alerts`` itself.

An alert counts once it has rung at the console (``ringing_at``; a pending alert the resident
cancelled never rang). Answered within 60 s / 180 s is ``acknowledged_at - ringing_at``; an alert
still unanswered counts as not answered in time. Time to responder on scene is ``on_scene_at -
ringing_at``. Duplicates closed by an operator count as answered when they were closed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from alerting.model import ANSWER_DEADLINES_S, InvalidRequest
from devices.protocol import HOME_UTC_OFFSET_MIN
from registry.like import like_prefix
from registry.rows import connection

TARGETS = {"within_60s": 0.975, "within_180s": 0.99}
PERIODS = ("all", "day", "week", "month")


async def sla_report(
    pool: AsyncConnectionPool,
    start: datetime,
    end: datetime,
    area_path: str = "/",
    period: str = "all",
    utc_offset_min: int = HOME_UTC_OFFSET_MIN,
) -> dict[str, Any]:
    """``{"areas": [...rows per child area and period...], "total": {...}, "targets": {...}}``."""
    if period not in PERIODS:
        raise InvalidRequest(f"period is one of {', '.join(PERIODS)}")
    if end <= start:
        raise InvalidRequest("'to' must be after 'from'")
    area_path = area_path if area_path.endswith("/") else area_path + "/"
    depth = len([s for s in area_path.split("/") if s])
    first_day, end_day = _whole_days(start, end, utc_offset_min)
    query = f"""
        WITH rang AS (
            SELECT NULLIF(split_part(d.org_path, '/', %(part)s), '') AS area,
                   {_bucket(period, "d.day::timestamp")} AS period, x.answer_s, x.scene_s
            FROM alerts_daily d, unnest(d.answer_s, d.scene_s) AS x (answer_s, scene_s)
            WHERE d.day >= %(first_day)s AND d.day < %(end_day)s AND d.org_path LIKE %(prefix)s
            UNION ALL
            SELECT NULLIF(split_part(COALESCE(org_path, '/'), '/', %(part)s), '') AS area,
                   {_bucket(period, "(ringing_at AT TIME ZONE 'UTC') + make_interval(mins => %(offset)s)")} AS period,
                   EXTRACT(EPOCH FROM acknowledged_at - ringing_at)::float8 AS answer_s,
                   EXTRACT(EPOCH FROM on_scene_at - ringing_at)::float8 AS scene_s
            FROM alerts
            WHERE ringing_at >= %(start)s AND ringing_at < %(end)s
              AND NOT (ringing_at >= %(whole_from)s AND ringing_at < %(whole_to)s)
              AND COALESCE(org_path, '/') LIKE %(prefix)s
        )
        SELECT area, period, count(*) AS alerts, count(answer_s) AS answered,
               count(*) FILTER (WHERE answer_s <= %(d1)s) AS within_60s,
               count(*) FILTER (WHERE answer_s <= %(d2)s) AS within_180s,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY answer_s) AS answer_p50_s,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY answer_s) AS answer_p90_s,
               max(answer_s) AS answer_max_s,
               count(scene_s) AS on_scene,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY scene_s) AS on_scene_p50_s,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY scene_s) AS on_scene_p90_s,
               avg(scene_s) AS on_scene_mean_s
        FROM rang GROUP BY GROUPING SETS ((area, period), ()) ORDER BY area NULLS FIRST, period
    """
    offset = timedelta(minutes=utc_offset_min)
    params = {
        "part": depth + 2,
        "start": start,
        "end": end,
        "first_day": first_day,
        "end_day": end_day,
        "whole_from": datetime.combine(first_day, time(), UTC) - offset,
        "whole_to": datetime.combine(end_day, time(), UTC) - offset,
        "prefix": like_prefix(area_path),
        "d1": ANSWER_DEADLINES_S[0],
        "d2": ANSWER_DEADLINES_S[1],
        "offset": utc_offset_min,
    }
    async with connection(pool) as conn:
        cursor = await conn.execute(query, params)
        rows = await cursor.fetchall()
    areas: list[dict[str, Any]] = []
    total: dict[str, Any] = _figures({"alerts": 0})
    for row in rows:
        figures = _figures(row)
        if row["period"] is None:  # the grand total (grouping set ())
            total = figures
            continue
        code = row["area"]
        figures = {
            "area": code or "(unassigned)",
            "area_path": f"{area_path}{code}/" if code else area_path,
            "period": row["period"],
            **figures,
        }
        areas.append(figures)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "area_path": area_path,
        "period": period,
        "deadlines_s": list(ANSWER_DEADLINES_S),
        "targets": TARGETS,
        "total": total,
        "areas": areas,
    }


def _bucket(period: str, local_time: str) -> str:
    if period == "all":
        return "'all'"
    return f"to_char(date_trunc('{period}', {local_time}), 'YYYY-MM-DD')"


def _whole_days(start: datetime, end: datetime, utc_offset_min: int) -> tuple[date, date]:
    """The local days wholly inside ``[start, end)`` (read from ``alerts_daily``); an empty range when none."""
    offset = timedelta(minutes=utc_offset_min)
    local_start, local_end = start.astimezone(UTC) + offset, end.astimezone(UTC) + offset
    first = local_start.date() + timedelta(days=0 if local_start.time() == time() else 1)
    last = local_end.date()
    return (first, last) if first < last else (first, first)


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    alerts = int(row.get("alerts") or 0)

    def share(name: str) -> float | None:
        return round(int(row[name]) / alerts, 4) if alerts else None

    within_60 = share("within_60s") if alerts else None
    within_180 = share("within_180s") if alerts else None
    return {
        "alerts": alerts,
        "answered": int(row.get("answered") or 0),
        "within_60s": within_60,
        "within_180s": within_180,
        "meets_targets": None
        if within_60 is None or within_180 is None
        else within_60 >= TARGETS["within_60s"] and within_180 >= TARGETS["within_180s"],
        "answer_p50_s": _round(row.get("answer_p50_s")),
        "answer_p90_s": _round(row.get("answer_p90_s")),
        "answer_max_s": _round(row.get("answer_max_s")),
        "on_scene": int(row.get("on_scene") or 0),
        "on_scene_p50_s": _round(row.get("on_scene_p50_s")),
        "on_scene_p90_s": _round(row.get("on_scene_p90_s")),
        "on_scene_mean_s": _round(row.get("on_scene_mean_s")),
    }
