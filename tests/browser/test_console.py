"""The dispatch console in a real browser (Debian's Chromium via Playwright) against the real server,
MQTT broker and PostgreSQL: an SOS rings in operator A's browser, A acknowledges and operator B sees
it at once (and B's late click gets the 409), a fall driven through the IMU path from a SisFall
recording shows its accelerometer trace, the overview, the Chinese page, and a reconnect that
catches up what was missed. Screenshots go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from devices.events import Event, Stream
from lab.falls.recordings import load_recording, read_index
from registry.store import DeviceRecord, ResidentRecord
from stream.detections import Detection, DetectionKind
from stream.notices import moving_again
from tests.browser.test_i18n import english_leftovers, load
from tests.harness import ADMIN, Harness, eventually, mqtt_client, publish, running_platform, shared_data
from tests.services import TestServices

FALLS = shared_data() / "falls"
FALL_RECORDING = "sisfall_SA01_F01_R01.csv.gz"  # detected by the shipped model, impact ≈ 6.7 s in
OPERATOR_B = ("op-b", "operator-b-password")
TIMEOUT_MS = 15_000

pytestmark = pytest.mark.skipif(
    not (FALLS / FALL_RECORDING).exists(), reason=f"no SisFall recording {FALL_RECORDING} in {FALLS}"
)


def now_ms() -> int:
    return int(time.time() * 1000)


async def seed(harness: Harness) -> None:
    registry = harness.platform.registry
    await registry.add_org_node("410100", "郑州市", "city")
    await registry.add_org_node("410105", "金水区", "district", "410100")
    await registry.add_org_node("410105001", "花园路街道", "street", "410105")
    await registry.add_org_node("410105001001", "农科路社区", "community", "410105001")
    await registry.add_org_node("410103", "二七区", "district", "410100")
    await registry.add_resident(
        ResidentRecord(
            "res-1",
            "王秀英",
            "金水区农科路 38 号院 3 号楼 2 单元 502",
            "13900000001",
            date(1941, 3, 2),
            "410105001001",
            {
                "sex": "female",
                "living_alone": True,
                "mobility": "walker",
                "usual_wake": "06:30",
                "usual_bed": "21:30",
                "languages": ["zh", "yue"],
                "conditions": ["高血压", "2 型糖尿病"],
                "access": "门口密码箱 4821；邻居李阿姨 (501) 有钥匙",
                "contacts": [
                    {"name": "张伟", "relation": "son", "phone": "13800000011"},
                    {"name": "李阿姨", "relation": "neighbour", "phone": "13800000012"},
                ],
            },
        )
    )
    await registry.add_resident(
        ResidentRecord("res-2", "刘建国", "二七区大学路 7 号 101", "13900000002", date(1938, 11, 20), "410103")
    )
    await registry.add_resident(
        ResidentRecord("res-3", "陈淑兰", "金水区花园路 12 号", "13900000003", date(1945, 5, 5), "410105001001")
    )
    await registry.add_device(DeviceRecord("pendant-1", "res-1", "pendant", location="worn"))
    await harness.platform.users.add(*OPERATOR_B, role="operator", org_node="410100")
    async with harness.http() as http:  # a responder nearby, where issue 4's responder API is mounted
        await http.put(
            "/api/v1/responders/resp-1",
            json={"name": "赵志强", "kind": "community_worker", "org_node": "410105001001", "phone": "13700000001"},
        )


async def fall_through_the_imu_path(harness: Harness, client: Any) -> None:
    """Publish a SisFall fall recording as 1 s JSON IMU messages ending now (the device's own clock)."""
    info = next(row for row in read_index(FALLS) if row.file == FALL_RECORDING)
    recording = load_recording(FALLS, info)
    start = now_ms() - int(recording.duration_s * 1000) - 1000
    hz = info.rate_hz
    step = int(hz)
    for lo in range(0, len(recording.t_s), step):
        acc = recording.acc[lo : lo + step]
        samples = [[round(float(v), 4) for v in sample] for sample in acc]
        body = {"t0": start + int(recording.t_s[lo] * 1000), "hz": hz, "acc": samples}
        await publish(client, harness.topic("pendant-1", "imu"), body, qos=0)


async def sign_in(page: Any, url: str, user: tuple[str, str]) -> None:
    await page.goto(url)
    await page.fill("#login input[name=username]", user[0])
    await page.fill("#login input[name=password]", user[1])
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#status[data-state=live]", timeout=TIMEOUT_MS)


async def ui_text(page: Any) -> str:
    """What the operator reads: visible text plus titles/placeholders, minus the language switcher."""
    return await page.evaluate(
        """() => {
          const others = [...document.querySelectorAll('body [lang]:not([lang=zh])')];
          others.forEach((n) => { n.dataset.display = n.style.display; n.style.display = 'none'; });
          const text = document.body.innerText;
          others.forEach((n) => { n.style.display = n.dataset.display; });
          const attrs = [...document.querySelectorAll('[placeholder],[aria-label]')]
            .map((n) => (n.getAttribute('placeholder') || '') + ' ' + (n.getAttribute('aria-label') || ''));
          return document.title + '\\n' + text + '\\n' + attrs.join('\\n');
        }"""
    )


async def test_dispatch_console_in_a_real_browser(services: TestServices, browser: Any, screenshots: Path) -> None:
    async with running_platform(services, residents=3) as harness:
        await seed(harness)
        context_a = await browser.new_context(viewport={"width": 1440, "height": 960}, locale="en-GB")
        context_b = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
        a, b = await context_a.new_page(), await context_b.new_page()
        errors: list[str] = []
        for page in (a, b):
            page.on("pageerror", lambda error: errors.append(str(error)))
        await asyncio.gather(sign_in(a, harness.http_url, ADMIN), sign_in(b, harness.http_url, OPERATOR_B))

        # 1. An SOS over MQTT rings in A's browser (and shows in B's)
        async with mqtt_client(services) as client:
            await publish(client, harness.topic("btn-2", "alarm"), {"ts": now_ms(), "kind": "sos", "seq": 1})
            await publish(client, harness.topic("btn-2", "status"), {"online": True, "battery": 12})
            await publish(client, harness.topic("door-2", "status"), {"online": False})
            sos = a.locator("li.alert[data-kind=sos]")
            await sos.wait_for(timeout=TIMEOUT_MS)
            await a.wait_for_selector("body[data-ringing=true]", timeout=TIMEOUT_MS)
            await a.wait_for_function("Number(document.body.dataset.beeps) >= 1", timeout=TIMEOUT_MS)
            assert await sos.get_attribute("data-state") == "raised"
            assert "刘建国" in await sos.inner_text()
            await b.locator("li.alert[data-kind=sos]").wait_for(timeout=TIMEOUT_MS)

            # 2. A real fall through the IMU path: gateway → fall detector → alerting → both consoles
            await fall_through_the_imu_path(harness, client)
            fall = a.locator("li.alert[data-kind=fall]")
            await fall.wait_for(timeout=TIMEOUT_MS)
        # a sensor-detected fall first waits in its cancel window: greyed, counting down, not ringing
        if await fall.get_attribute("data-state") == "pending":
            assert re.search(r"cancel window \d+:\d\d", await fall.inner_text())
        assert await a.locator("li.alert").first.get_attribute("data-kind") == "sos"  # P1, ringing, oldest
        await a.screenshot(path=screenshots / "queue-en.png", full_page=True)

        # 3. A acknowledges the SOS; B sees it acknowledged by A at once; B's late click gets 409
        sos_id = await sos.get_attribute("data-id")
        await sos.locator("button.ack").click()
        b_sos = b.locator(f"li.alert[data-id='{sos_id}']")
        await b.wait_for_selector(f"li.alert[data-id='{sos_id}'][data-state=acknowledged]", timeout=TIMEOUT_MS)
        assert "admin" in await b_sos.inner_text()
        assert await b_sos.locator("button.ack").count() == 0
        assert await b.evaluate("(id) => window.eldercareConsole.act('ack', id)", sos_id) is False
        await b.wait_for_selector("#toast.error:not([hidden])", timeout=TIMEOUT_MS)
        assert "Someone else got there first" in await b.inner_text("#toast")

        # 4. The fall's detail: the resident card and the accelerometer trace around the impact
        await fall.click()
        await a.wait_for_selector("#detail[data-loaded=true]", timeout=TIMEOUT_MS)
        assert await a.inner_text("#d-name") == "王秀英"
        assert "密码箱" in await a.inner_text("#d-access")
        assert "高血压" in await a.inner_text("#d-conditions")
        assert "Cantonese" in await a.inner_text("#d-languages")
        assert "usually up 06:30 · to bed 21:30" in await a.inner_text("#d-facts")
        contacts = await a.locator("#d-contacts li").all_inner_texts()
        assert [c.split()[0] for c in contacts] == ["张伟", "李阿姨"]
        assert "judged as worn at the waist or neck" in await a.inner_text("#d-trigger p.facts")
        samples = await a.get_attribute("svg.fall-trace", "data-samples")
        assert samples is not None and int(samples) > 100
        assert await a.locator("svg.fall-trace path.magnitude").count() == 1
        assert "pendant-1" in await a.inner_text("#d-devices")
        # what her kit cannot see (a hall door, call buttons and a pendant): worded for the operator
        gaps = await a.locator("#d-gaps li").all_inner_texts()
        assert len(gaps) == 3 and "no motion sensor or presence radar" in gaps[0]
        await a.screenshot(path=screenshots / "detail-en.png", full_page=True)
        fall_id = await fall.get_attribute("data-id")
        await a.click("#d-actions button[data-action=ack]")
        await b.wait_for_selector(f"li.alert[data-id='{fall_id}'][data-state=acknowledged]", timeout=TIMEOUT_MS)
        if await a.locator("#d-actions button[data-action=dispatch]").is_visible():
            # both operators dispatch the same alert: one wins, the other is told (409)
            await a.wait_for_selector("#d-responder option[value=resp-1]", state="attached", timeout=TIMEOUT_MS)
            await b.evaluate("(id) => window.eldercareConsole.openDetail(id)", fall_id)
            await b.wait_for_selector("#detail[data-loaded=true]", timeout=TIMEOUT_MS)
            results = await asyncio.gather(
                a.evaluate("(id) => window.eldercareConsole.act('dispatch', id)", fall_id),
                b.evaluate("(id) => window.eldercareConsole.act('dispatch', id)", fall_id),
            )
            assert sorted(results) == [False, True]
            loser = b if results[0] else a
            await loser.wait_for_selector("#toast.error:not([hidden])", timeout=TIMEOUT_MS)
            await b.wait_for_selector(f"li.alert[data-id='{fall_id}'][data-state=dispatched]", timeout=TIMEOUT_MS)

        # 4b. An inactivity alert says why, in the operator's language: the rule, the silence against
        # its limit and what the limit relied on (the home detector's details)
        await harness.platform.registry.add_resident(
            ResidentRecord("res-4", "赵桂芳", "金水区农科路 40 号", "13900000004", date(1940, 8, 9), "410105001001")
        )
        start = now_ms() - 8_280_000
        details = {"silent_s": 8280.0, "threshold_s": 7800.0, "due_ms": start + 7_800_000, "context": "seated"}
        details |= {"learned": True, "basis": "learned", "rule": "learned", "reason": "silence unusual (seated)"}
        details |= {"not_sensing": ["door-4"]}  # the home's entrance door senses nothing lately
        details |= {"stale_pads": ["seat"]}  # and the armchair's pad did not let go
        key = f"inactivity:res-4:{start}"
        silent = Detection("res-4", "", DetectionKind.INACTIVITY, start, now_ms(), key, details=details)
        await harness.platform.alerts.raise_detections([silent])
        quiet = a.locator("li.alert[data-kind=inactivity]")
        await quiet.wait_for(timeout=TIMEOUT_MS)
        await quiet.click()
        await a.wait_for_selector("#d-trigger p.why", timeout=TIMEOUT_MS)
        why = await a.inner_text("#d-trigger p.why")
        assert "unusual for this home at this hour" in why and "2:18:00" in why and "2:10:00" in why, why
        assert "this home's learned routine" in why and "seat pad" in why, why
        assert "sensing nothing lately: door-4" in why, why
        assert "the seat pad still says occupied" in why, why
        assert "No activity since" in await a.inner_text("#d-trigger p.facts")
        inactivity_id = await quiet.get_attribute("data-id")
        # the resident moves again while the operator has the alert open: the card and the queue say so
        moved = start + 7_900_000
        kitchen = Event("pir-4", "res-4", Stream.MOTION, moved, moved, {"occupancy": True}, 1, "pir", "kitchen")
        notice = moving_again("res-4", DetectionKind.INACTIVITY, start, kitchen, now_ms())
        await harness.platform.alerts.raise_detections([notice])
        await a.wait_for_selector("#d-trigger p.moving", timeout=TIMEOUT_MS)
        moving = await a.inner_text("#d-trigger p.moving")
        assert "motion sensor (pir-4) in kitchen, 2:11:40 after the silence began" in moving, moving
        assert re.fullmatch(r"moving again \d\d:\d\d", await quiet.locator(".flag.moving").inner_text())
        await a.screenshot(path=screenshots / "inactivity-en.png", full_page=True)
        # a pad that holds "occupied" after its sitter left: the notice says what to check
        await harness.platform.registry.add_device(DeviceRecord("chair-4", "res-4", "seat", location="living"))
        pad = {"pad": "seat", "late_releases": 5.6, "reason": "the seat pad let go late"}
        stuck = Detection(
            "res-4", "chair-4", DetectionKind.PAD_STUCK, now_ms(), now_ms(), "pad_stuck:res-4:seat:1", details=pad
        )
        await harness.platform.alerts.raise_detections([stuck])
        pad_alert = a.locator("li.alert[data-kind=pad_stuck]")
        await pad_alert.wait_for(timeout=TIMEOUT_MS)
        await pad_alert.click()
        await a.wait_for_function(
            "document.querySelector('#d-trigger').innerText.includes('has let go an hour or more')", timeout=TIMEOUT_MS
        )
        assert (
            "the seat pad has let go an hour or more after the resident left it, about 5.6 times"
            in await a.inner_text("#d-trigger")
        )
        pad_id = await pad_alert.get_attribute("data-id")
        # a resident watched for going out at night: the door's alert says when, the watch and what to do
        await harness.platform.registry.add_resident(
            ResidentRecord(
                "res-5", "孙玉兰", "金水区农科路 42 号", "13900000005", date(1936, 2, 3), "410105001001",
                night_exit_watch="22:00-06:00",
            )
        )  # fmt: skip
        out = {"exit_ms": now_ms(), "grace_s": 600.0, "watch": "22:00-06:00", "rule": "door_in_watch"}
        gone = Detection(
            "res-5", "door-5", DetectionKind.NIGHT_EXIT, now_ms(), now_ms(), "night_exit:res-5:1", details=out
        )
        await harness.platform.alerts.raise_detections([gone])
        exit_alert = a.locator("li.alert[data-kind=night_exit]")
        await exit_alert.wait_for(timeout=TIMEOUT_MS)
        await exit_alert.click()
        await a.wait_for_function(
            "document.querySelector('#d-trigger').innerText.includes('night-exit watch (22:00-06:00)')",
            timeout=TIMEOUT_MS,
        )
        assert "nothing inside has moved in the 10 min since" in await a.inner_text("#d-trigger")
        assert "night-exit watch 22:00-06:00" in await a.inner_text("#d-facts")
        assert "no entrance-door sensor" in await a.inner_text("#d-facts")  # res-5 has none registered
        # back inside: the card says when and where, the queue flags it
        hall = Event("pir-5", "res-5", Stream.MOTION, now_ms(), now_ms(), {"occupancy": True}, 1, "pir", "hall")
        await harness.platform.alerts.raise_detections(
            [moving_again("res-5", DetectionKind.NIGHT_EXIT, 1, hall, now_ms())]
        )
        await a.wait_for_selector("#d-trigger p.moving", timeout=TIMEOUT_MS)
        assert "Back inside at" in await a.inner_text("#d-trigger p.moving")
        assert re.fullmatch(r"back inside \d\d:\d\d", await exit_alert.locator(".flag.moving").inner_text())
        exit_id = await exit_alert.get_attribute("data-id")

        # 5. The overview: open alerts by area, low battery, offline device
        await a.click("#tabs a[data-view=overview]")
        await a.wait_for_selector("#o-areas tr", timeout=TIMEOUT_MS)
        await a.wait_for_function(
            "document.querySelector('#o-battery').innerText.includes('btn-2')", timeout=TIMEOUT_MS
        )
        assert "door-2" in await a.inner_text("#o-offline")
        assert "chair-4 · holds “occupied” after the resident leaves it" in await a.inner_text("#o-offline")
        assert "no motion sensor · nothing in the bedroom" in await a.inner_text("#o-gaps")
        areas = await a.locator("#o-areas tr").all_inner_texts()
        assert any("农科路社区" in row or "410105001001" in row for row in areas), areas
        await a.screenshot(path=screenshots / "overview-en.png", full_page=True)

        # 6. Reconnect: B drops, an alarm arrives meanwhile, B catches up from the fresh snapshot
        await b.evaluate("() => { window.eldercareConsole.state.retry = 2500; window.eldercareConsole.drop(); }")
        await b.wait_for_selector("#status[data-state=reconnecting]", timeout=TIMEOUT_MS)
        async with mqtt_client(services) as client:
            await publish(client, harness.topic("btn-3", "alarm"), {"ts": now_ms(), "kind": "sos", "seq": 1})
        await eventually(lambda: _has_alert(harness, "btn-3"))
        await b.wait_for_selector("#status[data-state=live]", timeout=TIMEOUT_MS)
        await b.locator("li.alert[data-kind=sos][data-state=raised]").wait_for(timeout=TIMEOUT_MS)
        assert "陈淑兰" in await b.inner_text("#alerts")

        # 7. 中文: the switch reloads the page in Chinese, with no English UI strings left
        en, zh = load("en"), load("zh")
        await a.click("#tabs a[data-view=queue]")
        await a.click(".lang a[data-lang=zh]")
        await a.wait_for_selector("html[lang=zh]")
        await a.wait_for_selector("#status[data-state=live]", timeout=TIMEOUT_MS)
        await a.locator("li.alert").nth(2).wait_for(timeout=TIMEOUT_MS)
        assert await a.inner_text("header h1") == "12349 调度台"
        assert "一键呼叫" in await a.inner_text("#alerts")
        assert english_leftovers(await ui_text(a), en, zh) == []
        await a.screenshot(path=screenshots / "queue-zh.png", full_page=True)
        await a.locator(f"li.alert[data-id='{fall_id}']").click()
        await a.wait_for_selector("#detail[data-loaded=true]", timeout=TIMEOUT_MS)
        assert "粤语" in await a.inner_text("#d-languages")
        assert "通常 06:30 起床 · 21:30 就寝" in await a.inner_text("#d-facts")
        assert english_leftovers(await ui_text(a), en, zh) == []
        await a.screenshot(path=screenshots / "detail-zh.png", full_page=True)
        await a.locator(f"li.alert[data-id='{inactivity_id}']").click()
        await a.wait_for_selector("#d-trigger p.why", timeout=TIMEOUT_MS)
        assert "本户已学会的作息" in await a.inner_text("#d-trigger p.why")
        assert "近期无感应：door-4" in await a.inner_text("#d-trigger p.why")
        assert "座垫传感器仍显示有人" in await a.inner_text("#d-trigger p.why")
        assert "又有活动：厨房的人体感应（pir-4），距静默开始 2:11:40" in await a.inner_text("#d-trigger p.moving")
        await a.locator(f"li.alert[data-id='{pad_id}']").click()
        await a.wait_for_function(
            "document.querySelector('#d-trigger').innerText.includes('座垫传感器近期约有 5.6 次')", timeout=TIMEOUT_MS
        )
        assert english_leftovers(await ui_text(a), en, zh) == []
        await a.locator(f"li.alert[data-id='{exit_id}']").click()
        await a.wait_for_function(
            "document.querySelector('#d-trigger').innerText.includes('夜间离家提醒时段 22:00-06:00')",
            timeout=TIMEOUT_MS,
        )
        assert "夜间离家提醒 22:00-06:00 · 未安装入户门磁" in await a.inner_text("#d-facts")
        assert "老人已回到屋内：门厅的人体感应（pir-5）" in await a.inner_text("#d-trigger p.moving")
        assert english_leftovers(await ui_text(a), en, zh) == []
        assert english_leftovers(await ui_text(a), en, zh) == []
        await a.click("#tabs a[data-view=overview]")
        await a.wait_for_selector("#o-areas tr", timeout=TIMEOUT_MS)
        assert "老人离开后仍显示有人" in await a.inner_text("#o-offline")
        assert "无人体感应 · 卧室无传感器" in await a.inner_text("#o-gaps")
        assert english_leftovers(await ui_text(a), en, zh) == []
        await a.screenshot(path=screenshots / "overview-zh.png", full_page=True)

        assert errors == []
        await context_a.close()
        await context_b.close()


async def _has_alert(harness: Harness, device_id: str) -> bool:
    return any(alert.device_id == device_id for alert in await harness.platform.alerts.open_alerts())
