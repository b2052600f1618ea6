"""The first hour of an operator, a family member and a responder, in Chromium against the real
server, broker and database (issue 18): who will be told and who is coming, call notes, one time
zone (the homes', while the browser runs in UTC), no internal keys, lists and headers that read
right; the family's and the responder's pages in Chinese first, by the resident's name, nothing
preselected, and the hotline on a bad link; ``/docs`` with no network beyond the server.
Screenshots go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from registry.store import DeviceRecord, ResidentRecord
from tests.alerting.receivers import webhook_server
from tests.harness import ADMIN, Harness, mqtt_client, publish, running_platform
from tests.services import TestServices

TIMEOUT_MS = 20_000
HOME_OFFSET_MIN = 480  # the default: UTC+8


async def seed(harness: Harness, hook_port: int) -> None:
    registry = harness.platform.registry
    await registry.add_org_node("410100", "郑州市", "city")
    await registry.add_org_node("410105", "金水区", "district", "410100")
    await registry.add_org_node("410105001", "花园路街道办事处", "street", "410105")
    await registry.add_org_node("410105001001", "农科路社区居民委员会", "community", "410105001")
    await registry.add_resident(
        ResidentRecord("res-1", "王秀英", "金水区农科路 38 号院 3 号楼 2 单元 502", "13900000001", None, "410105001001")
    )
    alerts = harness.platform.alerts
    alerts.config.public_url = harness.http_url
    alerts.config.notify_allowed_hosts = ("127.0.0.1",)
    async with harness.http() as http:
        contacts = [
            {"name": "张伟", "relation": "son", "phone": "13800000011", "urls": [f"json://127.0.0.1:{hook_port}/son"]},
            {"name": "李阿姨", "relation": "neighbour", "phone": "13800000012", "urls": ["mailto://li@example.com"]},
        ]
        assert (await http.put("/api/v1/notify/contacts/res-1", json=contacts)).status_code == 200
        responder = {"name": "赵志强", "kind": "community_worker", "org_node": "410105001001", "phone": "13700000001"}
        assert (await http.put("/api/v1/responders/resp-1", json=responder)).status_code == 200


async def sign_in(page: Any, url: str) -> None:
    await page.goto(url)
    assert await page.locator("#status").is_hidden()  # no red "offline" before signing in
    await page.fill("#login input[name=username]", ADMIN[0])
    await page.fill("#login input[name=password]", ADMIN[1])
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#status[data-state=live]", timeout=TIMEOUT_MS)


def home_time(iso: str, seconds: bool = True) -> str:
    at = datetime.fromisoformat(iso).astimezone(UTC) + timedelta(minutes=HOME_OFFSET_MIN)
    return at.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


async def wrapped(page: Any, selector: str) -> list[str]:
    """Elements whose text breaks over more than one line."""
    return await page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].filter((el) => {
             if (!el.offsetParent || !el.innerText.trim()) return false;
             const style = getComputedStyle(el);
             const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.3;
             const range = document.createRange(); range.selectNodeContents(el);
             return range.getBoundingClientRect().height > line * 1.6;
           }).map((el) => el.innerText)""",
        selector,
    )


async def none_items_are_unnumbered(page: Any) -> None:
    styles = await page.eval_on_selector_all(
        "li.none", "(items) => items.filter((li) => li.offsetParent).map((li) => getComputedStyle(li).listStyleType)"
    )
    assert styles and set(styles) == {"none"}, styles


