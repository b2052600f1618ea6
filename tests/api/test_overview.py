"""The console's overview and resident card show the stream core's device supervision: the same
last wills, silence limits, battery episodes and unmonitored homes its alerts come from."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from devices.events import Event, Stream
from registry.store import DeviceRecord
from stream.detections import Detection, DetectionKind
from tests.harness import Harness, eventually, running_platform
from tests.services import TestServices

M = 60_000


def status(device_id: str, resident_id: str, device_type: str, ts_ms: int, **values: object) -> Event:
    return Event(device_id, resident_id, Stream.STATUS, ts_ms, ts_ms, values, device_type=device_type)


async def overview(harness: Harness) -> dict[str, Any]:
    async with harness.http() as http:
        response = await http.get("/api/v1/console/overview")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def ids(entries: list[dict[str, Any]], key: str = "device_id") -> set[str]:
    return {entry[key] for entry in entries}


async def test_overview_and_card_show_the_stream_cores_device_supervision(services: TestServices) -> None:
    async with running_platform(services, residents=2) as harness:
        platform = harness.platform
        await platform.registry.add_device(DeviceRecord("vitals-1", "res-1", "vitals", location="bedroom"))
        now = int(time.time() * 1000)
        await platform.sink(
            {
                "res-1": [status("vitals-1", "res-1", "vitals", now - 11 * M, online=True)],
                "res-2": [
                    status("door-2", "res-2", "door", now, online=False),
                    status("btn-2", "res-2", "sos_button", now, battery=12),
                ],
            }
        )

        # a mains-powered vitals monitor unheard for 11 minutes is silent (the platform's own tick)
        async def vitals_silent() -> dict[str, Any] | None:
            data = await overview(harness)
            return data if "vitals-1" in ids(data["devices"]["offline"]) else None

        data = await eventually(vitals_silent)
        offline = {entry["device_id"]: entry for entry in data["devices"]["offline"]}
        assert set(offline) == {"vitals-1", "door-2"}
        assert offline["vitals-1"]["silent"] is True and offline["door-2"]["silent"] is False
        assert offline["vitals-1"]["last_seen"] == datetime.fromtimestamp((now - 11 * M) / 1000, UTC).isoformat()
        assert [(e["device_id"], e["battery"]) for e in data["devices"]["low_battery"]] == [("btn-2", 12)]
        # res-2's only activity sensor left by its last will: unmonitored; res-1 has none, as before
        assert [(e["resident_id"], e["reason"]) for e in data["residents"]["unmonitored"]] == [("res-2", "all_offline")]
        # both kits (a call button and the hall door; a vitals monitor is no activity sensor) see no room
        gaps = {e["resident_id"]: e["gaps"] for e in data["residents"]["sensing_gaps"]}
        unseen = ["no_motion", "bedroom_unsensed", "bathroom_unsensed"]
        assert gaps == {"res-1": unseen, "res-2": unseen}

        # the battery episode closes where the stream's does (30 %), not at an overview constant
        await platform.sink({"res-2": [status("btn-2", "res-2", "sos_button", now + 1, battery=25)]})
        assert [(e["device_id"], e["battery"]) for e in (await overview(harness))["devices"]["low_battery"]] == [
            ("btn-2", 25)
        ]
        await platform.sink({"res-2": [status("btn-2", "res-2", "sos_button", now + 2, battery=35)]})
        assert (await overview(harness))["devices"]["low_battery"] == []

        async with harness.http() as http:
            card = (await http.get("/api/v1/console/residents/res-1/card")).json()
        devices = {d["id"]: d for d in card["devices"]}
        assert (devices["vitals-1"]["online"], devices["vitals-1"]["silent"]) == (False, True)
        assert devices["btn-1"]["online"] is None and devices["btn-1"]["last_seen"] is None  # never heard


async def test_a_device_registered_without_a_power_source_takes_its_types(services: TestServices) -> None:
    async with running_platform(services, residents=1) as harness:
        async with harness.http() as http:
            created = {}
            for device_id, device_type, extra in (
                ("vitals-9", "vitals", {}),
                ("gas-9", "gas", {}),
                ("pir-9", "pir", {}),
                ("hub-9", "hub", {"power": "battery"}),
            ):
                body = {"id": device_id, "type": device_type, "resident_id": "res-1", **extra}
                response = await http.post("/api/v1/devices", json=body)
                assert response.status_code == 201, response.text
                created[device_id] = (await http.get(f"/api/v1/devices/{device_id}")).json()["power"]
        assert created == {"vitals-9": "mains", "gas-9": "mains", "pir-9": "battery", "hub-9": "battery"}


async def test_a_sensor_heard_but_sensing_nothing_is_listed_with_when_it_last_sensed(services: TestServices) -> None:
    """Quiet beyond habit: the entrance door opened every 8 hours for eight days, then nothing for two
    while the kitchen's motion sensor went on: listed with the devices to visit, and when it last sensed."""
    async with running_platform(services, residents=1) as harness:
        platform = harness.platform
        await platform.registry.add_device(DeviceRecord("door-q", "res-1", "door", location="hall"))
        await platform.registry.add_device(DeviceRecord("pir-q", "res-1", "pir", location="kitchen"))
        now = int(time.time() * 1000)
        start, hour = now - 10 * 24 * 60 * M, 60 * M
        events = []
        for t in range(start, now, 30 * M):
            events.append(Event("pir-q", "res-1", Stream.MOTION, t, t, {"occupancy": True}, device_type="pir"))
            if (t - start) % (8 * hour) == 0 and t < now - 2 * 24 * hour:
                last_door = t
                events.append(Event("door-q", "res-1", Stream.CONTACT, t, t, {"open": True}, device_type="door"))
        await platform.sink({"res-1": events})

        async def listed() -> dict[str, Any] | None:
            data = await overview(harness)
            return data if "door-q" in ids(data["devices"]["offline"]) else None

        data = await eventually(listed)
        entry = next(e for e in data["devices"]["offline"] if e["device_id"] == "door-q")
        assert entry["not_sensing"] is True and entry["silent"] is False
        assert entry["last_sensed"] == datetime.fromtimestamp(last_door / 1000, UTC).isoformat()
        assert "pir-q" not in ids(data["devices"]["offline"])
        async with harness.http() as http:
            card = (await http.get("/api/v1/console/residents/res-1/card")).json()
        door = next(d for d in card["devices"] if d["id"] == "door-q")
        assert (door["online"], door["not_sensing"]) == (True, True)
        # what the kit cannot see: the harness's hall door and these two sense no bedroom or bathroom
        assert card["sensing_gaps"] == ["bedroom_unsensed", "bathroom_unsensed"]


