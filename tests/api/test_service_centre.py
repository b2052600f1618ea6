"""The service centre over HTTP on a running platform: a call taken, an order placed and followed to
completion by the provider's desk and the worker's phone page, refused moves as 409 with the reason,
one provider blind to another's orders, a phone-reported emergency in the alert queue, the roles."""

from __future__ import annotations

import asyncio
import html
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import openpyxl
import pytest_asyncio
import websockets

from registry.area import Area
from registry.store import ResidentRecord
from servicecentre import Reach
from servicecentre.export import COLUMNS, to_csv, to_xlsx
from tests.harness import Harness, running_platform
from tests.services import TestServices

PASSWORD = "a-long-password-1"
NAMES = [name for name, _ in COLUMNS]


@dataclass
class Centre:
    harness: Harness
    tokens: dict[str, str]

    def client(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.harness.http_url, headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def centre(services: TestServices) -> AsyncIterator[Centre]:
    async with running_platform(services, residents=0) as harness:
        platform = harness.platform
        for code, name, level, parent in (
            ("C", "郑州市", "city", None),
            ("D1", "金水区", "district", "C"),
            ("D2", "二七区", "district", "C"),
        ):
            await platform.registry.add_org_node(code, name, level, parent)
        await platform.registry.add_resident(
            ResidentRecord("r1", "王秀英", "金水路 1 号", "13900000001", date(1938, 2, 1), "D1")
        )
        await platform.registry.add_resident(ResidentRecord("r2", "李桂兰", "", "13900000002", date(1941, 1, 1), "D2"))
        users = platform.users
        for username, role, node in (
            ("d1-op", "operator", "D1"),
            ("d1-admin", "admin", "D1"),
            ("d2-op", "operator", "D2"),
            ("p1-desk", "provider", "D1"),
            ("p2-desk", "provider", "D1"),
            ("r1-family", "family", None),
        ):
            await users.add(username, PASSWORD, role, org_node=node, resident_id="r1" if role == "family" else None)
        tokens = {}
        async with httpx.AsyncClient(base_url=harness.http_url) as http:
            for username in ("d1-op", "d1-admin", "d2-op", "p1-desk", "p2-desk", "r1-family"):
                response = await http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
                tokens[username] = response.json()["access_token"]
        world = Centre(harness, tokens)
        async with world.client("d1-admin") as admin:
            for path, body in (
                ("/api/v1/service-menu/categories/meal", {"name": "助餐", "name_en": "Meals"}),
                ("/api/v1/service-menu/items/lunch", {"category": "meal", "name": "午餐", "unit": "份",
                                                      "price_fen": 1500, "subsidised": True, "subsidy_fen": 500}),
                ("/api/v1/providers/P1", {"name": "金水助餐中心", "licence": "L-1", "areas": ["D1"]}),
                ("/api/v1/providers/P2", {"name": "另一家", "areas": ["D1"]}),
                ("/api/v1/providers/P1/offers/lunch", {"price_fen": 1200}),
                ("/api/v1/providers/P2/offers/lunch", {"price_fen": 1300}),
                ("/api/v1/providers/P1/staff/p1-desk", {"name": "调度"}),
                ("/api/v1/providers/P1/staff/w1", {"name": "张师傅"}),
                ("/api/v1/providers/P2/staff/p2-desk", {}),
                ("/api/v1/service-sites/S1", {"name": "黄河社区长者饭堂", "type": "canteen", "org_node": "D1",
                                              "capacity": 80, "provider_id": "P1"}),
            ):  # fmt: skip
                response = await admin.put(path, json=body)
                assert response.status_code == 200, (path, response.text)
        yield world


async def test_a_call_becomes_an_order_followed_to_completion(centre: Centre) -> None:
    async with centre.client("d1-op") as op, centre.client("p1-desk") as desk:
        call = (await op.post("/api/v1/calls", json={"number": "139-0000-0001", "category": "service_request"})).json()
        assert call["resident_id"] == "r1"
        card = (await op.get("/api/v1/calls/caller", params={"number": "13900000001"})).json()
        assert [r["name"] for r in card["residents"]] == ["王秀英"] and card["residents"][0]["open_orders"] == []
        when = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        placed = await op.post("/api/v1/orders", json={"resident_id": "r1", "item_id": "lunch", "provider_id": "P1",
                                                       "scheduled_at": when, "call_id": call["id"]})  # fmt: skip
        assert placed.status_code == 201, placed.text
        order = placed.json()
        assert (order["subsidy_fen"], order["resident_fen"], order["resident"]["name"]) == (500, 700, "王秀英")
        await op.patch(f"/api/v1/calls/{call['id']}", json={"order_id": order["id"], "notes": "订午餐"})
        oid = order["id"]
        refused = await desk.post(f"/api/v1/orders/{oid}/complete")
        assert refused.status_code == 409 and "cannot become completed" in refused.json()["detail"]
        assert (await desk.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "x"})).status_code == 403
        assert (await desk.post(f"/api/v1/orders/{oid}/accept")).json()["state"] == "accepted"
        assert (await desk.post(f"/api/v1/orders/{oid}/assign", json={"worker": "w1"})).json()["worker"] == "w1"
        link = (await desk.post(f"/api/v1/orders/{oid}/worker-link")).json()["url"]
        path = re.sub(r"^https?://[^/]+", "", link)
        async with httpx.AsyncClient(base_url=centre.harness.http_url) as phone:
            page = await phone.get(path)
            assert page.status_code == 200 and "金水路 1 号" in page.text and "签到" in page.text
            checked = await phone.post(path, data={"action": "check_in"})
            assert "服务中" in checked.text and "服务完成" in checked.text
            await phone.post(path, data={"action": "complete"})
            closed = await phone.get(path)
            assert "已完成" in closed.text and "金水路" not in closed.text  # nothing personal once closed
            again = await phone.post(path, data={"action": "check_in"})
            assert again.status_code == 409
            forged = await phone.get(path[:-3] + "abc")
            assert forged.status_code == 403
    async with centre.client("r1-family") as family:
        rated = await family.post(f"/api/v1/orders/{oid}/rate", json={"rating": 5, "note": "很满意"})
        assert rated.status_code == 200 and rated.json()["state"] == "rated"
        assert [o["id"] for o in (await family.get("/api/v1/orders")).json()] == [oid]
        detail = (await family.get(f"/api/v1/orders/{oid}")).json()
        assert [a["action"] for a in detail["audit"]] == [
            "requested", "accepted", "assigned", "checked_in", "completed", "rated"
        ]  # fmt: skip
    async with centre.client("d1-op") as op:
        now = datetime.now(UTC)
        window = {
            "by": "provider",
            "from": (now - timedelta(days=1)).isoformat(),
            "to": (now + timedelta(days=1)).isoformat(),
        }
        report = (await op.get("/api/v1/reports/orders", params=window)).json()
        assert report["total"]["completed"] == 1 and report["total"]["rating"] == 5.0
        # the care indicators of the order's month carry the service orders of the operator's district
        month = (datetime.fromisoformat(order["scheduled_at"]) + timedelta(hours=8)).strftime("%Y-%m")
        indicators = (await op.get("/api/v1/care/indicators", params={"month": month})).json()
        orders = indicators["total"]["orders"]
        assert (orders["completed"], orders["rating"], orders["ratings"]) == (1, 5.0, 1), orders
        assert orders["orders"] >= 1 and orders["on_time"] == 1  # checked in on time (before its slot): judged at once
        [here] = [entry for entry in indicators["areas"] if entry["code"] == ""]  # r1 lives at D1 itself
        assert here["orders"] == orders
        csv_text = (await op.get("/api/v1/care/indicators.csv", params={"month": month})).text
        header, *_, total_row = csv_text.splitlines()
        columns = dict(zip(header.split(","), total_row.split(","), strict=True))
        assert (columns["orders_completed"], columns["orders_rating"]) == ("1", "5.0")


