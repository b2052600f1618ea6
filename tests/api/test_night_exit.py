"""A resident's night-exit watch: set, changed, cleared and refused through ``/api/v1/residents`` and the
CSV import, in the registry's ``night_watch_of``; and a watched resident going out of the door at night,
over the real broker, raising NIGHT_EXIT for the operators, and back inside, written on it."""

from __future__ import annotations

import time
from typing import Any

from registry.store import DeviceRecord, Registry
from stream.detections import DetectionKind
from stream.exits import NightExitDetector
from tests.alerting.receivers import webhook_server
from tests.api.problems import names_field
from tests.harness import eventually, mqtt_client, publish, running_platform
from tests.orgs import add_org_tree
from tests.services import TestServices

CITY = {"C1 郑州市": {"D1 金水区": {"S1 经八路街道": ["A1 黄河社区"]}}}
BAD_WATCHES: list[Any] = [
    "22:00", "22:00-22:00", "22:00–06:00", "22:00-6:00", "24:00-06:00", "22:00-06:00 ", "22:00-06:00-07:00",
    2200, 22.5, True, {}, [], "", "NaN",
]  # fmt: skip


async def test_the_watch_set_changed_cleared_and_refused(services: TestServices) -> None:
    async with running_platform(services, residents=0) as harness:
        registry = harness.platform.registry
        await add_org_tree(registry, CITY)
        async with harness.http() as http:
            body = {"name": "孙玉兰", "org_node": "A1", "night_exit_watch": "22:00-06:00"}
            created = await http.post("/api/v1/residents", json=body)
            assert created.status_code == 201, created.text
            rid = created.json()["id"]
            assert created.json()["night_exit_watch"] == "22:00-06:00"
            assert registry.night_watch_of(rid) == (1320, 360)

            async def patch(changes: dict[str, Any]) -> dict[str, Any]:
                response = await http.patch(f"/api/v1/residents/{rid}", json=changes)
                assert response.status_code == 200, response.text
                answer: dict[str, Any] = response.json()
                return answer

            assert (await patch({"night_exit_watch": "21:30-07:00"}))["night_exit_watch"] == "21:30-07:00"
            assert registry.night_watch_of(rid) == (1290, 420)
            assert (await patch({"usual_wake": "06:30"}))["night_exit_watch"] == "21:30-07:00"  # not sent: kept
            assert registry.night_watch_of(rid) == (1290, 420)
            field, says = "night_exit_watch", "night_exit_watch must"
            for bad in BAD_WATCHES:
                refused = await http.post("/api/v1/residents", json={**body, "night_exit_watch": bad})
                assert refused.status_code == 422 and names_field(refused.json(), field, says), (bad, refused.text)
                refused = await http.patch(f"/api/v1/residents/{rid}", json={"night_exit_watch": bad})
                assert refused.status_code == 422 and names_field(refused.json(), field, says), (bad, refused.text)
            assert registry.night_watch_of(rid) == (1290, 420)  # nothing refused was taken
            exported = (await http.get("/api/v1/exports/residents")).text.splitlines()
            header = exported[0].split(",")
            row = next(line.split(",") for line in exported[1:] if line.split(",")[header.index("id")] == rid)
            assert row[header.index("night_exit_watch")] == "21:30-07:00"
            assert (await patch({"night_exit_watch": None}))["night_exit_watch"] is None
            assert registry.night_watch_of(rid) is None
            await patch({"night_exit_watch": "00:00-05:00"})
            plain = (await http.post("/api/v1/residents", json={"name": "李建国", "org_node": "A1"})).json()
            assert plain["night_exit_watch"] is None and registry.night_watch_of(plain["id"]) is None

            csv = (
                "external_id,name,org_node,night_exit_watch\n"
                "w-1,王秀英,A1,23:00-05:30\n"
                "w-2,刘玉兰,A1,\n"
                "w-3,陈志强,A1,23:00-23:00\n"
            )
            response = await http.post(
                "/api/v1/imports/residents", content=csv.encode(), headers={"content-type": "text/csv"}
            )
            assert response.status_code == 200, response.text
            report = response.json()
            assert report["created"] == 2 and [p["external_id"] for p in report["rejected"]] == ["w-3"]
            [error] = report["rejected"][0]["errors"]
            assert error.startswith("night_exit_watch:") and "start and end at different times" in error
            [imported] = (await http.get("/api/v1/residents", params={"q": "w-1"})).json()["items"]
            assert registry.night_watch_of(imported["id"]) == (1380, 330)
        fresh = Registry(harness.platform.pool)  # another process: the watches read at load
        await fresh.load()
        assert fresh.night_watch_of(rid) == (0, 300)
        assert fresh.night_watch_of(imported["id"]) == (1380, 330)
        assert fresh.night_watch_of(plain["id"]) is None


