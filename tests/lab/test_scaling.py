"""``eldercare bench scaling`` end to end on a few homes and one worker: real nats-server, Mosquitto,
ingest, API and worker processes, the homes' process; the figures' shape, no press lost."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import TestServices

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]


def test_scaling_bench_on_a_few_homes(services: TestServices, tmp_path: Path) -> None:
    broker = [] if shutil.which("mosquitto") else ["--mqtt-url", services.mqtt_url]
    argv = [
        sys.executable,
        "-c",
        "from eldercare.cli import main; main()",
        "bench",
        "scaling",
        "--homes=30",
        "--wearable-homes=4",
        "--workers=1",
        "--duration=4",
        "--press-rate=3",
        f"--database-url={services.admin_database_url}",
        f"--out={tmp_path}",
        "--json",
        *broker,
    ]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])

    names = ["1 worker, half the homes", "1 worker", "1 worker + wearables", "1 worker + wearables + SOS presses"]
    assert [w["name"] for w in figures["windows"]] == names
    for window in figures["windows"]:
        assert set(window["per_worker"]) == {"w1"}
        assert window["per_worker"]["w1"]["partitions"] == 64
        assert window["per_worker"]["w1"]["events_per_s"] > 0
        assert {"ingest", "api", "nats-server", "postgres", "homes"} <= set(window["processes"])
    half, everyday, worn, alarmed = figures["windows"]
    assert half["residents"] == 15 and everyday["residents"] == 30 and worn["residents"] == 34
    assert everyday["imu_per_s"] == 0 and worn["imu_per_s"] > 0  # the wearables streamed
    assert half["presses"] == everyday["presses"] == worn["presses"] == 0 and alarmed["presses"] > 0

    alarm = figures["alarm"]
    assert alarm["presses"] > 0
    assert alarm["lost"] == 0 and alarm["stored"] == alarm["presses"], alarm
    assert alarm["on_console"] + sum(alarm["stored_as_other_alert"].values()) == alarm["presses"], alarm
    assert alarm["to_stored"]["p99_ms"] is not None and alarm["to_console"]["p99_ms"] is not None

    assert figures["history_alone"]["events"] > 0
    roles = {r["role"]: r for r in figures["capacity"]["roles"]}
    assert {"ingest", "workers (stream, alerts, history)", "PostgreSQL"} <= set(roles)
    assert all(r["cores"] >= 0 and r["processes"] >= 1 for r in roles.values())
    assert figures["capacity"]["platform_machines"] >= 3
    assert figures["capacity"]["assumptions"]["residents"] == 390_000
    assert all(c["resident_s"] is not None and c["imu"] is not None for c in figures["costs_us"].values())
    upper = figures["capacity_imu_at_gross_cost"]
    assert upper["platform_cores"] >= figures["capacity"]["platform_cores"]  # IMU charged at least as much
    assert figures["snapshots"]["bytes"] > 0 and figures["snapshots"]["bytes_per_resident"] > 0

    table = (tmp_path / "scaling.md").read_text()
    assert "| 1 worker | " in table and "| ingest | " in table
    assert "eldercare bench scaling" in table  # the command that produced the figures
