"""Phone links stop with the person they were sent to, on the running platform: a removed family
contact's link, a deactivated responder's, worker's or desk user's, an inactive provider's desk link.
The refusal is a 403 page in Chinese and English that shows nothing of the resident."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest_asyncio

from registry.store import ResidentRecord
from stream.detections import Detection, DetectionKind
from tests.harness import Harness, running_platform
from tests.services import TestServices

PASSWORD = "a-long-password-1"
ADDRESS = "金水路 8 号"


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def harness(services: TestServices) -> AsyncIterator[Harness]:
    async with running_platform(services, residents=0) as harness:
        platform = harness.platform
        for code, name, level, parent in (("C", "郑州市", "city", None), ("D1", "金水区", "district", "C")):
            await platform.registry.add_org_node(code, name, level, parent)
        await platform.registry.add_resident(
            ResidentRecord("r1", "王秀英", ADDRESS, "13900000001", date(1938, 2, 1), "D1")
        )
        for username, role in (("rsp-gone", "responder"), ("wk-gone", "provider"), ("desk-gone", "provider")):
            await platform.users.add(username, PASSWORD, role, org_node="D1")
        async with harness.http() as admin:
            for path, body in (
                ("/api/v1/service-menu/categories/meal", {"name": "助餐", "name_en": "Meals"}),
                ("/api/v1/service-menu/items/lunch", {"category": "meal", "name": "午餐", "unit": "份",
                                                      "price_fen": 1500}),
                ("/api/v1/providers/P1", {"name": "金水助餐中心", "org_node": "D1", "areas": ["D1"]}),
                ("/api/v1/providers/P1/offers/lunch", {"price_fen": 1200}),
                ("/api/v1/providers/P1/staff/wk-gone", {"name": "李师傅"}),
                ("/api/v1/providers/P1/staff/desk-gone", {"name": "调度"}),
                ("/api/v1/providers/P1/staff/w1", {"name": "张师傅"}),  # no account
                ("/api/v1/responders/rsp-gone", {"name": "Volunteer", "kind": "volunteer", "org_node": "D1"}),
            ):  # fmt: skip
                response = await admin.put(path, json=body)
                assert response.status_code == 200, (path, response.text)
        yield harness


def refused(page: httpx.Response) -> None:
    assert page.status_code == 403, page.text
    assert ADDRESS not in page.text and "王秀英" not in page.text and "13900000001" not in page.text


async def test_a_removed_contacts_and_a_deactivated_responders_links_are_refused(harness: Harness) -> None:
    alerts = harness.platform.alerts
    now = datetime.now(UTC)
    ms = int(now.timestamp() * 1000)
    [raised] = await alerts.raise_detections([Detection("r1", "btn-r1", DetectionKind.SOS, ms, ms, "r1-sos")])
    alert_id = raised.alert.id
    son = {"name": "Son Zhang", "phone": "13955550001", "urls": ["json://family.invalid/son"]}
    daughter = {"name": "Daughter Li", "phone": "13955550002", "urls": ["json://family.invalid/li"]}
    async with harness.http() as admin, httpx.AsyncClient(base_url=harness.http_url) as phone:
        put = await admin.put("/api/v1/notify/contacts/r1", json=[son])
        assert put.status_code == 200, put.text
        assert (await admin.post(f"/api/v1/alerts/{alert_id}/notify-family")).status_code == 200
        async with harness.platform.pool.connection() as conn:
            cursor = await conn.execute("SELECT body FROM notification_outbox WHERE alert_id = %s", (alert_id,))
            row = await cursor.fetchone()
        assert row is not None
        found = re.search(r"(/f/[A-Za-z0-9_\-.]+)\?do=going", row["body"])
        assert found is not None
        assert (await admin.put("/api/v1/notify/contacts/r1", json=[daughter])).status_code == 200
        page = await phone.get(found.group(1))
        refused(page)
        assert "联系人名单" in page.text and "no longer on this resident" in page.text
        refused(await phone.post(found.group(1), data={"do": "going"}))
        alert = (await admin.get(f"/api/v1/alerts/{alert_id}")).json()
        assert alert["state"] == "raised" and "family_going" not in alert["details"]

        assert (await admin.post(f"/api/v1/alerts/{alert_id}/ack", json={})).status_code == 200
        assert (await admin.post(f"/api/v1/alerts/{alert_id}/dispatch", json={"responder": "rsp-gone"})).is_success
        dispatch_id = (await admin.get(f"/api/v1/alerts/{alert_id}")).json()["dispatches"][0]["id"]
        link = _path(await alerts.responder_link(alert_id, "rsp-gone", dispatch_id))
        assert (await phone.get(link)).status_code == 200
        assert (await admin.patch("/api/v1/users/rsp-gone", json={"active": False})).status_code == 200
        refused(await phone.get(link))
        refused(await phone.post(link, data={"action": "accept"}))
        assert [d["status"] for d in (await admin.get(f"/api/v1/alerts/{alert_id}")).json()["dispatches"]] == [
            "offered"
        ]
        await alerts.resolve(alert_id, "admin", "false_alarm")
        [again] = await alerts.raise_detections([Detection("r1", "btn-r1", DetectionKind.SOS, ms, ms, "r1-sos-2")])
        assert (await admin.post(f"/api/v1/alerts/{again.alert.id}/ack", json={})).status_code == 200
        assert (await admin.get(f"/api/v1/alerts/{again.alert.id}/proposals")).json() == []
        sent = await admin.post(f"/api/v1/alerts/{again.alert.id}/dispatch", json={"responder": "rsp-gone"})
        assert sent.status_code == 409 and "deactivated" in sent.text
        await alerts.resolve(again.alert.id, "admin", "false_alarm")


async def test_deactivated_staffs_and_an_inactive_providers_links_are_refused(harness: Harness) -> None:
    when = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    order_in = {"resident_id": "r1", "item_id": "lunch", "provider_id": "P1", "scheduled_at": when}
    async with harness.http() as admin, httpx.AsyncClient(base_url=harness.http_url) as phone:
        first, second = [(await admin.post("/api/v1/orders", json=order_in)).json()["id"] for _ in range(2)]
        desk = _path(
            (await admin.post(f"/api/v1/orders/{first}/desk-link", json={"username": "desk-gone"})).json()["url"]
        )
        assert (await phone.post(desk, data={"action": "accept"})).status_code == 200
        assigned = await phone.post(desk, data={"action": "assign", "worker": "wk-gone"})
        worker = re.search(r'href="https?://[^"]+(/w/[^"]+)"', assigned.text)
        assert worker is not None
        assert ADDRESS in (await phone.get(worker.group(1))).text
        for username in ("wk-gone", "desk-gone"):
            assert (await admin.patch(f"/api/v1/users/{username}", json={"active": False})).status_code == 200
        refused(await phone.get(worker.group(1)))
        refused(await phone.post(worker.group(1), data={"action": "check_in"}))
        refused(await phone.get(desk))
        refused(await phone.post(desk, data={"action": "assign", "worker": "w1"}))
        assert (await admin.post(f"/api/v1/orders/{first}/worker-link")).status_code == 422

        live = await admin.put("/api/v1/providers/P1/staff/p1-desk", json={"name": "调度二"})  # no account
        assert live.status_code == 200
        desk = _path(
            (await admin.post(f"/api/v1/orders/{second}/desk-link", json={"username": "p1-desk"})).json()["url"]
        )
        page = await phone.get(desk)
        assert page.status_code == 200
        accepted = await phone.post(desk, data={"action": "accept"})
        assert 'value="w1"' in accepted.text and 'value="wk-gone"' not in accepted.text  # only who can work
        reassign = await phone.post(desk, data={"action": "assign", "worker": "wk-gone"})
        assert reassign.status_code == 422 and "deactivated" in reassign.text

        third = (await admin.post("/api/v1/orders", json=order_in)).json()["id"]
        desk = _path(
            (await admin.post(f"/api/v1/orders/{third}/desk-link", json={"username": "p1-desk"})).json()["url"]
        )
        body = {"name": "金水助餐中心", "org_node": "D1", "areas": ["D1"], "active": False}
        assert (await admin.put("/api/v1/providers/P1", json=body)).status_code == 200
        refused(await phone.get(desk))
        refused(await phone.post(desk, data={"action": "accept"}))
        assert (await admin.get(f"/api/v1/orders/{third}")).json()["state"] == "requested"