async def test_a_provider_never_sees_another_providers_orders_and_a_district_not_anothers(centre: Centre) -> None:
    when = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    async with centre.client("d1-op") as op:
        order = (await op.post("/api/v1/orders", json={"resident_id": "r1", "item_id": "lunch",
                                                       "provider_id": "P2", "scheduled_at": when})).json()  # fmt: skip
    async with centre.client("p1-desk") as p1, centre.client("p2-desk") as p2, centre.client("d2-op") as d2:
        assert order["id"] not in [o["id"] for o in (await p1.get("/api/v1/orders")).json()]
        assert (await p1.get(f"/api/v1/orders/{order['id']}")).status_code == 404
        assert (await p1.post(f"/api/v1/orders/{order['id']}/accept")).status_code == 404
        assert [o["id"] for o in (await p2.get("/api/v1/orders")).json()] == [order["id"]]
        assert (await d2.get(f"/api/v1/orders/{order['id']}")).status_code == 404
        assert (await d2.get("/api/v1/orders")).json() == []
        assert (await d2.post("/api/v1/orders", json={"resident_id": "r1", "item_id": "lunch", "provider_id": "P1",
                                                      "scheduled_at": when})).status_code == 404  # fmt: skip
        # a provider's staff see nothing of the registry or the alert queue
        assert (await p1.get("/api/v1/residents")).json()["items"] == []
        assert (await p1.get("/api/v1/alerts")).json() == []
        assert (await p1.get("/api/v1/calls")).status_code == 403
        assert [p["id"] for p in (await p1.get("/api/v1/providers")).json()] == ["P1"]


