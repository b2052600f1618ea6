"""Finding 1 of issue 12 on the whole platform (real broker and PostgreSQL): one message must not stop
the telemetry lane. ``{"t0": 1e400, …}`` used to raise ``OverflowError`` out of the lane, silently,
with ``/readyz`` still green; the unacknowledged message then killed the lane again after a restart.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from devices.events import Event
from tests.harness import Harness, Namespace, eventually, mqtt_client, publish, running_platform
from tests.services import TestServices

POISON = (
    b'{"t0": 1e400, "hz": 50, "acc": [[0,0,1]]}',
    b'{"t0": Infinity, "hz": 50, "acc": [[0,0,1]]}',
    b'{"t0": NaN, "hz": 50, "acc": [[0,0,1]]}',
    b'{"t0": 1732300000000, "hz": 1e400, "acc": [[0,0,1]]}',
    b'{"t0": 1732300000000, "hz": 50, "acc": [[0,0,' + b"9" * 400 + b"]]}",
)


async def health(harness: Harness) -> dict[str, Any]:
    async with harness.http() as http:
        return (await http.get("/healthz")).json()  # type: ignore[no-any-return]


async def ready(harness: Harness) -> int:
    async with harness.http() as http:
        return (await http.get("/readyz")).status_code


async def test_non_finite_and_huge_numbers_are_rejected_and_telemetry_keeps_flowing(services: TestServices) -> None:
    async with running_platform(services, residents=1) as harness, mqtt_client(services) as client:
        for payload in POISON:
            await publish(client, harness.topic("btn-1", "imu"), payload)
        await publish(client, harness.topic("door-1", "contact"), {"open": True})

        async def contact_accepted() -> bool:
            gateway = (await health(harness))["gateway"]
            return bool(gateway["rejected"].get("out_of_range") == len(POISON) and gateway["messages_accepted"] >= 1)

        await eventually(contact_accepted)
        counters = (await health(harness))["gateway"]
        assert counters["lanes"] == {"alarms": True, "telemetry": True}
        assert counters["messages_accepted"] + sum(counters["rejected"].values()) == counters["received"]
        assert counters["events_produced"] == counters["messages_accepted"]  # the contact's one; none from poison
        assert await ready(harness) == 200


async def test_a_message_that_breaks_the_gateway_is_dead_lettered_listed_for_admins_and_not_redelivered(
    services: TestServices,
) -> None:
    namespace = Namespace()
    database_url = await services.create_database()
    async with running_platform(services, database_url, namespace, residents=1) as harness:
        gateway = harness.platform.gateway
        translate = gateway.translate

        def buggy(topic: str, payload: bytes, received_ms: int, *, retained: bool = False) -> list[Event]:
            if b"poison" in payload:
                raise OverflowError("cannot convert float infinity to integer")
            return translate(topic, payload, received_ms, retained=retained)

        gateway.translate = buggy  # type: ignore[method-assign]
        async with mqtt_client(services) as client:
            await publish(client, harness.topic("btn-1", "imu"), b'{"poison": "\xff\x00"}')
            await publish(client, harness.topic("door-1", "contact"), {"open": True})
        await eventually(lambda: gateway.messages_accepted >= 1 and gateway.rejected["internal_error"] == 1)
        assert await ready(harness) == 200
        async with harness.http() as http:
            letters = await eventually(lambda: _listed(http))
            registry = harness.platform.registry
            await registry.add_org_node("C1", "郑州市", "city")
            await registry.add_org_node("D1", "金水区", "district", "C1")
            expected = {("city-admin", "admin", "C1"): 200, ("district-admin", "admin", "D1"): 403,
                        ("city-operator", "operator", "C1"): 403}  # fmt: skip
            for (username, role, node), status_code in expected.items():
                await harness.platform.users.add(username, "a-password-123", role=role, org_node=node)
                login = {"username": username, "password": "a-password-123"}
                token = (await http.post("/api/v1/auth/token", data=login)).json()["access_token"]
                response = await http.get("/api/v1/dead-letters", headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == status_code, (username, response.text)
            assert (await http.get("/api/v1/dead-letters", headers={"Authorization": ""})).status_code == 401
        [letter] = letters
        assert letter["reason"] == "internal_error" and letter["lane"] == "telemetry"
        assert letter["device_id"] == "btn-1" and letter["topic"] == harness.topic("btn-1", "imu")
        assert letter["error"].startswith("OverflowError")
        assert base64.b64decode(letter["payload_base64"]) == b'{"poison": "\xff\x00"}'
    # Acknowledged: the same gateway session coming back gets nothing again.
    async with running_platform(services, database_url, namespace, residents=0) as again:
        await asyncio.sleep(1.0)
        assert again.platform.gateway.received == 0


async def _listed(http: Any) -> list[dict[str, Any]] | None:
    response = await http.get("/api/v1/dead-letters")
    assert response.status_code == 200, response.text
    return response.json() or None  # type: ignore[no-any-return]
