"""One namespace for Zigbee devices: friendly names and IEEE addresses, without case, in the database
and in memory; a district supervisor can neither redirect nor mute another district's Zigbee button.

Real PostgreSQL, real broker, the platform's API: district D1's resident has a Tuya SOS button
registered by its IEEE address in upper case; district D2's supervisor tries to claim that address as
a friendly name (or as an address, in another case), to edit D1's device, and to free the key again by
unbinding or retiring their own device. D1's presses on Zigbee2MQTT's lower-case topic must keep
raising alerts for D1's resident throughout.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
import pytest_asyncio

from registry.area import Area
from registry.users import User
from tests.harness import Harness, eventually, mqtt_client, publish, running_platform
from tests.orgs import add_org_tree
from tests.services import TestServices

ROOT = User("admin", "admin")
PASSWORD = "a-long-password-1"
IEEE_UPPER = "0x00158D0001A2B3C4"
IEEE_TOPIC = IEEE_UPPER.lower()  # what Zigbee2MQTT publishes under when the friendly name is the address


@dataclass
class World:
    harness: Harness
    d1_resident: str
    d2_resident: str
    d1_device: str
    d2: httpx.AsyncClient


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(services: TestServices) -> AsyncIterator[World]:
    async with running_platform(services, residents=0) as harness:
        registry = harness.platform.registry
        await add_org_tree(registry, {"ZC 郑州市": ["ZD1 金水区", "ZD2 二七区"]})
        d1 = await registry.create_resident({"name": "D1 resident", "org_node": "ZD1"}, Area(), ROOT)
        d2 = await registry.create_resident({"name": "D2 resident", "org_node": "ZD2"}, Area(), ROOT)
        await registry.register_device(
            {"id": "d1-sos", "type": "sos_button", "model": "TS0215A_sos", "resident_id": d1["id"], "ieee": IEEE_UPPER},
            Area(), ROOT,
        )  # fmt: skip
        await harness.platform.users.add("d2-supervisor", PASSWORD, "supervisor", org_node="ZD2")
        async with httpx.AsyncClient(base_url=harness.http_url) as http:
            answer = await http.post("/api/v1/auth/token", data={"username": "d2-supervisor", "password": PASSWORD})
            answer.raise_for_status()
            token = answer.json()["access_token"]
        async with httpx.AsyncClient(
            base_url=harness.http_url, headers={"Authorization": f"Bearer {token}"}
        ) as d2_http:
            yield World(harness, d1["id"], d2["id"], "d1-sos", d2_http)


async def _press_lands_with(world: World, seq: int) -> None:
    """One SOS press on Zigbee2MQTT's lower-case topic raises (or repeats) an alert for D1's resident."""
    platform = world.harness.platform
    before = platform.gateway.messages_accepted
    async with mqtt_client(world.harness.services) as client:
        await publish(client, world.harness.zigbee_topic(IEEE_TOPIC), json.dumps({"action": "emergency", "seq": seq}))
    await eventually(lambda: platform.gateway.messages_accepted > before)

    async def d1_alert() -> bool:
        alerts = await platform.alerts.open_alerts()
        return any(a.resident_id == world.d1_resident and a.device_id == world.d1_device for a in alerts)

    await eventually(d1_alert)
    assert not any(a.resident_id == world.d2_resident for a in await platform.alerts.open_alerts())


async def test_an_upper_case_ieee_address_matches_zigbee2mqtts_lower_case_topic(world: World) -> None:
    assert world.harness.platform.registry.zigbee_device(IEEE_TOPIC) is not None
    await _press_lands_with(world, 1)


CLAIMS = [{"z2m_name": IEEE_TOPIC}, {"z2m_name": IEEE_UPPER}, {"ieee": IEEE_TOPIC}, {"z2m_name": "0x00158d0001A2B3C4"}]


@pytest.mark.parametrize("number", range(len(CLAIMS)))
async def test_another_district_cannot_take_a_zigbee_key(world: World, number: int) -> None:
    body = {"id": f"d2-fake-{number}", "type": "sos_button", "model": "TS0215A_sos",
            "resident_id": world.d2_resident, **CLAIMS[number]}  # fmt: skip
    answer = await world.d2.post("/api/v1/devices", json=body)
    assert answer.status_code == 409, answer.text
    assert "already held by another device" in answer.json()["detail"]
    assert "d1-sos" not in answer.text and "D1 resident" not in answer.text  # says it is taken, not by whom
    assert world.harness.platform.registry.zigbee_device(IEEE_TOPIC).id == "d1-sos"  # type: ignore[union-attr]


async def test_renaming_into_a_held_key_is_refused_and_freeing_ones_own_keys_leaves_others(world: World) -> None:
    registry = world.harness.platform.registry
    made = await world.d2.post(
        "/api/v1/devices",
        json={"id": "d2-sos", "type": "sos_button", "model": "TS0215A_sos", "resident_id": world.d2_resident,
              "z2m_name": "D2 hall button"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    for change in ({"z2m_name": IEEE_TOPIC}, {"ieee": IEEE_UPPER}):
        answer = await world.d2.patch("/api/v1/devices/d2-sos", json=change)
        assert answer.status_code == 409, answer.text
    # its own keys, any case, resolve to it; unbinding and retiring it frees exactly those
    assert registry.zigbee_device("d2 HALL button").id == "d2-sos"  # type: ignore[union-attr]
    assert (await world.d2.patch("/api/v1/devices/d2-sos", json={"resident_id": None})).status_code == 200
    assert (await world.d2.patch("/api/v1/devices/d2-sos", json={"status": "retired"})).status_code == 200
    assert registry.zigbee_device("d2 hall button") is None
    assert registry.zigbee_device(IEEE_TOPIC).id == "d1-sos"  # type: ignore[union-attr]
    await _press_lands_with(world, 2)


async def test_another_districts_device_cannot_be_touched(world: World) -> None:
    for method, path, body in (
        ("PATCH", "/api/v1/devices/d1-sos", {"resident_id": world.d2_resident}),
        ("PATCH", "/api/v1/devices/d1-sos", {"status": "retired"}),
        ("PATCH", "/api/v1/devices/d1-sos", {"ieee": None}),
        ("POST", "/api/v1/devices/d1-sos/replace", {"new_id": "d2-stolen"}),
    ):
        answer = await world.d2.request(method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
    bind_foreign = await world.d2.post(
        "/api/v1/devices", json={"id": "d2-onto-d1", "type": "pir", "resident_id": world.d1_resident}
    )
    assert bind_foreign.status_code == 404, bind_foreign.text
    assert world.harness.platform.registry.zigbee_device(IEEE_TOPIC).id == "d1-sos"  # type: ignore[union-attr]
    await _press_lands_with(world, 3)


async def test_the_database_holds_the_namespace_without_the_application(world: World) -> None:
    """Even a write that bypasses the registry cannot give a second device a held key, in any column or case."""
    async with world.harness.platform.pool.connection() as conn:
        for column, value in (("z2m_name", IEEE_TOPIC), ("ieee", IEEE_TOPIC), ("z2m_name", IEEE_UPPER)):
            with pytest.raises(psycopg.errors.UniqueViolation):
                async with conn.transaction():
                    await conn.execute(
                        f"INSERT INTO devices (id, type, {column}) VALUES (%s, 'sos_button', %s)",
                        (f"raw-{column}", value),
                    )
        async with conn.transaction():  # the default friendly name is the device's own address: allowed
            await conn.execute(
                "INSERT INTO devices (id, type, z2m_name, ieee) VALUES ('raw-self', 'pir', %s, %s)",
                ("0x00158d00aaaaaaaa", "0x00158D00AAAAAAAA"),
            )
            await conn.execute("UPDATE devices SET status = 'retired' WHERE id = 'raw-self'")


async def test_a_csv_import_cannot_take_a_zigbee_key_either(world: World) -> None:
    """Rows claiming a held key, or repeating one of the same file in another column or case, are rejected
    with their line and reason; the others go in."""
    text = (
        "id,type,model,org_node,z2m_name,ieee\n"
        f"d2-csv-1,sos_button,TS0215A_sos,ZD2,{IEEE_TOPIC},\n"
        "d2-csv-2,sos_button,TS0215A_sos,ZD2,,0x00158D00BBBBBBBB\n"
        "d2-csv-3,sos_button,TS0215A_sos,ZD2,0x00158d00bbbbbbbb,\n"
        "d2-csv-4,sos_button,TS0215A_sos,ZD2,D2 kitchen button,\n"
    )
    answer = await world.d2.post("/api/v1/imports/devices", content=text, headers={"content-type": "text/csv"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    rejected = {row["external_id"]: " ".join(row["errors"]) for row in report["rejected"]}
    assert set(rejected) == {"d2-csv-1", "d2-csv-3"}, report
    assert "held by another device" in rejected["d2-csv-1"] and "repeats row" in rejected["d2-csv-3"]
    registry = world.harness.platform.registry
    assert registry.zigbee_device(IEEE_TOPIC).id == "d1-sos"  # type: ignore[union-attr]
    assert registry.zigbee_device("0x00158d00bbbbbbbb").id == "d2-csv-2"  # type: ignore[union-attr]


async def test_a_friendly_name_the_gateway_cannot_hear_is_refused_with_why(world: World) -> None:
    """Fuzzing: Zigbee buttons named ``bridge`` or ``cmd`` were registered (201) and never raised an alarm:
    the gateway leaves Zigbee2MQTT's ``bridge`` topics to the bridge and skipped every topic ending in ``cmd``.
    ``bridge`` is now refused with the reason; ``cmd`` is heard like any other name."""
    device = {"type": "sos_button", "model": "TS0215A_sos", "resident_id": world.d2_resident}
    for number, (name, why) in enumerate(
        (("bridge", "reserved"), ("Bridge", "reserved"), ("hall/button", "'/'"), ("hall\u0085button", "broker"))
    ):
        answer = await world.d2.post("/api/v1/devices", json={**device, "id": f"d2-unheard-{number}", "z2m_name": name})
        assert answer.status_code == 422, answer.text
        assert why in answer.text, answer.text

    platform = world.harness.platform
    other = await platform.registry.create_resident({"name": "D2 second resident", "org_node": "ZD2"}, Area(), ROOT)
    made = await world.d2.post(
        "/api/v1/devices", json={**device, "id": "d2-cmd", "resident_id": other["id"], "z2m_name": "cmd"}
    )
    assert made.status_code == 201, made.text
    renamed = await world.d2.patch("/api/v1/devices/d2-cmd", json={"z2m_name": "bridge"})
    assert renamed.status_code == 422 and "reserved" in renamed.text, renamed.text
    async with mqtt_client(world.harness.services) as client:
        await publish(client, world.harness.zigbee_topic("cmd"), json.dumps({"action": "emergency"}))

    async def pressed() -> bool:
        return any(a.device_id == "d2-cmd" for a in await platform.alerts.open_alerts())

    await eventually(pressed)
