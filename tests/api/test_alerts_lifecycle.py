"""The alert lifecycle over HTTP: scoped queue with SLA timers, 409s, dispatch, the responder's and
the family's link pages, contacts and the SLA report — on the real platform, database and broker."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from registry.store import ResidentRecord
from stream.detections import Detection, DetectionKind
from tests.alerting.conftest import FakeClock
from tests.alerting.receivers import webhook_server
from tests.harness import Harness, running_platform
from tests.services import TestServices

PASSWORD = "a-long-password-1"


async def org_tree(harness: Harness) -> None:
    registry = harness.platform.registry
    await registry.add_org_node("C", "City", "city")
    for district, street, community in (("D1", "S1", "K1"), ("D2", "S2", "K2")):
        await registry.add_org_node(district, district, "district", "C")
        await registry.add_org_node(street, street, "street", district)
        await registry.add_org_node(community, community, "community", street)
    await registry.add_resident(ResidentRecord("res-a", "Zhang Lan", "1 Elm Lane", "13900000011", org_node="K1"))
    await registry.add_resident(ResidentRecord("res-b", "Li Wei", "9 Oak Road", "13900000022", org_node="K2"))
    await harness.platform.users.add("op-d1", PASSWORD, "operator", org_node="D1")
    await harness.platform.users.add("fam-a", PASSWORD, "family", resident_id="res-a")


async def login(harness: Harness, username: str) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=harness.http_url) as client:
        response = await client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        response.raise_for_status()
        token = response.json()["access_token"]
    return httpx.AsyncClient(base_url=harness.http_url, headers={"Authorization": f"Bearer {token}"})


def sos(resident: str, key: str, at: datetime) -> Detection:
    ms = int(at.timestamp() * 1000)
    return Detection(resident, f"btn-{resident}", DetectionKind.SOS, ms, ms, key)


async def test_alert_lifecycle_over_http(services: TestServices) -> None:
    async with running_platform(services, residents=0) as harness:
        await org_tree(harness)
        alerts = harness.platform.alerts
        clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
        alerts.clock = clock
        [a] = await alerts.raise_detections([sos("res-a", "a1", clock.now)])
        [b] = await alerts.raise_detections([sos("res-b", "b1", clock.now)])
        assert a.alert.org_path == "/C/D1/S1/K1/"
        clock.advance(42)

        async with await login(harness, "op-d1") as operator, harness.http() as admin:
            queue = (await operator.get("/api/v1/alerts")).json()
            assert [x["id"] for x in queue] == [str(a.alert.id)]  # res-b lives in another district
            assert queue[0]["sla"]["waiting_s"] == 42.0 and queue[0]["sla"]["deadlines_s"] == [60, 180]
            assert (await operator.get(f"/api/v1/alerts/{b.alert.id}")).status_code == 404
            assert (await operator.post(f"/api/v1/alerts/{b.alert.id}/ack", json={})).status_code == 404
            assert (
                await operator.post(f"/api/v1/alerts/{a.alert.id}/resolve", json={"outcome": "false_alarm"})
            ).status_code == 409

            acked = await operator.post(f"/api/v1/alerts/{a.alert.id}/ack", json={"note": "calling"})
            assert acked.status_code == 200 and acked.json()["sla"]["answered_in_s"] == 42.0
            again = await operator.post(f"/api/v1/alerts/{a.alert.id}/ack", json={})
            assert again.status_code == 409 and "acknowledged cannot become acknowledged" in again.json()["detail"]

            put = await admin.put(
                "/api/v1/responders/vol-1", json={"name": "Volunteer One", "kind": "volunteer", "org_node": "K1"}
            )
            assert put.status_code == 200, put.text
            proposals = (await operator.get(f"/api/v1/alerts/{a.alert.id}/proposals")).json()
            assert [(p["responder"]["username"], p["nearness"]) for p in proposals] == [("vol-1", "community")]
            dispatched = await operator.post(f"/api/v1/alerts/{a.alert.id}/dispatch", json={})
            assert dispatched.status_code == 200 and dispatched.json()["state"] == "dispatched"
            second = await admin.post(f"/api/v1/alerts/{a.alert.id}/dispatch", json={})
            assert second.status_code == 409

            detail = (await operator.get(f"/api/v1/alerts/{a.alert.id}")).json()
            link = await alerts.responder_link(a.alert.id, "vol-1", detail["dispatches"][0]["id"])
            path = link[link.index("/r/") :]
            async with httpx.AsyncClient(base_url=harness.http_url) as phone:
                page = await phone.get(path)
                assert page.status_code == 200 and "Accept" in page.text and "Zhang Lan" in page.text
                assert (await phone.post(path, data={"action": "accept"})).status_code == 200
                assert (await phone.post(path, data={"action": "arrive", "note": "here"})).status_code == 200
                done = await phone.post(path, data={"action": "resolve", "outcome": "resident_fine"})
                assert done.status_code == 200 and "已处理完毕" in done.text and "Now: handled" in done.text
                assert (await phone.get(path[:-3] + "xyz")).status_code == 403
            final = (await operator.get(f"/api/v1/alerts/{a.alert.id}")).json()
            assert final["state"] == "resolved" and final["outcome"] == "resident_fine"
            assert [row["action"] for row in final["audit"]] == [
                "raised",
                "acknowledged",
                "dispatched",
                "responder accepted",
                "on_scene",
                "resolved",
            ]

            report = await operator.get(
                "/api/v1/reports/sla",
                params={
                    "from": (clock.now - timedelta(hours=1)).isoformat(),
                    "to": (clock.now + timedelta(hours=1)).isoformat(),
                },
            )
            assert report.status_code == 200, report.text
            body = report.json()
            assert body["area_path"] == "/C/D1/" and body["total"]["alerts"] == 1
            assert body["total"]["within_60s"] == 1.0 and body["areas"][0]["area"] == "S1"
            assert (await operator.get("/api/v1/reports/sla", params={"area": "D2"})).status_code == 404


async def test_family_contacts_and_one_tap_link(services: TestServices) -> None:
    async with running_platform(services, residents=0) as harness, webhook_server() as (hook, port):
        await org_tree(harness)
        alerts = harness.platform.alerts
        alerts.config.public_url = harness.http_url
        alerts.config.notify_allowed_hosts = ("127.0.0.1",)  # the webhook receiver runs on loopback
        async with harness.http() as admin, await login(harness, "fam-a") as family:
            contacts = [{"name": "Daughter", "relation": "daughter", "urls": [f"json://127.0.0.1:{port}/family"]}]
            put = await admin.put("/api/v1/notify/contacts/res-a", json=contacts)
            assert put.status_code == 200, put.text
            assert (
                await admin.put("/api/v1/notify/contacts/res-a", json=[{"name": "x", "urls": ["bogus"]}])
            ).status_code == 422
            assert (await family.get("/api/v1/notify/contacts/res-a")).status_code == 403
            [a] = await alerts.raise_detections([sos("res-a", "a1", datetime.now(UTC))])
            assert [x["id"] for x in (await family.get("/api/v1/alerts")).json()] == [str(a.alert.id)]
            assert (await family.post(f"/api/v1/alerts/{a.alert.id}/ack", json={})).status_code == 403
            assert (await admin.post(f"/api/v1/alerts/{a.alert.id}/notify-family")).status_code == 200
            await alerts.drain()
            message = hook.requests[0]["json"]["message"]
            link = re.search(r"(http://\S+/f/\S+)\?do=fine", message)
            assert link is not None, message
            async with httpx.AsyncClient() as phone:
                page = await phone.get(link.group(0))
                assert page.status_code == 200 and "all is fine" in page.text
                answered = await phone.post(link.group(1), data={"do": "fine"})
                assert answered.status_code == 200 and "已记录" in answered.text
                assert "someone has taken it in hand" in answered.text
            view = (await admin.get(f"/api/v1/alerts/{a.alert.id}")).json()
            assert view["acknowledged_by"] == "family:Daughter" and view["deliveries"][0]["ok"] is True
