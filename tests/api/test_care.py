"""The care API end to end on the running platform: a visit that raises an alert on the console,
assessments scored by the server, the population import and the indicator exports, bad input refused."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from openpyxl import load_workbook

from tests.harness import running_platform
from tests.services import TestServices

CST = timezone(timedelta(hours=8))


async def test_care_api(services: TestServices) -> None:
    async with running_platform(services, residents=1) as harness:
        registry = harness.platform.registry
        await registry.add_org_node("C1", "郑州市", "city")
        await registry.add_org_node("D1", "金水区", "district", "C1")
        await registry.add_org_node("S1", "经八路街道", "street", "D1")
        await registry.add_org_node("A1", "黄河社区", "community", "S1")
        async with harness.http() as http:
            await http.patch("/api/v1/residents/res-1", json={"org_node": "A1"})
            category = {"category": "living_alone", "valid_from": "2026-01-01", "source": "民政台账"}
            added = await http.post("/api/v1/care/residents/res-1/categories", json=category)
            assert added.status_code == 201, added.text
            now = datetime.now(CST).replace(microsecond=0)
            visit = await http.post("/api/v1/care/residents/res-1/visits", json={
                "at": now.isoformat(), "mode": "in_person", "findings": {"health": "fell last night, bruised"},
                "raise_alert": True})  # fmt: skip
            assert visit.status_code == 201, visit.text
            alert_id = visit.json()["alert_id"]
            opened = (await http.get("/api/v1/alerts")).json()
            alerts = opened["items"] if isinstance(opened, dict) else opened
            assert [(a["id"], a["kind"]) for a in alerts if a["id"] == alert_id] == [(alert_id, "care_concern")]

            for bad in ({"at": now.isoformat(), "mode": "carrier pigeon"}, {"at": now.replace(tzinfo=None).isoformat(),
                        "mode": "phone"}, {"at": (now + timedelta(days=2)).isoformat(), "mode": "phone"}):  # fmt: skip
                refused = await http.post("/api/v1/care/residents/res-1/visits", json=bad)
                assert refused.status_code == 422, (bad, refused.text)

            instrument = (await http.get("/api/v1/care/instruments/gbt42195-2022")).json()
            answers = {item["code"]: item["max"] for item in instrument["items"]}
            assessment = {"assessor": "张评估员", "assessed_on": "2026-01-05", "answers": answers}
            scored = await http.post("/api/v1/care/residents/res-1/assessments", json=assessment)
            assert scored.status_code == 201, scored.text
            assert (scored.json()["total"], scored.json()["level"]) == (90, "intact")
            for value in ('"4"', "4.5", "null", "-1", "5", "true"):
                refused = await http.post("/api/v1/care/residents/res-1/assessments", content=(
                    '{"assessor": "x", "assessed_on": "2026-01-05", "answers": {"eating": ' + value + "}}"),
                    headers={"content-type": "application/json"})  # fmt: skip
                assert refused.status_code == 422, (value, refused.text)

            population = "org_node,year,age_band,category,people\nA1,2026,60-69,all,40\nA1,2026,70-79,all,10\n"
            imported = await http.post("/api/v1/care/population", content=population.encode(),
                                       headers={"content-type": "text/csv"})  # fmt: skip
            assert imported.json() == {"imported": 2}
            nan = b"org_node,year,age_band,category,people\nA1,2026,60-69,all,NaN\n"
            bad = await http.post("/api/v1/care/population", content=nan, headers={"content-type": "text/csv"})
            assert bad.status_code == 422 and "line 2" in bad.json()["detail"]
            for garbage in (
                b"\ro\xf4\x8b\x80\xaa\xf1\x8f\xa2\xae",
                b"\xff\xfe",
                b'a,b\n"unclosed\n',
                b"org_node\x00,year\n",
            ):
                refused = await http.post(
                    "/api/v1/care/population", content=garbage, headers={"content-type": "text/csv"}
                )
                assert refused.status_code == 422, (
                    garbage,
                    refused.status_code,
                    refused.text,
                )  # was a 500 for the first

            month = now.strftime("%Y-%m")
            report = (await http.get("/api/v1/care/indicators", params={"month": month, "area": "S1"})).json()
            a1 = report["areas"][0]
            assert (a1["code"], a1["residents"], a1["population"], a1["enrolment"]) == ("A1", 1, 50, 0.02)
            assert (a1["visits_due"], a1["visited"], a1["visit_rate"]) == (1, 1, 1.0)
            text = (await http.get("/api/v1/care/indicators.csv", params={"month": month, "area": "S1"})).text
            assert text.splitlines()[1].startswith(f"{month},A1,黄河社区,50,1,0.02,")
            xlsx = await http.get("/api/v1/care/indicators.xlsx", params={"month": month, "area": "S1"})
            rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
            assert rows[1][:5] == (month, "A1", "黄河社区", 50, 1)
            await _dashboard_calls_and_import(harness, http, month)
            await _infinity_is_refused(http)  # last: it ends the test as an expected failure while the bug stands


async def _dashboard_calls_and_import(harness: Any, http: httpx.AsyncClient, month: str) -> None:
    """The dashboard of an area and a child area, a street supervisor kept to their street, the care-call
    queue from claim to a reached call, the category import."""
    registry = harness.platform.registry
    await registry.add_org_node("S2", "花园路街道", "street", "D1")
    await harness.platform.users.add("s2-care", "street-supervisor-password-1", role="supervisor", org_node="S2")
    board = (await http.get("/api/v1/care/dashboard", params={"month": month, "area": "D1"})).json()
    assert [node["code"] for node in board["trail"]] == ["C1", "D1"] and board["this_month"] == month
    assert [area["code"] for area in board["areas"]] == ["S1"] and board["total"]["visits_due"] == 1
    assert set(board["today"]["total"]) == {"overdue", "due_soon", "calls_due", "assessments_due"}
    page = await http.get("/care?lang=zh")
    assert page.status_code == 200 and "关爱服务看板" in page.text
    async with httpx.AsyncClient(base_url=harness.http_url) as anonymous:
        token = (await anonymous.post("/api/v1/auth/token", data={"username": "s2-care",
                                      "password": "street-supervisor-password-1"})).json()["access_token"]  # fmt: skip
        street = {"Authorization": f"Bearer {token}"}
        own = await anonymous.get("/api/v1/care/dashboard", headers=street)
        assert own.status_code == 200 and [n["code"] for n in own.json()["trail"]] == ["S2"]
        assert own.json()["areas"] == [] and own.json()["total"]["residents"] == 0
        for area in ("S1", "D1", "A1"):
            outside = await anonymous.get("/api/v1/care/dashboard", params={"area": area}, headers=street)
            assert outside.status_code == 404, area
        assert (
            await anonymous.get("/api/v1/care/indicators.csv", params={"area": "S1"}, headers=street)
        ).status_code == 404
        assert (await anonymous.get("/api/v1/care/calls/queue", headers=street)).json() == []

    await http.post("/api/v1/care/residents/res-1/categories", json={"category": "tekun", "valid_from": "2026-01-01"})
    started = await http.post("/api/v1/care/residents/res-1/calls")
    assert started.status_code == 201, started.text
    again = await http.post("/api/v1/care/residents/res-1/calls")
    assert again.status_code == 409 and "calling this resident" in again.json()["detail"]
    finished = await http.post(f"/api/v1/care/calls/{started.json()['id']}/finish", json={
        "outcome": "reached", "findings": {"needs": "送餐"}})  # fmt: skip
    assert finished.status_code == 200 and finished.json()["visit_id"] is not None, finished.text
    bad = await http.post(f"/api/v1/care/calls/{started.json()['id']}/finish", json={"outcome": "maybe"})
    assert bad.status_code == 422
    history = (await http.get("/api/v1/care/residents/res-1/calls")).json()
    assert [call["outcome"] for call in history] == ["reached"]

    async with harness.platform.care.pool.connection() as conn:
        await conn.execute("UPDATE residents SET external_id = 'MZ-1' WHERE id = 'res-1'")
    header = "resident_external_id,category,source,valid_from\n"
    csv_file = header + "MZ-1,empty_nest,民政台账,2026-01-01\nMZ-2,tekun,x,2026-01-01\n"
    imported = await http.post("/api/v1/care/imports/categories", content=csv_file.encode(),
                               headers={"content-type": "text/csv"})  # fmt: skip
    assert imported.status_code == 200, imported.text
    report = imported.json()
    assert (report["created"], [(p["row"], p["errors"]) for p in report["rejected"]]) == (
        1, [(3, ["no such resident in your area"])])  # fmt: skip
    nul = await http.post("/api/v1/care/imports/categories", content=b"resident_id\x00,category\n",
                          headers={"content-type": "text/csv"})  # fmt: skip
    assert nul.status_code == 422


async def _infinity_is_refused(http: httpx.AsyncClient) -> None:
    """1e400 in a JSON body: a 422 with a reason, not a 500 (the platform's validation handler must not
    echo a non-finite input it cannot encode)."""
    for path, body in (
        ("/api/v1/care/residents/res-1/assessments",
         '{"assessor": "x", "assessed_on": "2026-01-05", "answers": {"eating": 1e400}}'),
        ("/api/v1/residents", '{"name": 1e400, "org_node": "A1"}'),  # an older route: the same
    ):  # fmt: skip
        refused = await http.post(path, content=body, headers={"content-type": "application/json"})
        assert refused.status_code == 422, (path, refused.text)
        assert "Infinity" in refused.text or "inf" in refused.text.lower(), refused.text