async def test_operator_family_and_responder_first_hour(
    services: TestServices, browser: Any, screenshots: Path
) -> None:
    async with running_platform(services, residents=0) as harness, webhook_server() as (hook, hook_port):
        await seed(harness, hook_port)
        await harness.platform.registry.add_device(DeviceRecord("btn-1", "res-1", "sos_button", location="living room"))
        context = await browser.new_context(viewport={"width": 1440, "height": 960}, locale="en-GB", timezone_id="UTC")
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        missing: list[str] = []
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)

        # /docs with nothing but the server reachable
        await context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
        await page.goto(f"{harness.http_url}/docs")
        await page.wait_for_selector(".swagger-ui .information-container", timeout=TIMEOUT_MS)
        assert "eldercare" in await page.inner_text(".swagger-ui .information-container")
        assert "/api/v1/alerts/{alert_id}/note" in await page.inner_text(".swagger-ui")

        await sign_in(page, harness.http_url)
        async with mqtt_client(services) as client:
            now_ms = int(time.time() * 1000)
            await publish(client, harness.topic("btn-1", "alarm"), {"ts": now_ms, "kind": "sos", "seq": 1})
        row = page.locator("li.alert[data-kind=sos]")
        await row.wait_for(timeout=TIMEOUT_MS)
        await page.wait_for_function(
            "document.querySelector('li.alert .timer').innerText.includes(':')", timeout=TIMEOUT_MS
        )
        assert (await row.inner_text()).lower().count("waiting") == 1, await row.inner_text()  # not "waiting … waiting"
        alert_id = await row.get_attribute("data-id")

        # the detail: who will be told (the notification list, in order, with phones and channels)
        await row.click()
        await page.wait_for_selector("#detail[data-loaded=true]", timeout=TIMEOUT_MS)
        contacts = await page.locator("#d-contacts li").all_inner_texts()
        assert [c.split()[0] for c in contacts] == ["张伟", "李阿姨"], contacts
        assert "13800000011" in contacts[0] and "json 127.0.0.1" in contacts[0], contacts
        assert "13800000012" in contacts[1] and "mailto li@example.com" in contacts[1], contacts
        assert await page.locator("#d-contacts-unnotified").is_hidden()
        await page.wait_for_selector("#d-trail li[data-action=raised]", timeout=TIMEOUT_MS)
        trail = await page.inner_text("#d-trail")
        assert ":seq:" not in trail and "btn-1" not in trail, trail
        async with harness.http() as http:
            audit = (await http.get(f"/api/v1/alerts/{alert_id}/audit")).json()
        assert home_time(audit[0]["at"]) in trail, (trail, audit[0]["at"])  # the homes' clock, not the browser's
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", trail)
        assert await page.inner_text("#zone") == "UTC+8"
        await none_items_are_unnumbered(page)  # previous alerts: "none", not "1. none"

        # acknowledge, dispatch: the header names who is coming and their phone
        await page.click("#d-actions button[data-action=ack]")
        await page.wait_for_selector(f"li.alert[data-id='{alert_id}'][data-state=acknowledged]", timeout=TIMEOUT_MS)
        await page.wait_for_selector("#d-responder option[value=resp-1]", state="attached", timeout=TIMEOUT_MS)
        await page.click("#d-actions button[data-action=dispatch]")
        await page.wait_for_selector("#d-coming:not([hidden])", timeout=TIMEOUT_MS)
        assert await page.inner_text("#d-coming-name") == "赵志强"
        assert await page.inner_text("#d-coming-phone") == "13700000001"
        assert await page.locator("#d-actions [data-needs=dispatch]").is_hidden()  # no "no responder available"
        await page.wait_for_function(
            "document.querySelector('#d-trail').innerText.includes('赵志强')", timeout=TIMEOUT_MS
        )
        assert "resp-1" not in await page.inner_text("#d-trail")

        # a free call note, saved to the trail under the operator's name
        await page.fill("#d-note", "儿子张伟说他 20 分钟后到")
        await page.click("button[data-action=note]")
        await page.wait_for_function(
            "document.querySelector('#d-trail').innerText.includes('20 分钟后到')", timeout=TIMEOUT_MS
        )
        async with harness.http() as http:
            audit = (await http.get(f"/api/v1/alerts/{alert_id}/audit")).json()
        assert [(e["actor"], e["action"], e["note"]) for e in audit][-1] == (
            "admin",
            "note",
            "儿子张伟说他 20 分钟后到",
        )
        await page.wait_for_timeout(500)
        trail_rows = await page.locator("#d-trail li").all_inner_texts()
        assert len(trail_rows) == len(audit), trail_rows
        assert "赵志强" in trail_rows[2] and "20 分钟后到" in trail_rows[-1], trail_rows
        await page.screenshot(path=screenshots / "first-hour-detail-en.png", full_page=True)

        # 中文: headers and the area tree do not wrap one character per line
        await page.click(".lang a[data-lang=zh]")
        await page.wait_for_selector("#status[data-state=live]", timeout=TIMEOUT_MS)
        await page.locator(f"li.alert[data-id='{alert_id}']").click()
        await page.wait_for_selector("#detail[data-loaded=true]", timeout=TIMEOUT_MS)
        await page.wait_for_selector("#d-coming:not([hidden])", timeout=TIMEOUT_MS)
        assert "正在赶往" in await page.inner_text("#d-coming")
        assert await wrapped(page, "#detail th") == []
        await page.screenshot(path=screenshots / "first-hour-detail-zh.png", full_page=True)
        await page.click("#tabs a[data-view=overview]")
        await page.wait_for_selector("#o-tree li", timeout=TIMEOUT_MS)
        await page.wait_for_function("document.querySelectorAll('#o-tree li').length >= 5", timeout=TIMEOUT_MS)
        assert await wrapped(page, "#view-overview th, #o-tree button") == []
        await none_items_are_unnumbered(page)
        await page.screenshot(path=screenshots / "first-hour-overview-zh.png", full_page=True)
        assert errors == [], errors
        assert [url for url in missing if "favicon" in url] == []

        # the family: the message and the page, Chinese first, by name, in plain words
        async with harness.http() as http:
            assert (await http.post(f"/api/v1/alerts/{alert_id}/notify-family")).status_code == 200
        await harness.platform.alerts.drain()
        message = next(r["json"]["message"] for r in hook.requests if r["path"] == "/son")
        assert message.index("王秀英 发出了紧急呼叫") < message.index("an emergency call from 王秀英"), message
        assert "res-1" not in message and " sos " not in message
        family_link = re.search(r"(http://\S+/f/[^\s?]+)", message)
        assert family_link, message
        phone = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
        family = await phone.new_page()
        await family.goto(family_link.group(1))
        first = await family.locator("body p").first.get_attribute("lang")
        assert first == "zh"
        text = await family.inner_text("body")
        assert "紧急呼叫：王秀英" in text and "an emergency call from 王秀英" in text, text
        assert "res-1" not in text and "sos" not in text.lower().replace("sos button", ""), text
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", text)
        await family.screenshot(path=screenshots / "first-hour-family.png", full_page=True)

        # a bad link: what to do instead, with the hotline
        await family.goto(family_link.group(1)[:-4] + "xxxx")
        text = await family.inner_text("body")
        assert "链接无效" in text and "not valid" in text and "12349" in text, text
        assert await family.locator("a[href='tel:12349']").count() == 2
        await family.screenshot(path=screenshots / "first-hour-family-bad-link.png", full_page=True)

        # the responder: accept, arrive, then the outcome, nothing chosen for them
        dispatches = await harness.platform.alerts.dispatches(uuid.UUID(alert_id))
        link = await harness.platform.alerts.responder_link(uuid.UUID(alert_id), "resp-1", dispatches[-1]["id"])
        responder = await phone.new_page()
        await responder.goto(link)
        text = await responder.inner_text("body")
        assert "紧急呼叫：王秀英" in text and "an emergency call from 王秀英" in text, text
        assert "status on_scene" not in text and "Sos alert" not in text
        await responder.screenshot(path=screenshots / "first-hour-responder-offer.png", full_page=True)
        await responder.click("button[value=accept]")
        await responder.goto(link)
        await responder.click("button[value=arrive]")
        await responder.goto(link)
        await responder.wait_for_selector("select[name=outcome]")
        assert await responder.eval_on_selector("select[name=outcome]", "(s) => s.value") == ""
        await responder.screenshot(path=screenshots / "first-hour-responder-outcome.png", full_page=True)
        async with httpx.AsyncClient() as http:  # a close without an outcome is refused, nothing guessed
            refused = await http.post(link, data={"action": "resolve"})
        assert refused.status_code == 422
        await responder.select_option("select[name=outcome]", "resident_fine")
        await responder.click("button[value=resolve]")
        assert "已处理完毕" in await responder.inner_text("body")
        await responder.goto(link)
        text = await responder.inner_text("body")
        assert "呼叫已结束" in text and "老人安好" in text and "12349" in text and "王秀英" not in text, text
        await responder.screenshot(path=screenshots / "first-hour-responder-closed.png", full_page=True)
        await phone.close()
        await context.close()