async def test_an_emergency_by_phone_rings_in_the_alert_queue(centre: Centre) -> None:
    async with centre.client("d1-op") as op, centre.client("d2-op") as d2:
        call = (await op.post("/api/v1/calls", json={"number": "13900000001", "category": "emergency"})).json()
        raised = await op.post(f"/api/v1/calls/{call['id']}/alert", json={"note": "胸口痛"})
        assert raised.status_code == 200, raised.text
        alert_id = raised.json()["alert_id"]
        queue = (await op.get("/api/v1/alerts")).json()
        [alert] = [a for a in queue if a["id"] == alert_id]
        assert (alert["kind"], alert["state"], alert["device_id"]) == ("phone", "raised", f"phone:{call['id']}")
        acked = await op.post(f"/api/v1/alerts/{alert_id}/ack", json={"note": "on the line"})
        assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
        assert (await d2.get(f"/api/v1/alerts/{alert_id}")).status_code == 404
        assert (await d2.post(f"/api/v1/calls/{call['id']}/alert", json={})).status_code == 404
        card = (await op.get("/api/v1/calls/caller", params={"number": "13900000001"})).json()
        assert alert_id in [a["id"] for a in card["residents"][0]["open_alerts"]]
        sla = (await op.get("/api/v1/reports/sla")).json()
        assert sla["calls"]["total"]["calls"] >= 2


async def test_the_order_report_exports_as_csv_and_xlsx(centre: Centre) -> None:
    now = datetime.now(UTC)
    window = {
        "by": "provider",
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }
    async with centre.client("d1-op") as op:
        report = (await op.get("/api/v1/reports/orders", params=window)).json()
        csv_answer = await op.get("/api/v1/reports/orders", params={**window, "format": "csv"})
        xlsx_answer = await op.get("/api/v1/reports/orders", params={**window, "format": "xlsx"})
    assert csv_answer.headers["content-type"].startswith("text/csv")
    lines = csv_answer.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("provider,工单 orders") and len(lines) == len(report["groups"]) + 2
    assert lines[-1].startswith(f"total 合计,{report['total']['orders']},")
    book = openpyxl.load_workbook(io.BytesIO(xlsx_answer.content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "provider" and rows[-1][1] == report["total"]["orders"]


def test_formula_cells_are_neutralised_in_both_formats() -> None:
    report = {"by": "provider", "groups": [{"provider": "=HYPERLINK(\"x\")", **dict.fromkeys(NAMES, 1)}],
              "total": dict.fromkeys(NAMES, 1)}  # fmt: skip
    assert "'=HYPERLINK" in to_csv(report).decode("utf-8-sig")
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(report))).active
    assert sheet.cell(row=2, column=1).value == '\'=HYPERLINK("x")' and sheet.cell(row=2, column=1).data_type == "s"


