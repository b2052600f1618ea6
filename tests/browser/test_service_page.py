"""The service centre's page in a real browser: take a call, see who is calling, take an order and
follow it to completion on the order board; the board live (orders moved elsewhere appear as they
change), by area; the order report downloaded; both languages complete. Screenshots go to
``test-output/screenshots/``."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from eldercare.demo_services import seed_menu
from registry.area import Area
from registry.store import ResidentRecord
from servicecentre import OrderRequest, OrderState, Reach
from tests.harness import running_platform
from tests.services import TestServices

OPERATOR = ("svc-op", "service-operator-password-1")
TIMEOUT_MS = 15_000
STATIC = resources.files("api").joinpath("static")


def strings(lang: str) -> dict[str, str]:
    return json.loads(STATIC.joinpath(f"service.i18n.{lang}.json").read_text(encoding="utf-8"))


def test_both_languages_have_every_key_the_page_and_script_use() -> None:
    en, zh = strings("en"), strings("zh")
    assert set(en) == set(zh) and all(v.strip() for v in [*en.values(), *zh.values()])
    used = set(re.findall(r"\{\{([a-z0-9_.]+)\}\}", STATIC.joinpath("service.html").read_text(encoding="utf-8")))
    script = STATIC.joinpath("service.js").read_text(encoding="utf-8")
    used |= set(re.findall(r"""t\("([a-z_.]+)"\)""", script))
    assert used - {"lang", "i18n_json"} <= set(en), sorted(used - set(en) - {"lang", "i18n_json"})
    for prefix, codes in (("state.", "requested accepted assigned checked_in completed rated cancelled refused"),
                          ("cat.", "emergency service_request consultation complaint care_call"),
                          ("act.", "accept refuse assign check_in complete rate cancel")):  # fmt: skip
        assert {prefix + code for code in codes.split()} <= set(en)


async def test_a_call_becomes_an_order_followed_to_completion(
    services: TestServices, browser: Any, screenshots: Path
) -> None:
    async with running_platform(services, residents=0) as harness:
        platform = harness.platform
        for code, name, level, parent in (
            ("410100", "郑州市", "city", None),
            ("410105", "金水区", "district", "410100"),
        ):
            await platform.registry.add_org_node(code, name, level, parent)
        await platform.registry.add_resident(
            ResidentRecord("res-1", "王秀英", "金水区农科路 38 号", "13900000001", date(1941, 3, 2), "410105")
        )
        await seed_menu(platform.service_centre, "410105")
        await platform.users.add(*OPERATOR, role="operator", org_node="410105")
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        answers = iter(["canteen-w1", "5"])
        page.on("dialog", lambda dialog: dialog.accept(next(answers)))
        await page.goto(f"{harness.http_url}/service?lang=zh")
        await page.fill("#login input[name=username]", OPERATOR[0])
        await page.fill("#login input[name=password]", OPERATOR[1])
        await page.click("#login button[type=submit]")
        await page.wait_for_selector("#providers tbody tr", timeout=TIMEOUT_MS)
        assert "黄河社区长者饭堂" in await page.inner_text("#providers")
        await page.fill("#call-number", "139 0000 0001")
        await page.click("#take-call")
        await page.wait_for_selector("[data-resident=res-1]", timeout=TIMEOUT_MS)
        assert "王秀英" in await page.inner_text("#caller")
        await page.screenshot(path=str(screenshots / "service-01-call.png"), full_page=True)
        await page.click("#take-order")
        await page.select_option("#order-item", "lunch")
        await page.select_option("#order-provider", "canteen-huanghe")
        await page.click("#place-order")
        await page.wait_for_selector("#board tr[data-state=requested]", timeout=TIMEOUT_MS)
        # live: the feed may show the row before the page has the answer to its own request
        await page.wait_for_function("document.querySelector('#call-status').innerText !== ''", timeout=TIMEOUT_MS)
        assert "¥12.00 / ¥5.00 / ¥7.00" in await page.inner_text("#call-status")
        await page.screenshot(path=str(screenshots / "service-02-order.png"), full_page=True)
        for action, state in (
            ("accept", "accepted"),
            ("assign", "assigned"),
            ("check_in", "checked_in"),
            ("complete", "completed"),
            ("rate", "rated"),
        ):
            await page.click(f"#board tr button[data-action={action}]")
            await page.wait_for_selector(f"#board tr[data-state={state}]", timeout=TIMEOUT_MS)
        board = await page.inner_text("#board")
        assert "已评价" in board and "王秀英" in board
        await page.screenshot(path=str(screenshots / "service-03-completed.png"), full_page=True)
        [order] = await platform.service_centre.orders.board(
            await platform.service_centre.reach_of(OPERATOR[0], "operator", Area("/410100/410105/"))
        )
        assert (order.state.value, order.worker, order.rating, order.channel) == ("rated", "canteen-w1", 5, "phone")
        [call] = await platform.service_centre.calls.list(
            await platform.service_centre.reach_of(OPERATOR[0], "operator", Area("/410100/410105/"))
        )
        assert call["order_id"] == str(order.id) and call["resident_id"] == "res-1"
        await page.goto(f"{harness.http_url}/service?lang=en")
        await page.wait_for_selector("#board tr[data-state=rated]", timeout=TIMEOUT_MS)
        assert "rated" in await page.inner_text("#board")
        await page.screenshot(path=str(screenshots / "service-04-english.png"), full_page=True)


async def test_the_board_follows_orders_live_and_the_report_exports(
    services: TestServices, browser: Any, screenshots: Path
) -> None:
    """Orders placed and moved elsewhere (a provider's desk, a plan) appear on the open page as they
    happen; the board narrows to an area; a phone alert reads as words; the report downloads as CSV."""
    async with running_platform(services, residents=0) as harness:
        platform = harness.platform
        centre = platform.service_centre
        await platform.registry.add_org_node("410100", "郑州市", "city")
        await platform.registry.add_org_node("410105", "金水区 Jinshui", "district", "410100")
        await platform.registry.add_org_node("410105001", "经八路街道 Jingbalu", "street", "410105")
        await platform.registry.add_resident(
            ResidentRecord("res-1", "王秀英", "金水区农科路 38 号", "13900000001", date(1941, 3, 2), "410105")
        )
        await seed_menu(centre, "410105")
        await platform.users.add(*OPERATOR, role="operator", org_node="410105")
        page = await browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        await page.goto(f"{harness.http_url}/service?lang=en")
        await page.fill("#login input[name=username]", OPERATOR[0])
        await page.fill("#login input[name=password]", OPERATOR[1])
        await page.click("#login button[type=submit]")
        await page.wait_for_selector("#live[data-state=live]", timeout=TIMEOUT_MS)
        root = Reach(Area(), None, "desk-test")
        when = datetime.now(UTC) + timedelta(hours=2)
        order = await centre.orders.create(OrderRequest("res-1", "lunch", "canteen-huanghe", when), root)
        row = f"#board tr[data-order='{order.id}']"
        await page.wait_for_selector(f"{row}[data-state=requested]", timeout=TIMEOUT_MS)
        assert "lunch (two meat, one vegetable)" in await page.inner_text(row)  # the item in English
        desk = await centre.reach_of("canteen-desk", "provider", Area())
        await centre.orders.move(order.id, OrderState.ACCEPTED, desk)
        await page.wait_for_selector(f"{row}[data-state=accepted]", timeout=TIMEOUT_MS)  # no click, no reload
        await page.screenshot(path=str(screenshots / "service-05-live.png"), full_page=True)
        await page.select_option("#area", "410105001")  # a street of the district: not this order's
        await page.wait_for_selector("#board td[colspan='7']", timeout=TIMEOUT_MS)
        await page.select_option("#area", "")
        await page.wait_for_selector(row, timeout=TIMEOUT_MS)
        await page.fill("#call-number", "13900000001")
        await page.select_option("#call-category", "emergency")
        await page.click("#take-call")
        await page.wait_for_selector("[data-resident=res-1]", timeout=TIMEOUT_MS)
        await page.click("#raise-alert")
        await page.wait_for_function(
            "document.querySelector('#caller').innerText.includes('Emergency by phone')", timeout=TIMEOUT_MS
        )
        # the report's window around the order's day (by default the month so far, which an order
        # due two hours from now leaves after 22:00 or on the last day of a month)
        await page.fill("#report-from", (when - timedelta(days=1)).date().isoformat())
        await page.fill("#report-to", (when + timedelta(days=1)).date().isoformat())
        await page.click("#report-show")
        await page.wait_for_selector("#report tr.total", timeout=TIMEOUT_MS)
        assert await page.inner_text("#report tr.total td:nth-child(2)") == "1"  # total, orders
        async with page.expect_download(timeout=TIMEOUT_MS) as waiting:
            await page.click("#report-csv")
        download = await waiting.value
        saved = screenshots.parent / "service-orders-report.csv"
        await download.save_as(str(saved))
        lines = saved.read_text(encoding="utf-8-sig").splitlines()
        assert lines[0].startswith("area,工单 orders") and lines[-1].startswith("total 合计,1,")
        await page.screenshot(path=str(screenshots / "service-06-report.png"), full_page=True)
