"""``eldercare bench e2e`` at a small size: every press reaches the console and its button, timed from
a process of its own, beside the bare broker's floor measured the same way."""

from __future__ import annotations

import shutil

import pytest

from eldercare.settings import Settings
from lab.bench.e2e import run_e2e
from tests.services import TestServices


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="the bench starts a private Mosquitto; none installed")
async def test_a_small_e2e_bench_hears_every_press_from_outside(services: TestServices) -> None:
    settings = Settings(database_url=services.admin_database_url, mqtt_url=services.mqtt_url)
    figures = await run_e2e(settings, presses=20, rate_hz=20.0, homes=20)
    assert figures["lost"] == 0, figures
    assert figures["platform"]["delivered"] == 20 and figures["downlink"]["heard"] == 20, figures
    assert figures["bare_broker"]["received"] == 20, figures
    assert figures["measured_from"].startswith("its own process"), figures
    assert figures["platform"]["p99_ms"] > 0 and figures["p99_ratio_to_bare"] is not None, figures
    assert figures["background"]["homes"] == 20 and figures["background"]["platform_received"] > 0, figures
