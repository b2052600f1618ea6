"""Any request, any field value: a clear 4xx with its reason, never a 500, and nothing else lost.

Found by black-box fuzzing on a real platform: a lone surrogate (``"\\ud800"``) or a NUL in a body,
a login name with a NUL, a CSV header cell over the field limit, a date at the edge of the range, null
for a column that cannot be empty, and a console client that leaves before its snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets

from registry.store import ResidentRecord
from stream.detections import Detection, DetectionKind
from tests.api.problems import names_field
from tests.harness import Harness, running_platform
from tests.orgs import add_org_tree
from tests.services import TestServices

CITY = {"C1 郑州市": {"D1 金水区": {"S1 经八路街道": ["A1 黄河社区"]}}}
PASSWORD = "a-long-password-1"
NUL = "a\x00b"
EDGES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")


@dataclass
class World:
    harness: Harness
    alert_id: uuid.UUID
    order_id: str

    def ids(self, path: str) -> str:
        return path.format(alert=self.alert_id, order=self.order_id)


def later() -> str:
    return (datetime.now(UTC) + timedelta(hours=2)).isoformat()


async def raise_alert(harness: Harness) -> uuid.UUID:
    ms = int(datetime.now(UTC).timestamp() * 1000)
    detection = Detection("r1", "btn-r1", DetectionKind.SOS, ms, ms, f"btn-r1:sos:{ms}:{uuid.uuid4()}")
    [raised] = await harness.platform.alerts.raise_detections([detection])
    return raised.alert.id


async def send(http: httpx.AsyncClient, method: str, path: str, body: Any) -> httpx.Response:
    """``body`` as JSON, with ``\\uXXXX`` escapes for what UTF-8 cannot carry (a lone surrogate)."""
    return await http.request(method, path, content=json.dumps(body), headers={"content-type": "application/json"})


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(services: TestServices) -> AsyncIterator[World]:
    async with running_platform(services, residents=0) as harness:
        platform = harness.platform
        await add_org_tree(platform.registry, CITY)
        await platform.registry.add_resident(
            ResidentRecord("r1", "王秀英", "金水路 1 号", "13900000001", date(1938, 2, 1), "A1")
        )
        await platform.users.add("p1-desk", PASSWORD, "provider", org_node="D1")
        async with harness.http() as admin:
            for path, body in (
                ("/api/v1/service-menu/categories/meal", {"name": "助餐"}),
                (
                    "/api/v1/service-menu/items/lunch",
                    {"category": "meal", "name": "午餐", "unit": "份", "price_fen": 1500},
                ),
                ("/api/v1/providers/P1", {"name": "金水助餐中心", "areas": ["D1"]}),
                ("/api/v1/providers/P1/offers/lunch", {"price_fen": 1200}),
                ("/api/v1/providers/P1/staff/p1-desk", {"name": "调度"}),
            ):
                response = await admin.put(path, json=body)
                assert response.status_code == 200, (path, response.text)
            order = {"resident_id": "r1", "item_id": "lunch", "provider_id": "P1", "scheduled_at": later()}
            placed = await admin.post("/api/v1/orders", json=order)
            assert placed.status_code == 201, placed.text
        yield World(harness, await raise_alert(harness), placed.json()["id"])


# ------------------------------------------------------------------------------ 5 lone surrogates


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/orgs", {"code": "X9", "name": "\ud800", "level": "district", "parent": "C1"}, "name"),
        ("POST", "/api/v1/alerts/{alert}/note", {"note": "\ud800"}, "note"),
        ("POST", "/api/v1/alerts/{alert}/ack", {"note": "\udfff"}, "note"),
        ("PATCH", "/api/v1/residents/r1", {"name": "\ud800"}, "name"),
        # plain str fields, which pydantic lets a lone surrogate through, to the database
        ("PUT", "/api/v1/responders/resp-s", {"name": "n", "kind": "volunteer", "org_node": "\ud800"}, "org_node"),
        ("PUT", "/api/v1/providers/P-s", {"name": "n", "areas": ["D1\ud800"]}, "areas"),
        ("PUT", "/api/v1/notify/contacts/r1", [{"name": "n", "urls": ["json://x/a"], "kinds": ["\ud800"]}], "kinds"),
    ],
)
async def test_a_lone_surrogate_in_a_body_is_refused_naming_its_field(
    world: World, method: str, path: str, body: Any, field: str
) -> None:
    async with world.harness.http() as admin:
        response = await send(admin, method, world.ids(path), body)
    assert response.status_code == 422, response.text
    assert any(problem["loc"][-1] == field for problem in response.json()["detail"]), response.text


async def test_a_domain_error_quoting_a_lone_surrogate_is_answered(world: World) -> None:
    async with world.harness.http() as admin:
        unknown = await send(admin, "PUT", "/api/v1/escalation/areas/D1", {"\ud800": 1})
        assert unknown.status_code == 422 and unknown.json() == {"detail": "unknown escalation settings: \\ud800"}
        url = await send(admin, "PUT", "/api/v1/escalation/areas/D1", {"supervisor_urls": ["json://x/\ud800"]})
        assert url.status_code == 422 and "Apprise URLs" in url.json()["detail"], url.text


# --------------------------------------------------------------------------------- 6 NUL characters


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/calls", {"number": "13900000001", "category": "consultation", "notes": NUL}, "notes"),
        ("POST", "/api/v1/calls", {"category": "consultation", "resident_id": NUL}, "resident_id"),
        ("POST", "/api/v1/complaints", {"text": NUL}, "text"),
        ("POST", "/api/v1/complaints", {"text": "t", "provider_id": NUL}, "provider_id"),
        ("POST", "/api/v1/orders", {"resident_id": "r1", "item_id": "lunch", "provider_id": "P1",
                                    "scheduled_at": "2030-01-01T11:30:00+08:00", "notes": NUL}, "notes"),
        ("POST", "/api/v1/orders", {"resident_id": "r1", "item_id": "lunch", "provider_id": NUL,
                                    "scheduled_at": "2030-01-01T11:30:00+08:00"}, "provider_id"),
        ("POST", "/api/v1/orders/{order}/refuse", {"reason": NUL}, "reason"),
        ("POST", "/api/v1/order-plans", {"resident_id": "r1", "item_id": NUL, "provider_id": "P1", "weekdays": [1],
                                         "local_time": "11:30", "starts_on": "2030-01-01"}, "item_id"),
        ("PUT", "/api/v1/service-menu/categories/c9", {"name": NUL}, "name"),
        ("PUT", "/api/v1/service-menu/items/i9", {"category": "meal", "name": "n", "unit": NUL, "price_fen": 1},
         "unit"),
        ("PUT", "/api/v1/service-sites/s9", {"type": "canteen", "name": NUL, "org_node": "A1"}, "name"),
        ("PUT", "/api/v1/providers/p9", {"name": "n", "areas": [NUL]}, "areas"),
        ("PUT", "/api/v1/providers/P1/staff/p1-desk", {"name": NUL}, "name"),
        ("PUT", "/api/v1/responders/resp-n", {"name": NUL, "kind": "volunteer", "org_node": "A1"}, "name"),
        ("PUT", "/api/v1/notify/contacts/r1", [{"name": "n", "urls": [f"json://example.com/{NUL}"]}], "urls"),
    ],
)  # fmt: skip
async def test_a_nul_in_body_text_is_refused_naming_its_field(
    world: World, method: str, path: str, body: Any, field: str
) -> None:
    async with world.harness.http() as admin:
        response = await send(admin, method, world.ids(path), body)
    assert response.status_code == 422, response.text
    assert names_field(response.json(), field, "NUL characters"), response.text


async def test_a_nul_in_an_escalation_url_is_refused(world: World) -> None:
    async with world.harness.http() as admin:
        response = await send(admin, "PUT", "/api/v1/escalation/areas/D1", {"supervisor_urls": [f"json://x/{NUL}"]})
    assert response.status_code == 422 and "Apprise URLs" in response.json()["detail"], response.text


async def test_an_alert_refused_notes_with_a_nul_is_handled_as_usual(world: World) -> None:
    path = f"/api/v1/alerts/{world.alert_id}"
    async with world.harness.http() as admin:
        for action, body in (
            ("note", {"note": NUL}),
            ("ack", {"note": NUL}),
            ("contact", {"reached": False, "note": NUL}),
            ("resolve", {"outcome": "false_alarm", "note": NUL}),
        ):
            response = await send(admin, "POST", f"{path}/{action}", body)
            assert response.status_code == 422 and names_field(response.json(), "note", "NUL"), response.text
        assert (await admin.post(f"{path}/ack", json={"note": "called her"})).status_code == 200
        resolved = await admin.post(f"{path}/resolve", json={"outcome": "false_alarm", "note": "pressed by mistake"})
        assert resolved.status_code == 200 and resolved.json()["state"] == "resolved", resolved.text


async def test_a_login_name_with_a_nul_is_a_wrong_name(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.harness.http_url) as http:
        answers = [
            await http.post("/api/v1/auth/token", data={"username": name, "password": "wrong-password"})
            for name in ("ad\x00min", "nobody")
        ]
    assert [(a.status_code, a.json()) for a in answers] == [(401, {"detail": "wrong username or password"})] * 2


async def test_a_nul_in_a_link_pages_form_is_refused_naming_its_field(world: World) -> None:
    signer = await world.harness.platform.alerts.ctx.links()
    alert_id = await raise_alert(world.harness)  # open, so that an answer would be recorded
    family = signer.sign(str(alert_id), "family", "r1:1", datetime.now(UTC) + timedelta(hours=1))
    async with world.harness.http() as admin:
        link = await admin.post(f"/api/v1/orders/{world.order_id}/desk-link", json={"username": "p1-desk"})
        assert link.status_code == 200, link.text
    desk = httpx.URL(link.json()["url"]).path
    async with httpx.AsyncClient(base_url=world.harness.http_url) as phone:
        answered = await phone.post(f"/f/{family}", data={"do": "going", "note": NUL})
        refused = await phone.post(desk, data={"action": "refuse", "reason": NUL})
    assert answered.status_code == 422 and names_field(answered.json(), "note", "NUL"), answered.text
    assert refused.status_code == 422 and names_field(refused.json(), "reason", "NUL"), refused.text


# ------------------------------------------------------------------------ 7 a CSV header cell too big


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/api/v1/imports/residents", "external_id,name,org_node,"),
        ("/api/v1/imports/devices", ""),
        ("/api/v1/care/imports/categories", "resident_id,category,valid_from,"),
    ],
)
async def test_a_csv_header_cell_over_the_field_limit_is_refused_like_any_unreadable_line(
    world: World, path: str, header: str
) -> None:
    text = header + "x" * (130 * 1024) + "\n"
    async with world.harness.http() as admin:
        response = await admin.post(path, content=text, headers={"content-type": "text/csv"})
    assert response.status_code == 422, response.text[:300]
    assert response.json()["detail"] == "CSV line 1 cannot be read: field larger than field limit (131072)"


# ---------------------------------------------------------------------- 8 dates at the edge of the range


@pytest.mark.parametrize("edge", EDGES)
async def test_a_moment_at_the_edge_of_the_range_is_refused_naming_it(world: World, edge: str) -> None:
    says = "greater than or equal" if edge.startswith("0001") else "less than or equal"
    async with world.harness.http() as admin:
        for path in ("/api/v1/reports/sla", "/api/v1/reports/orders"):
            for name in ("from", "to"):
                response = await admin.get(path, params={name: edge})
                assert response.status_code == 422 and names_field(response.json(), name, says), response.text
        for path, body, field in (
            ("/api/v1/orders", {"resident_id": "r1", "item_id": "lunch", "provider_id": "P1", "scheduled_at": edge},
             "scheduled_at"),
            ("/api/v1/calls", {"category": "consultation", "started_at": edge}, "started_at"),
            ("/api/v1/care/residents/r1/visits", {"at": edge, "mode": "phone"}, "at"),
        ):  # fmt: skip
            response = await admin.post(path, json=body)
            assert response.status_code == 422 and names_field(response.json(), field, says), (path, response.text)
        for path in ("/api/v1/care/members", "/api/v1/care/ability-levels"):
            response = await admin.get(path, params={"on": edge[:10]})
            assert response.status_code == 422 and names_field(response.json(), "on", says), (path, response.text)
        plan = {"resident_id": "r1", "item_id": "lunch", "provider_id": "P1", "weekdays": [1], "local_time": "11:30"}
        response = await admin.post("/api/v1/order-plans", json={**plan, "starts_on": edge[:10]})
        assert response.status_code == 422 and names_field(response.json(), "starts_on", says), response.text
        whole = {"from": "1900-01-01T00:00:00+00:00", "to": "2200-12-31T23:59:59+00:00"}  # the range itself is fine
        for path in ("/api/v1/reports/sla", "/api/v1/reports/orders"):
            assert (await admin.get(path, params=whole)).status_code == 200
            assert (await admin.get(path, params={"to": whole["from"]})).status_code == 200  # 'from': before 1900


# --------------------------------------------------------------------- 9 null for a NOT NULL column


@pytest.mark.parametrize("field", ["address", "phone", "consent_monitoring", "consent_data_sharing"])
async def test_null_for_a_resident_column_that_cannot_be_empty_is_refused(world: World, field: str) -> None:
    async with world.harness.http() as admin:
        response = await admin.patch("/api/v1/residents/r1", json={field: None})
        assert response.status_code == 422 and response.json() == {"detail": f"{field} cannot be null"}
        assert (await admin.get("/api/v1/residents/r1")).json()[field] is not None


# ---------------------------------------------------------- the console client gone before its snapshot


async def test_a_console_client_leaving_before_its_snapshot_is_no_error(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import api.console

    views = api.console.alert_views
    gone = asyncio.Event()

    async def after_the_client_left(*args: Any, **kwargs: Any) -> Any:
        await asyncio.wait_for(gone.wait(), 5)
        await asyncio.sleep(0.3)  # the server has read the disconnect
        return await views(*args, **kwargs)

    monkeypatch.setattr(api.console, "alert_views", after_the_client_left)
    harness = world.harness
    with caplog.at_level(logging.ERROR):
        ws = await websockets.connect(f"{harness.ws_url}/api/v1/ws/console?token={harness.token}")
        ws.transport.abort()
        gone.set()
        await asyncio.sleep(1.0)
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []
    assert harness.platform.health()["console_subscribers"] == 0
