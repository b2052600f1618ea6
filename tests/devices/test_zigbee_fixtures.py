"""Real Zigbee2MQTT payloads through the gateway: every step of every fixture gives its expected events.

The fixtures are written by ``scripts/zigbee-fixtures`` from Zigbee2MQTT's own converter library
(``zigbee-herdsman-converters`` from npm), published the way Zigbee2MQTT 2.x publishes state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devices.events import Event, Stream
from devices.zigbee_models import KNOWN_MODELS, Role, registration_warning, role_of
from gateway import Gateway, GatewayConfig
from registry.store import DeviceRecord

FIXTURES = json.loads((Path(__file__).parent / "zigbee" / "fixtures.json").read_text())
DEVICES: list[dict[str, Any]] = FIXTURES["devices"]
NOW_MS = 1_800_000_000_000


class Directory:
    def __init__(self, *devices: DeviceRecord) -> None:
        self.by_zigbee = {key: d for d in devices for key in (d.z2m_name, d.ieee) if key}

    def device(self, device_id: str) -> DeviceRecord | None:
        return None

    def zigbee_device(self, name_or_ieee: str) -> DeviceRecord | None:
        return self.by_zigbee.get(name_or_ieee)


def expected(item: str) -> tuple[Stream, dict[str, Any]] | None:
    """``"alarm:kind=fall,warning=true"`` → ``(Stream.ALARM, {"kind": "fall", "warning": True})``."""
    if item == "none":
        return None
    stream, _, pairs = item.partition(":")
    values: dict[str, Any] = {}
    for pair in pairs.split(","):
        key, _, raw = pair.partition("=")
        values[key] = json.loads(raw) if raw in {"true", "false"} or raw.isdigit() else raw
    return Stream(stream), values


def matches(event: Event, want: tuple[Stream, dict[str, Any]]) -> bool:
    stream, values = want
    if event.stream is not stream or event.values.get("warning", False) != values.get("warning", False):
        return False
    return all(event.values.get(key) == value for key, value in values.items())


def run(device: dict[str, Any], by_ieee: bool = False) -> list[tuple[int, list[Event], list[str]]]:
    record = DeviceRecord(
        "dev-1", "res-1", device["type"], model=device["model"], z2m_name="living room button", ieee=device["ieee"]
    )
    gateway = Gateway(Directory(record), GatewayConfig(), clock=lambda: NOW_MS / 1000)
    topic = f"zigbee2mqtt/{device['ieee'] if by_ieee else 'living room button'}"
    results = []
    for i, step in enumerate(device["steps"]):
        events = gateway.accept(topic, json.dumps(step["payload"]).encode(), NOW_MS + i * 1000)
        results.append((i, events, step["expect"]))
    return results


def test_the_fixtures_cover_thirty_models_of_every_class() -> None:
    models = {d["model"] for d in DEVICES}
    assert len(models) >= 30
    classes = {role_of(d["type"]) for d in DEVICES}
    assert classes >= {
        Role.CALL, Role.MOTION, Role.PRESENCE, Role.FALL_RADAR, Role.DOOR, Role.ENV, Role.BED, Role.SEAT,
        Role.VIBRATION,
    }  # fmt: skip
    assert {"smoke", "gas", "water_leak"} <= {d["type"] for d in DEVICES}
    assert FIXTURES["library"].startswith("zigbee-herdsman-converters@")


@pytest.mark.parametrize("device", DEVICES, ids=[d["label"] for d in DEVICES])
def test_each_published_state_gives_its_expected_events(device: dict[str, Any]) -> None:
    for i, events, expect in run(device):
        wants = [w for w in map(expected, expect) if w is not None]
        described = [(e.stream.value, dict(e.values)) for e in events]
        assert len(events) == len(wants), f"step {i} of {device['label']}: {described} ≠ {expect}"
        for want in wants:
            assert any(matches(e, want) for e in events), f"step {i} of {device['label']}: {described} ≠ {expect}"


@pytest.mark.parametrize("device", DEVICES[:3], ids=[d["label"] for d in DEVICES[:3]])
def test_the_ieee_address_topic_works_like_the_friendly_name(device: dict[str, Any]) -> None:
    by_name = [[(e.stream, dict(e.values)) for e in events] for _, events, _ in run(device)]
    by_ieee = [[(e.stream, dict(e.values)) for e in events] for _, events, _ in run(device, by_ieee=True)]
    assert by_name == by_ieee


def test_known_models_are_the_fixture_models_and_unknown_ones_warn() -> None:
    assert {d["model"] for d in DEVICES} <= set(KNOWN_MODELS)
    for device in DEVICES:
        assert registration_warning(device["type"], device["model"]) is None, device["label"]
    assert registration_warning("sos_button", "TS0215A") is not None  # Zigbee's id, not Zigbee2MQTT's model
    assert registration_warning("door", "MIR-HE200-TY") is not None  # a fall radar is no door
    assert registration_warning("sos_button", "") is None