async def _feed(centre: Centre, who: str, orders: bool = True) -> Any:
    query = f"?{'orders=1&' if orders else ''}token={centre.tokens[who]}"
    ws = await websockets.connect(f"{centre.harness.ws_url}/api/v1/ws/console{query}")
    assert json.loads(await ws.recv())["type"] == "snapshot"
    return ws


async def _next(ws: Any) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), 20)))


async def test_order_events_reach_the_consoles_of_their_area_live(centre: Centre) -> None:
    """The console's websocket with ``?orders=1`` (the /service page) streams each order event to the
    consoles whose area holds the order, in the order they happened; without it, alerts only."""
    service = centre.harness.platform.service_centre
    root = Reach(Area(), None, "test")
    await service.menu.put_provider({"id": "P3", "name": "二七助餐", "org_node": "D2", "areas": ["D2"]}, root)
    await service.menu.offer("P3", "lunch", 1100, root)
    d1, d2, plain = await _feed(centre, "d1-op"), await _feed(centre, "d2-op"), await _feed(centre, "d1-op", False)
    try:
        when = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        async with centre.client("d1-op") as op, centre.client("p1-desk") as desk, centre.client("d2-op") as op2:
            lunch = {"item_id": "lunch", "scheduled_at": when}
            order = (await op.post("/api/v1/orders", json={**lunch, "resident_id": "r1", "provider_id": "P1"})).json()
            await desk.post(f"/api/v1/orders/{order['id']}/accept")
            theirs = (await op2.post("/api/v1/orders", json={**lunch, "resident_id": "r2", "provider_id": "P3"})).json()
            call = (await op.post("/api/v1/calls", json={"number": "13900000001", "category": "emergency"})).json()
            await op.post(f"/api/v1/calls/{call['id']}/alert", json={})
            await op.patch(f"/api/v1/calls/{call['id']}", json={"order_id": order["id"]})
            produced = (await op.get(f"/api/v1/calls/{call['id']}")).json()  # what the call produced
            assert (produced["alert"]["kind"], produced["alert"]["resident"]["name"]) == ("phone", "王秀英")
            assert (produced["order"]["id"], produced["order"]["state"]) == (order["id"], "accepted")
        placed, accepted, alert = await _next(d1), await _next(d1), await _next(d1)
        assert (placed["type"], placed["order"]["id"], placed["actor"]) == ("order.requested", order["id"], "d1-op")
        assert placed["order"]["resident"]["name"] == "王秀英" and placed["order"]["state"] == "requested"
        assert (accepted["type"], accepted["order"]["state"], accepted["actor"]) == (
            "order.accepted", "accepted", "p1-desk"
        )  # fmt: skip
        assert alert["type"].startswith("alert.")  # D2's order passed this console by
        first = await _next(d2)  # D1's order events were published before D2's: never sent here
        assert (first["type"], first["order"]["id"]) == ("order.requested", theirs["id"])
        assert (await _next(plain))["type"].startswith("alert.")  # no order events unless asked for
    finally:
        for ws in (d1, d2, plain):
            await ws.close()


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


