"""``eldercare bench load`` at a small size: every press reaches the console, timed once, and nothing
the homes send is lost."""

from __future__ import annotations

from eldercare.settings import Settings
from lab.bench.load import run_load
from tests.services import TestServices


async def test_a_small_load_run_times_every_press_once_and_loses_nothing(services: TestServices) -> None:
    settings = Settings(database_url=services.admin_database_url, mqtt_url=services.mqtt_url)
    figures = await run_load(settings, 20, 6.0, press_rate_hz=2.0, warmup_s=1.0, bare_messages=2000)
    alarm = figures["alarm"]
    assert alarm["presses"] > 0 and alarm["lost"] == 0 and alarm["on_console"] == alarm["presses"], figures
    assert 0 < alarm["p50_ms"] <= alarm["p99_ms"] < 1000, figures
    assert figures["dropped_total"] == 0 and figures["shed_total"] == 0, figures
