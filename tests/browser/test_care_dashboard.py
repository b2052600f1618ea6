"""The care dashboard in a real browser: a district supervisor signs in, sees the figures of their
district per street, drills down to a street's communities, downloads the indicators as CSV and XLSX,
and reads the same page in English; nothing of the district next door. Both dictionaries complete and
no English left on the Chinese page. Screenshots go to ``test-output/screenshots/``."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from api import care_dashboard
from registry.area import Area
from registry.records import ResidentRecord
from registry.users import User
from tests.browser.test_i18n import _Text, english_leftovers
from tests.harness import running_platform
from tests.services import TestServices

SUPERVISOR = ("jinshui-care", "district-supervisor-password-1")
TIMEOUT_MS = 15_000
STATIC = resources.files("api").joinpath("static")
ROOT = User("seed", "admin")
ORG = (
    ("C1", "郑州市", "city", None), ("D1", "金水区", "district", "C1"), ("D2", "二七区", "district", "C1"),
    ("S1", "经八路街道", "street", "D1"), ("S2", "花园路街道", "street", "D1"), ("S9", "建中街街道", "street", "D2"),
    ("A1", "黄河社区", "community", "S1"), ("A2", "纬五路社区", "community", "S1"),
    ("B1", "花园社区", "community", "S2"), ("K9", "建中社区", "community", "S9"),
)  # fmt: skip
RESIDENTS = (  # id, name, community, category (None: none), visited this month
    ("w1", "王秀英", "A1", "living_alone", True), ("w2", "李桂兰", "A1", "disabled", False),
    ("w3", "张淑珍", "A2", "empty_nest", True), ("w4", "刘玉梅", "B1", "living_alone", False),
    ("w5", "陈建国", "B1", None, False), ("x1", "赵德明", "K9", "living_alone", True),
)  # fmt: skip


def strings(lang: str) -> dict[str, str]:
    return json.loads(STATIC.joinpath(f"care.i18n.{lang}.json").read_text(encoding="utf-8"))


def test_both_languages_have_every_key_the_page_and_script_use() -> None:
    en, zh = strings("en"), strings("zh")
    assert set(en) == set(zh) and all(value.strip() for value in [*en.values(), *zh.values()])
    for key in en:
        assert sorted(re.findall(r"\{\w+\}", en[key])) == sorted(re.findall(r"\{\w+\}", zh[key])), key
    used = set(re.findall(r"\{\{([a-z0-9_.]+)\}\}", STATIC.joinpath("care.html").read_text(encoding="utf-8")))
    script = STATIC.joinpath("care.js").read_text(encoding="utf-8")
    prefixes = {key.split(".")[0] for key in en if "." in key}
    used |= {key for key in re.findall(r"""["']([a-z_]+\.[a-z0-9_]+)["']""", script) if key.split(".")[0] in prefixes}
    used |= set(re.findall(r"""\bt\("([a-z_.]+)"[,)]""", script))
    missing = sorted(used - {"lang", "i18n_json"} - set(en))
    assert not missing, missing


async def test_the_chinese_page_has_no_english_left() -> None:
    app = FastAPI()
    app.include_router(care_dashboard.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://care.test") as http:
        page = await http.get("/care?lang=zh")
        http.cookies.clear()
        english = await http.get("/care", headers={"Accept-Language": "en-GB,en"})
    assert page.status_code == 200 and '<html lang="zh">' in page.text and page.cookies.get("lang") == "zh"
    assert "{{" not in page.text and '<html lang="en">' in english.text
    parser = _Text()
    parser.feed(page.text)
    text = "\n".join(parser.parts)
    assert "关爱服务看板" in text
    assert english_leftovers(text, strings("en"), strings("zh")) == []


async def seed(platform: Any) -> None:
    for code, name, level, parent in ORG:
        await platform.registry.add_org_node(code, name, level, parent)
    care = platform.care
    now = datetime.now(UTC)
    for rid, name, node, category, visited in RESIDENTS:
        await platform.registry.add_resident(ResidentRecord(rid, name, birth_date=date(1945, 3, 1), org_node=node))
        if category is not None:
            await care.memberships.add(rid, {"category": category, "valid_from": date(2025, 1, 1)}, Area(), ROOT)
        if visited:
            await care.visits.record(rid, {"at": now - timedelta(minutes=30), "mode": "in_person"}, Area(), ROOT)
    await care.beds.create("w2", {"provider": "幸福家园", "level": "severe", "start_date": date(2025, 1, 1),
                                  "services_per_month": 0}, Area(), ROOT)  # fmt: skip
    bands = (("60-69", 60), ("70-79", 30), ("80+", 10))
    rows = [{"org_node": node, "year": care.this_month().year, "age_band": band, "category": "all", "people": people}
            for node in ("A1", "A2", "B1", "K9") for band, people in bands]  # fmt: skip
    await care.indicators.import_population(rows, Area(), ROOT)
    async with care.pool.connection() as conn:
        await conn.execute("INSERT INTO devices (id, resident_id, type) VALUES ('btn-w1', 'w1', 'sos_button')")


async def test_a_district_supervisor_reads_drills_down_and_downloads(
    services: TestServices, browser: Any, screenshots: Path
) -> None:
    async with running_platform(services, residents=0) as harness:
        platform = harness.platform
        await seed(platform)
        await platform.users.add(*SUPERVISOR, role="supervisor", org_node="D1")
        page = await browser.new_page(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
        await page.goto(f"{harness.http_url}/care?lang=zh")
        await page.fill("#login input[name=username]", SUPERVISOR[0])
        await page.fill("#login input[name=password]", SUPERVISOR[1])
        await page.click("#login button[type=submit]")
        await page.wait_for_selector("body[data-state=ready]", timeout=TIMEOUT_MS)
        assert await page.inner_text("#trail") == "金水区"
        assert await page.eval_on_selector_all("#areas tbody tr", "rows => rows.map(r => r.dataset.code)") == [
            "S1", "S2"]  # fmt: skip
        kpis = await page.inner_text("#kpis")
        # due: w1 w2 w3 w4; visited: w1 w3 → 50 %; overdue now: w2 and w4 (never visited)
        assert "本月探访率" in kpis and "50.0%" in kpis and "应探访 4 人，已探访 2 人" in kpis
        assert "当前逾期未探访\n2" in kpis and "待评估\n1" in kpis  # w2: 失能 with a bed, no assessment
        assert "赵德明" not in await page.content() and "二七区" not in await page.inner_text("main")
        assert await page.eval_on_selector("#chart", "c => c.width > 0 && Chart.getChart(c).data.labels.length") == 2
        await page.screenshot(path=str(screenshots / "care-01-district-zh.png"), full_page=True)

        await page.click("#areas button[data-area=S1]")
        await page.wait_for_selector("#trail [data-area=S1][aria-current=page]", timeout=TIMEOUT_MS)
        await page.wait_for_selector("body[data-state=ready]", timeout=TIMEOUT_MS)
        trail = await page.inner_text("#trail")
        assert trail.index("金水区") < trail.index("经八路街道")
        table = await page.inner_text("#areas tbody")
        assert "黄河社区" in table and "纬五路社区" in table and "花园社区" not in table
        assert "area=S1" in page.url
        await page.screenshot(path=str(screenshots / "care-02-street-zh.png"), full_page=True)

        async with page.expect_download() as csv_download:
            await page.click("#download-csv")
        text = Path(await (await csv_download.value).path()).read_text(encoding="utf-8")
        lines = text.splitlines()
        assert lines[0].startswith("month,code,name,population,residents") and lines[1].split(",")[1:3] == [
            "A1", "黄河社区"]  # fmt: skip
        async with page.expect_download() as xlsx_download:
            await page.click("#download-xlsx")
        assert Path(await (await xlsx_download.value).path()).read_bytes()[:2] == b"PK"

        status = await page.evaluate(
            "fetch('/api/v1/care/dashboard?area=D2', {headers: {Authorization: 'Bearer ' +"
            " sessionStorage.getItem('token')}}).then(r => r.status)"
        )
        assert status == 404  # the district next door is not theirs

        await page.goto(f"{harness.http_url}/care?lang=en")
        await page.wait_for_selector("body[data-state=ready]", timeout=TIMEOUT_MS)
        kpis = await page.inner_text("#kpis")
        assert "Visit rate this month" in kpis and "2 of 4 visited" in kpis and "本月" not in kpis
        assert await page.inner_text("#trail") == "金水区"
        await page.screenshot(path=str(screenshots / "care-03-district-en.png"), full_page=True)
        await page.close()