async def test_a_pad_reported_stuck_is_listed_with_the_devices_to_visit(services: TestServices) -> None:
    """An open PAD_STUCK names its pad: the overview lists it with the devices to visit (heard, not
    silent, but it holds "occupied"), until the alert is closed."""
    async with running_platform(services, residents=1) as harness:
        platform = harness.platform
        await platform.registry.add_device(DeviceRecord("chair-q", "res-1", "seat", location="living"))
        now = int(time.time() * 1000)
        seat = Event("chair-q", "res-1", Stream.SEAT, now, now, {"occupied": True}, device_type="seat")
        await platform.sink({"res-1": [seat]})
        details = {"pad": "seat", "late_releases": 5.2, "reason": "the seat pad let go late"}
        key = f"pad_stuck:res-1:seat:{now}"
        stuck = Detection("res-1", "chair-q", DetectionKind.PAD_STUCK, now, now, key, details=details)
        await platform.alerts.raise_detections([stuck])

        async def listed() -> dict[str, Any] | None:
            data = await overview(harness)
            return data if "chair-q" in ids(data["devices"]["offline"]) else None

        data = await eventually(listed)
        entry = next(e for e in data["devices"]["offline"] if e["device_id"] == "chair-q")
        assert entry["stuck_pad"] is True and entry["silent"] is False and entry["type"] == "seat"
        assert entry["reported"] == datetime.fromtimestamp(now / 1000, UTC).isoformat()
        [alert] = [a for a in await platform.alerts.open_alerts() if a.kind == "pad_stuck"]
        await platform.alerts.acknowledge(alert.id, "admin")
        await platform.alerts.resolve(alert.id, "admin", "device_fault")
        assert "chair-q" not in ids((await overview(harness))["devices"]["offline"])