async def test_a_watched_resident_out_of_the_door_at_night_raises_night_exit(services: TestServices) -> None:
    """The door over the real broker, through the gateway into the platform's stream; ten minutes later
    (the stream's clock moved on, as its tick would) the alert is stored and open, naming the door; then
    the hall's motion, back inside, written on it and told to the son who was told of the alert."""
    async with running_platform(services, residents=2) as harness, webhook_server() as (hook, port):
        platform = harness.platform
        platform.alerts.config.notify_allowed_hosts = ("127.0.0.1",)  # the webhook receiver runs on loopback
        await platform.alerts.set_contacts("res-1", [{"name": "儿子", "urls": [f"json://127.0.0.1:{port}/family"]}])
        offset = platform.config.alerting.utc_offset_min
        now_ms = int(time.time() * 1000)
        minute = (now_ms // 60_000 + offset) % 1440
        watch = "-".join(f"{m // 60:02d}:{m % 60:02d}" for m in ((minute - 60) % 1440, (minute + 60) % 1440))
        async with harness.http() as http:
            response = await http.patch("/api/v1/residents/res-1", json={"night_exit_watch": watch})
            assert response.status_code == 200, response.text
        async with mqtt_client(services) as client:
            for resident in ("res-1", "res-2"):  # res-2 is not watched: the same door is nothing
                door = f"door-{resident[-1]}"
                await publish(client, harness.topic(door, "contact"), {"ts": now_ms, "open": True})
                await publish(client, harness.topic(door, "contact"), {"ts": now_ms + 20_000, "open": False})
        exits = next(d for d in platform.stream.detectors if isinstance(d, NightExitDetector))
        await eventually(lambda: exits.residents.get("res-1") is not None and "res-2" in exits.watches)
        assert exits.residents.get("res-2") is None  # asked, not watched: no state kept
        await platform.intake.take(platform.stream.advance(now_ms + 20_000 + 10 * 60_000 + 1))

        async def told() -> list[Any]:
            alerts = await platform.alerts.open_alerts()
            return [a for a in alerts if a.kind == DetectionKind.NIGHT_EXIT.value]

        [alert] = await eventually(told)
        assert (alert.resident_id, alert.device_id) == ("res-1", "door-1")
        assert alert.details["watch"] == watch
        await platform.alerts.notify_family(alert.id, "admin")
        # back inside four minutes after the door: the hall's motion is written on the alert, which stays open
        await platform.registry.add_device(DeviceRecord("pir-1", "res-1", "pir", location="hall"))
        async with mqtt_client(services) as client:
            await publish(client, harness.topic("pir-1", "motion"), {"ts": now_ms + 4 * 60_000, "occupancy": True})

        async def back() -> dict[str, Any] | None:
            return (await platform.alerts.get(alert.id)).details.get("moving_again")

        moving = await eventually(back)
        assert (moving["device_id"], moving["location"], moving["silent_s"]) == ("pir-1", "hall", 240.0)
        assert (await platform.alerts.get(alert.id)).is_open
        await platform.alerts.drain()
        message = hook.requests[-1]["json"]["message"]
        assert len(hook.requests) == 2 and "已回到屋内" in message and "back inside" in message, message
