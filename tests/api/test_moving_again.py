"""A resident alerted on for a silence moves again: the motion over the real broker, through the gateway
and the platform's stream, written on the open alert that the operators' API shows; the alert stays
open (a fallen resident may still move), a second movement changes nothing, the daughter told of the
silence is told, and her link's page says when the resident moved again."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from registry.records import DeviceRecord
from stream.detections import DetectionKind
from stream.home import HomeActivityDetector
from tests.alerting.receivers import webhook_server
from tests.harness import eventually, mqtt_client, publish, running_platform
from tests.services import TestServices

HOUR_MS = 3_600_000
SILENCES = {DetectionKind.INACTIVITY.value, DetectionKind.NOT_UP.value}


async def test_motion_after_an_inactivity_alert_is_shown_on_the_alert(services: TestServices) -> None:
    async with running_platform(services, residents=1) as harness, webhook_server() as (hook, port):
        platform = harness.platform
        platform.alerts.config.public_url = harness.http_url
        platform.alerts.config.notify_allowed_hosts = ("127.0.0.1",)  # the webhook receiver runs on loopback
        await platform.alerts.set_contacts("res-1", [{"name": "女儿", "urls": [f"json://127.0.0.1:{port}/family"]}])
        await platform.registry.add_device(DeviceRecord("pir-1", "res-1", "pir", location="kitchen"))
        home = next(d for d in platform.stream.detectors if isinstance(d, HomeActivityDetector))
        now_ms = int(time.time() * 1000) - 2 * 60_000  # within the clock-skew limit
        async with mqtt_client(services) as client:
            await publish(client, harness.topic("pir-1", "motion"), {"ts": now_ms, "occupancy": True})
            await eventually(lambda: home.residents.get("res-1") is not None)
            # the stream's clock moved on by hours (as its tick would): past the first day's longest limit
            await platform.intake.take(platform.stream.advance(now_ms + 16 * HOUR_MS))

            async def silences() -> list[Any]:
                return [a for a in await platform.alerts.open_alerts() if a.kind in SILENCES]  # (by the hour)

            [alert] = await eventually(silences)
            assert "moving_again" not in alert.details
            await platform.alerts.notify_family(alert.id, "admin")  # the daughter is told of the silence
            await platform.alerts.drain()
            for after_ms in (60_000, 120_000):
                await publish(client, harness.topic("pir-1", "motion"), {"ts": now_ms + after_ms, "occupancy": True})

        async def told() -> dict[str, Any] | None:
            return (await platform.alerts.get(alert.id)).details.get("moving_again")

        moving = await eventually(told)
        assert (moving["device_id"], moving["location"], moving["silent_s"]) == ("pir-1", "kitchen", 60.0)
        async with harness.http() as http:
            shown = (await http.get(f"/api/v1/alerts/{alert.id}")).json()
        assert shown["state"] in ("pending", "raised") and shown["details"]["moving_again"] == moving
        actions = [row["action"] for row in await platform.alerts.audit_trail(alert.id)]
        assert (actions.count("moving again"), actions.count("family told moving again")) == (1, 1)
        await platform.alerts.drain()  # the daughter hears her mother moves again; her link's page says so too
        assert [r["json"]["message"].count("又检测到") for r in hook.requests] == [0, 1]
        assert "moving again at" in hook.requests[1]["json"]["message"]
        link = re.search(r"http://\S+/f/\S+(?=\?do=fine)", hook.requests[0]["json"]["message"])
        assert link is not None
        async with httpx.AsyncClient() as phone:
            page = (await phone.get(link.group(0))).text
        assert "又检测到" in page and "moving again at" in page, page
