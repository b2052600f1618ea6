"""The end-to-end alarm path on a real broker and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import websockets

from registry import DeviceRecord
from tests.harness import Namespace, eventually, mqtt_client, publish, running_platform
from tests.services import TestServices


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_sos_press_rings_the_console(services: TestServices) -> None:
    async with running_platform(services) as harness:
        async with websockets.connect(f"{harness.ws_url}/api/v1/ws/console?token={harness.token}") as ws:
            snapshot = json.loads(await ws.recv())
            assert snapshot["type"] == "snapshot"
            assert snapshot["alerts"] == []
            async with mqtt_client(services) as client:
                await publish(client, harness.topic("btn-1", "alarm"), {"ts": now_ms(), "kind": "sos", "seq": 1})
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert message["type"] == "alert.raised"
        alert = message["alert"]
        assert alert["kind"] == "sos"
        assert alert["device_id"] == "btn-1"
        assert alert["resident"]["name"] == "Resident res-1"
        assert alert["resident"]["address"] == "res-1 Main Street"
        async with harness.http() as http:
            listed = (await http.get("/api/v1/alerts")).json()
            assert [a["id"] for a in listed] == [alert["id"]]


async def test_websocket_rejects_a_bad_token(services: TestServices) -> None:
    async with (
        running_platform(services, residents=1) as harness,
        websockets.connect(f"{harness.ws_url}/api/v1/ws/console?token=forged") as ws,
    ):
        try:
            await asyncio.wait_for(ws.recv(), 5)
            raise AssertionError("a forged token must not receive the feed")
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4401


async def test_token_in_authorization_header_and_acknowledge_is_pushed(services: TestServices) -> None:
    async with running_platform(services, residents=1) as harness:
        headers = {"Authorization": f"Bearer {harness.token}"}
        async with websockets.connect(f"{harness.ws_url}/api/v1/ws/console", additional_headers=headers) as ws:
            json.loads(await ws.recv())
            async with mqtt_client(services) as client:
                await publish(client, harness.topic("btn-1", "alarm"), {"ts": now_ms(), "kind": "sos", "seq": 9})
            raised = json.loads(await asyncio.wait_for(ws.recv(), 10))
            async with harness.http() as http:
                response = await http.post(f"/api/v1/alerts/{raised['alert']['id']}/ack", json={"note": "calling"})
                assert response.status_code == 200, response.text
                again = await http.post(f"/api/v1/alerts/{raised['alert']['id']}/ack", json={})
                assert again.status_code == 409
                assert "acknowledged" in again.json()["detail"]
                missing = await http.post(f"/api/v1/alerts/{uuid.uuid4()}/ack", json={})
                assert missing.status_code == 404
            # the console rang before the alert was stored; the ack waited for the store, whose alert came next
            stored = json.loads(await asyncio.wait_for(ws.recv(), 10))
            acked = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert raised["type"] == stored["type"] == "alert.raised" and raised["alert"]["details"]["stored"] is False
        assert stored["alert"]["id"] == raised["alert"]["id"] and "stored" not in stored["alert"]["details"]
        assert acked["type"] == "alert.acknowledged"
        assert acked["alert"]["acknowledged_by"] == "admin"
        assert acked["alert"]["acknowledged_at"] is not None


async def test_zigbee2mqtt_sos_payload_raises_an_alert(services: TestServices) -> None:
    async with running_platform(services, residents=1) as harness:
        async with mqtt_client(services) as client:
            topic = harness.zigbee_topic("sos_1")
            await publish(client, topic, {"action": "", "battery": "90", "linkquality": 120})
            await publish(client, topic, {"action": "emergency", "battery": "90", "linkquality": 120})
            await publish(client, topic, {"action": "", "battery": "90", "linkquality": 121})
        alerts = await eventually(harness.platform.alerts.open_alerts)
        assert [(a.kind, a.device_id, a.resident_id) for a in alerts] == [("sos", "z2m-sos-1", "res-1")]
        await asyncio.sleep(0.3)
        assert len(await harness.platform.alerts.open_alerts()) == 1


async def test_zigbee2mqtt_contact_true_means_closed(services: TestServices) -> None:
    async with running_platform(services, residents=1) as harness:
        await harness.platform.registry.add_device(
            DeviceRecord("z2m-door-1", "res-1", "door", model="MCCGQ11LM", z2m_name="front_door")
        )

        async def contact_events() -> list[dict[str, object]]:
            await harness.platform.flush_history()
            rows = await harness.platform.history.recent("res-1")
            return [row["payload"] for row in rows if row["stream"] == "contact"]

        async with mqtt_client(services) as client:
            await publish(client, harness.zigbee_topic("front_door"), {"contact": True, "battery": 100})
            assert await eventually(contact_events) == [{"open": False}]
            await publish(client, harness.zigbee_topic("front_door"), {"contact": True, "battery": 99})
            await publish(client, harness.zigbee_topic("front_door"), {"contact": False, "battery": 99})
            await eventually(lambda: harness.platform.gateway.received >= 3)
            events = await eventually(lambda: _at_least(contact_events(), 2))
        assert sorted(events, key=str) == [{"open": False}, {"open": True}]  # the battery-only republish is no event


async def test_duplicates_are_dropped_and_presses_coalesce(services: TestServices) -> None:
    async with running_platform(services, residents=1) as harness:
        async with mqtt_client(services) as client:
            for seq in (1, 1, 2, 2, 3):
                await publish(client, harness.topic("btn-1", "alarm"), {"ts": now_ms(), "kind": "sos", "seq": seq})
        await eventually(lambda: harness.platform.gateway.received >= 5)
        assert harness.platform.gateway.rejected["duplicate"] == 2

        async def three_presses() -> list[object] | None:
            alerts = await harness.platform.alerts.open_alerts()
            return alerts if alerts and alerts[0].repeats >= 3 else None

        alerts = await eventually(three_presses)
        await asyncio.sleep(0.3)
        alerts = await harness.platform.alerts.open_alerts()
        assert len(alerts) == 1
        assert alerts[0].repeats == 3


async def test_bad_input_is_counted_and_the_gateway_keeps_serving(services: TestServices) -> None:
    async with running_platform(services, residents=1) as harness:
        big = json.dumps({"ts": now_ms(), "kind": "sos", "pad": "x" * (300 * 1024)})
        bad = [
            (harness.topic("btn-1", "alarm"), b"{not json", "malformed"),
            (harness.topic("btn-1", "alarm"), b"[" * 100_000, "malformed"),
            (harness.topic("btn-1", "alarm"), json.dumps({"ts": now_ms(), "kind": 7}), "out_of_range"),
            (harness.topic("btn-1", "contact"), json.dumps({"ts": now_ms(), "open": "maybe"}), "wrong_type"),
            (harness.topic("btn-1", "vitals"), json.dumps({"ts": now_ms()}), "missing_field"),
            (
                harness.topic("ghost-1", "alarm"),
                json.dumps({"ts": now_ms(), "kind": "sos", "seq": 1}),
                "unknown_device",
            ),
            (harness.topic("btn-1", "telepathy"), json.dumps({"ts": now_ms()}), "unknown_stream"),
            (harness.topic("btn-1", "alarm"), big, "oversized"),
            (harness.topic("btn-1", "imu"), b"EC\x01\x00garbage", "malformed"),
            (harness.zigbee_topic("nobody"), json.dumps({"action": "emergency"}), "unknown_device"),
        ]
        async with mqtt_client(services) as client:
            for topic, payload, _ in bad:
                await publish(client, topic, payload)
            await publish(client, harness.topic("btn-1", "alarm"), {"ts": now_ms(), "kind": "sos", "seq": 42})
        alerts = await eventually(harness.platform.alerts.open_alerts)
        assert [a.device_id for a in alerts] == ["btn-1"]
        expected: dict[str, int] = {}
        for _, _, reason in bad:
            expected[reason] = expected.get(reason, 0) + 1
        # the telemetry lane's rejects (the imu frame) may still be on their way when the alarm lane's
        # alert is open: the lanes are independent
        gateway = harness.platform.gateway
        await eventually(lambda: sum(gateway.rejected.values()) >= len(bad), timeout=10.0)
        assert dict(gateway.rejected) == expected
        async with harness.http() as http:
            health = (await http.get("/healthz")).json()
        assert health["gateway"]["rejected"] == expected


async def test_alert_is_stored_before_the_device_is_told(services: TestServices) -> None:
    async with running_platform(services, residents=1) as harness, mqtt_client(services) as device:
        await device.subscribe(harness.topic("btn-1", "cmd"), qos=1)
        await publish(device, harness.topic("btn-1", "alarm"), {"ts": now_ms(), "kind": "sos", "seq": 5})
        async with asyncio.timeout(10):
            async for message in device.messages:
                command = json.loads(message.payload)  # type: ignore[arg-type]
                break
        assert command["type"] == "call_received"
        stored = await harness.platform.alerts.get(uuid.UUID(command["alert_id"]))
        assert stored.device_id == "btn-1"
        trail = await harness.platform.alerts.audit_trail(stored.id)
        assert trail[0]["action"] == "raised"


async def test_open_alerts_survive_a_restart(services: TestServices) -> None:
    database_url = await services.create_database()
    namespace = Namespace()
    async with running_platform(services, database_url, namespace, residents=1) as harness:
        async with mqtt_client(services) as client:
            await publish(client, harness.topic("btn-1", "alarm"), {"ts": now_ms(), "kind": "sos", "seq": 1})
        before = await eventually(harness.platform.alerts.open_alerts)
    async with running_platform(services, database_url, namespace, residents=1) as harness:
        after = await harness.platform.alerts.open_alerts()
        async with harness.http() as http:
            listed = (await http.get("/api/v1/alerts")).json()
    assert [a.id for a in after] == [a.id for a in before]
    assert [a["id"] for a in listed] == [str(before[0].id)]


async def test_presses_while_the_gateway_is_down_arrive_when_it_returns(services: TestServices) -> None:
    database_url = await services.create_database()
    namespace = Namespace()
    async with running_platform(services, database_url, namespace, residents=20):
        pass  # the gateway's persistent session and subscriptions now exist on the broker
    async with mqtt_client(services) as client:
        for n in range(1, 21):
            await publish(client, f"{namespace.prefix}/btn-{n}/alarm", {"ts": now_ms(), "kind": "sos", "seq": 1})
    async with running_platform(services, database_url, namespace, residents=20) as harness:
        alerts = await eventually(lambda: _at_least(harness.platform.alerts.open_alerts(), 20), timeout=20)
        await asyncio.sleep(0.5)
        alerts = await harness.platform.alerts.open_alerts()
    assert sorted(a.device_id for a in alerts) == sorted(f"btn-{n}" for n in range(1, 21))
    assert all(a.repeats == 1 for a in alerts)


async def _at_least(coro, n: int):  # type: ignore[no-untyped-def]
    items = await coro
    return items if len(items) >= n else None
