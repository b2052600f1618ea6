"""The device catalogue: every type is complete and every part of the platform reads the same row."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from firmware_sim.kinds import KINDS, WEARABLES

from alerting.intake import home_announcers
from api.console import LANGUAGES, dictionary
from devices.catalogue import BATTERY_SILENCE_S, CATALOGUE, MAINS_SILENCE_S, DeviceType, Role, device_type
from devices.events import Stream
from devices.zigbee_models import role_of
from tests.devices.test_zigbee_fixtures import DEVICES, run

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("kind", CATALOGUE.values(), ids=list(CATALOGUE))
def test_every_type_is_complete(kind: DeviceType) -> None:
    assert CATALOGUE[kind.name] is kind and re.fullmatch(r"[a-z0-9_]{1,32}", kind.name)
    assert kind.label_en.strip() and CJK.search(kind.label_zh)
    assert kind.power in ("battery", "mains") and kind.silence_limit_s > 0
    assert Stream.STATUS not in kind.streams  # every device may send status; listed are its own
    assert kind.wearable == (Stream.IMU in kind.streams)


def test_silence_limits_default_by_power_source() -> None:
    assert device_type("pir").silence_limit_s == BATTERY_SILENCE_S == 6 * 3600
    assert {name for name, kind in CATALOGUE.items() if kind.silence_limit_s == MAINS_SILENCE_S} == {
        name for name, kind in CATALOGUE.items() if kind.mains
    }
    assert {"vitals", "gas", "hub", "presence", "fall_radar", "radar", "appliance"} <= {
        name for name, kind in CATALOGUE.items() if kind.mains
    }


def test_an_unknown_type_gets_a_cautious_default() -> None:
    kind = device_type("kettle")
    assert (kind.name, kind.power, kind.silence_limit_s, kind.zigbee_role) == (
        "kettle",
        "battery",
        BATTERY_SILENCE_S,
        Role.OTHER,
    )
    assert not (kind.activity or kind.announces or kind.wearable or kind.streams)
    assert role_of("kettle") is Role.OTHER and role_of("fall_radar") is Role.FALL_RADAR


@pytest.mark.parametrize("device", DEVICES, ids=[d["label"] for d in DEVICES])
def test_a_zigbee_device_publishes_only_its_types_streams(device: dict[str, object]) -> None:
    """Decoded by the gateway from Zigbee2MQTT's own converter output; SOS, falls (``alarm``) and
    ``status`` may come from any device; a type outside the catalogue (a light switch) has none."""
    kind = device_type(str(device["type"]))
    for _, events, _ in run(device):  # type: ignore[arg-type]
        assert {e.stream for e in events} <= kind.streams | {Stream.STATUS, Stream.ALARM}, device["label"]


def test_the_simulated_kinds_are_catalogue_types() -> None:
    for name, kind in KINDS.items():
        row = CATALOGUE[kind.registry_type]
        assert row.mains == (kind.drain_pct_day == 0), name  # mains-powered devices do not drain
    assert {"pendant", "wristband"} == WEARABLES


@dataclass
class Device:
    id: str
    type: str


def test_the_devices_that_speak_or_light_up_announce() -> None:
    devices = [Device(f"d-{name}", name) for name in [*CATALOGUE, "kettle"]]
    announcers = home_announcers(lambda resident_id: devices)("res-1")
    assert announcers == ["d-sos_button", "d-pendant", "d-hub"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_console_names_every_type_as_the_catalogue_does(lang: str) -> None:
    strings = dictionary(lang)
    named = {key.removeprefix("device."): value for key, value in strings.items() if key.startswith("device.")}
    assert named == {name: kind.label_zh if lang == "zh" else kind.label_en for name, kind in CATALOGUE.items()}