async def test_the_providers_desk_acts_from_a_phone_link(centre: Centre) -> None:
    when = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    order_in = {"resident_id": "r1", "item_id": "lunch", "provider_id": "P1", "scheduled_at": when}
    async with centre.client("d1-op") as op, centre.client("p1-desk") as desk, centre.client("p2-desk") as p2:
        served, refused = [(await op.post("/api/v1/orders", json=order_in)).json()["id"] for _ in range(2)]
        assert (await p2.post(f"/api/v1/orders/{served}/desk-link")).status_code == 404
        assert (await op.post(f"/api/v1/orders/{served}/desk-link")).status_code == 422  # whose link?
        not_staff = await op.post(f"/api/v1/orders/{served}/desk-link", json={"username": "p2-desk"})
        assert not_staff.status_code == 404
        by_centre = (await op.post(f"/api/v1/orders/{served}/desk-link", json={"username": "p1-desk"})).json()
        link = (await desk.post(f"/api/v1/orders/{served}/desk-link")).json()
        assert link["username"] == by_centre["username"] == "p1-desk" and "/p/" in link["url"]
        refusal = _path((await desk.post(f"/api/v1/orders/{refused}/desk-link")).json()["url"])
    path = _path(link["url"])
    async with httpx.AsyncClient(base_url=centre.harness.http_url) as phone:
        page = await phone.get(path)
        assert page.status_code == 200 and "午餐" in page.text and "金水路 1 号" in page.text
        assert "接单" in page.text and "拒单" in page.text and "派工" not in page.text
        assert (await phone.post(path, data={"action": "check_in"})).status_code == 422  # not a desk's step
        accepted = await phone.post(path, data={"action": "accept"})
        assert "已接单" in accepted.text and 'value="w1"' in accepted.text  # the staff to assign
        assigned = await phone.post(path, data={"action": "assign", "worker": "w1"})
        assert "已派工" in assigned.text and "/w/" in assigned.text  # the worker's link, to pass on
        worker_link = re.search(r'href="(https?://[^"]+/w/[^"]+)"', assigned.text)
        assert worker_link is not None
        worker_page = await phone.get(_path(html.unescape(worker_link.group(1))))
        assert "签到" in worker_page.text
        again = await phone.post(path, data={"action": "accept"})
        assert again.status_code == 409 and "cannot become accepted" in again.text
        no_reason = await phone.post(refusal, data={"action": "refuse"})
        assert no_reason.status_code == 422 and "with a reason" in no_reason.text
        refusing = await phone.post(refusal, data={"action": "refuse", "reason": "人手不足"})
        assert "已拒单" in refusing.text and "金水路" not in refusing.text  # closed: the state only
        assert (await phone.get(path[:-3] + "abc")).status_code == 403
        assert (await phone.get(path.replace("/p/", "/w/"))).status_code == 403  # a desk link is not a worker's
    async with centre.client("d1-op") as op:
        detail = (await op.get(f"/api/v1/orders/{served}")).json()
        assert (detail["state"], detail["worker"]) == ("assigned", "w1")
        assert [(a["action"], a["actor"]) for a in detail["audit"]][1:] == [
            ("accepted", "desk:p1-desk"), ("assigned", "desk:p1-desk")
        ]  # fmt: skip
        assert (await op.get(f"/api/v1/orders/{refused}")).json()["reason"] == "人手不足"


async def test_the_board_of_an_area_and_subsidy_per_area_and_month(centre: Centre) -> None:
    async with centre.client("d1-admin") as admin, centre.client("d1-op") as op:
        board = (await admin.get("/api/v1/orders", params={"area": "D1"})).json()
        assert board and {o["org_path"] for o in board} == {"/C/D1/"}
        assert (await admin.get("/api/v1/orders", params={"area": "D2"})).status_code == 404
        assert (await admin.get("/api/v1/orders", params={"area": "nowhere"})).status_code == 404
        now = datetime.now(UTC)
        window = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
        report = (await op.get("/api/v1/reports/orders", params={**window, "by": "area_month"})).json()
        assert report["keys"] == ["area", "month"]
        assert {(g["area"], len(g["month"])) for g in report["groups"]} <= {(None, 7)}  # the operator's own district
        assert sum(g["orders"] for g in report["groups"]) == report["total"]["orders"] > 0
        sheet = await op.get("/api/v1/reports/orders", params={**window, "by": "area_month", "format": "csv"})
    lines = sheet.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("area,month,工单 orders") and lines[-1].startswith("total 合计,,")
