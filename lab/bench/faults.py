"""``eldercare bench faults``: the fault scenarios of :mod:`lab.faults` with a table of results."""

from __future__ import annotations

import asyncio
from typing import Any

from eldercare.settings import Settings
from lab import faults, faults_takeover, poison
from lab.harness import bench_services
from lab.report import emit, progress


async def run_all(
    settings: Settings, presses: int, outage_s: float, rate_hz: float, only: list[str] | None = None
) -> list[faults.FaultResult]:
    async with bench_services(settings, "eldercare-faults-") as services:
        mqtt, db = services.mqtt_url, services.database_url
        plan = [
            ("broker restart", lambda: faults.broker_restart(db, presses, 3.0, rate_hz)),
            ("worker SIGKILL", lambda: faults.worker_killed(mqtt, db, presses, rate_hz)),
            ("database outage", lambda: faults.database_outage(mqtt, db, presses, outage_s, rate_hz)),
            ("spool full", lambda: faults.spool_full(mqtt, db, presses, min(outage_s, 10.0), rate_hz)),
            ("clock skew", lambda: faults.clock_skew(mqtt, db, presses, rate_hz)),
            ("overload", lambda: faults.overload(db, presses, 100_000, rate_hz)),
            ("client-id takeover", lambda: faults_takeover.client_id_takeover(db, presses, rate_hz)),
            ("poison message", lambda: poison.poison_message(mqtt, db, presses, rate_hz, 1000)),
        ]
        results = []
        for name, scenario in plan:
            if only and name not in only:
                continue
            progress(f"bench faults: {name} …")
            result = await scenario()
            progress(f"  {result.row()}")
            results.append(result)
        return results


def run(
    settings: Settings, presses: int, outage_s: float, rate_hz: float, json_output: bool, only: list[str] | None = None
) -> dict[str, Any]:
    results = asyncio.run(run_all(settings, presses, outage_s, rate_hz, only))
    rows = [r.row() for r in results]
    header = f"{'fault':<38} {'sent':>5} {'delivered':>9} {'lost':>5} {'dupes':>5} {'worst delay':>12}  notes"
    lines = [header] + [
        f"{r['fault']:<38} {r['sent']:>5} {r['delivered']:>9} {r['lost']:>5} {r['duplicates']:>5} "
        f"{'-' if r['worst_delay_s'] is None else str(r['worst_delay_s']) + ' s':>12}  {r['notes']}"
        for r in rows
    ]
    figures = {
        "benchmark": "faults",
        "scenarios": rows,
        "lost": sum(r["lost"] for r in rows),
        "duplicates": sum(r["duplicates"] for r in rows),
    }
    emit("eldercare bench faults", [("", line) for line in lines], figures, json_output)
    return figures
