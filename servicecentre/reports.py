"""Service reports: orders by area, category or provider; on-time rate; satisfaction; subsidy spent;
and the hotline's call answer times (they join alerting's answer-time SLA report).

An order is on time when its worker checked in no later than the scheduled time + the check-in grace.
The on-time rate counts orders that were due to be served (not cancelled or refused) and are checked in or past
their check-in deadline (:data:`DUE`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from registry.area import like_prefix
from servicecentre.context import ServiceContext
from servicecentre.model import Invalid, Reach

AREA = "NULLIF(split_part(o.org_path, '/', %(part)s), '')"
"""The org node one level below the caller's area that the order lies in."""
DUE = (
    "o.state NOT IN ('cancelled', 'refused')"
    " AND (o.checked_in_at IS NOT NULL OR o.scheduled_at + make_interval(secs => %(grace)s) <= %(now)s)"
)
"""An order the on-time rate judges: not cancelled or refused, and checked in or past its check-in deadline
(on time or late, it can no longer change). The rate is on time ÷ these; an early check-in for a visit still to
come counts at once, on both sides (counted only on top, it made rates above 100 %)."""
MONTH = "to_char((o.scheduled_at AT TIME ZONE 'UTC') + make_interval(mins => %(offset)s), 'YYYY-MM')"
"""The local month of the scheduled time."""
GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "area": (("area", AREA),),
    "category": (("category", "i.category"),),
    "provider": (("provider", "o.provider_id"),),
    "month": (("month", MONTH),),
    "area_month": (("area", AREA), ("month", MONTH)),
}
"""Each grouping: its key columns (name, SQL); ``area_month`` is subsidy spent per area and month."""


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Reports:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def orders(self, reach: Reach, start: datetime, end: datetime, by: str = "area") -> dict[str, Any]:
        """One row per group (and a total): orders, served, on time, ratings, subsidy and payment. Each
        group carries its keys (``report["keys"]``: ``["area"]``, or ``["area", "month"]`` …)."""
        if by not in GROUPS:
            raise Invalid(f"group by one of {', '.join(GROUPS)}")
        if end <= start:
            raise Invalid("'to' must be after 'from'")
        if reach.is_provider:
            where, scope_params = "o.provider_id = %(provider)s", {"provider": reach.provider_id}
            depth = 0
        elif reach.area.resident_id is not None:
            where, scope_params = "o.resident_id = %(resident)s", {"resident": reach.area.resident_id}
            depth = 0
        else:
            where, scope_params = "o.org_path LIKE %(prefix)s", {"prefix": like_prefix(reach.area.org_path)}
            depth = len([s for s in reach.area.org_path.split("/") if s])
        keys = GROUPS[by]
        columns = ", ".join(f"{sql} AS {name}" for name, sql in keys)
        grouped = ", ".join(sql for _, sql in keys)
        query = f"""
            SELECT {columns}, GROUPING({keys[0][1]}) = 1 AS is_total, count(*) AS orders,
                   count(*) FILTER (WHERE o.state IN ('completed', 'rated')) AS completed,
                   count(*) FILTER (WHERE o.state = 'cancelled') AS cancelled,
                   count(*) FILTER (WHERE o.state = 'refused') AS refused,
                   count(*) FILTER (WHERE {DUE}) AS due,
                   count(*) FILTER (WHERE {DUE}
                                     AND o.checked_in_at <= o.scheduled_at + make_interval(secs => %(grace)s))
                       AS on_time,
                   count(o.rating) AS ratings, avg(o.rating)::float AS rating,
                   coalesce(sum(o.subsidy_fen) FILTER (WHERE o.state IN ('completed', 'rated')), 0) AS subsidy_fen,
                   coalesce(sum(o.resident_fen) FILTER (WHERE o.state IN ('completed', 'rated')), 0) AS resident_fen
            FROM service_orders o JOIN service_items i ON i.id = o.item_id
            WHERE {where} AND o.scheduled_at >= %(start)s AND o.scheduled_at < %(end)s
            GROUP BY GROUPING SETS (({grouped}), ()) ORDER BY is_total, {", ".join(f"{n} NULLS FIRST" for n, _ in keys)}
        """
        params = {
            **scope_params,
            "part": depth + 2,
            "offset": self.ctx.config.utc_offset_min,
            "grace": self.ctx.config.check_in_grace_s,
            "now": self.ctx.clock(),
            "start": start,
            "end": end,
        }
        rows = await self.ctx.read(query, params)
        total: dict[str, Any] = {}
        groups = []
        for row in rows:
            row["on_time_rate"] = _ratio(row["on_time"], row["due"])
            row["rating"] = None if row["rating"] is None else round(row["rating"], 2)
            group = {name: row.pop(name) for name, _ in keys}
            if row.pop("is_total"):
                total = row
            else:
                groups.append({**group, **row})
        return {
            "by": by,
            "keys": [name for name, _ in keys],
            "from": start.isoformat(),
            "to": end.isoformat(),
            "groups": groups,
            "total": total,
        }

    async def call_answer_times(self, org_path: str, start: datetime, end: datetime) -> dict[str, Any]:
        """Inbound calls started in ``[start, end)`` under ``org_path``: how many, answered, answer-time
        percentiles (``answered_at - started_at``, seconds), by category."""
        rows = await self.ctx.read(
            "SELECT category, count(*) AS calls, count(answered_at) AS answered,"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM answered_at - started_at))"
            "   AS answer_p50_s,"
            " percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM answered_at - started_at))"
            "   AS answer_p90_s,"
            " count(*) FILTER (WHERE answered_at - started_at <= interval '60 seconds') AS within_60s"
            " FROM service_calls WHERE direction = 'inbound' AND started_at >= %s AND started_at < %s"
            " AND org_path LIKE %s GROUP BY GROUPING SETS ((category), ()) ORDER BY category NULLS LAST",
            (start, end, like_prefix(org_path)),
        )
        for row in rows:
            for name in ("answer_p50_s", "answer_p90_s"):
                row[name] = None if row[name] is None else round(float(row[name]), 1)
        total = next((row for row in rows if row["category"] is None), None)
        return {"by_category": [row for row in rows if row["category"] is not None], "total": total}
