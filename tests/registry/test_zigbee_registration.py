"""Registering a Zigbee device with a model Zigbee2MQTT does not report is allowed, with a warning."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from registry.area import Area
from registry.models import DeviceCreate, DeviceUpdate
from registry.store import Registry
from registry.users import User

ADMIN = User("root-admin", "admin")


async def test_an_unknown_zigbee_model_is_registered_with_a_warning(
    city_registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    registry = city_registry
    common = {"type": "sos_button", "org_node": "410100"}
    await registry.register_device({**common, "id": "zb-1", "model": "TS0215A", "z2m_name": "b1"}, Area(), ADMIN)
    await registry.register_device({**common, "id": "zb-2", "model": "R7052", "z2m_name": "b2"}, Area(), ADMIN)
    await registry.register_device({**common, "id": "v1-1", "model": "our-own-button"}, Area(), ADMIN)
    unknown, white_label, own = [
        next(
            entry["details"]
            for entry in await registry.device_history(device, Area())
            if entry["action"] == "registered"
        )
        for device in ("zb-1", "zb-2", "v1-1")
    ]
    assert "not a known Zigbee2MQTT model" in str(unknown["warning"])
    assert "warning" not in white_label
    assert "warning" not in own  # not a Zigbee device
    assert registry.zigbee_device("b1") is not None  # registered all the same
    assert any("Zigbee device registered" in record.message for record in caplog.records)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("bridge", "reserved"),  # zigbee2mqtt/bridge is Zigbee2MQTT's own; the gateway never reads it as a device
        ("BRIDGE", "reserved"),  # friendly names are one namespace without case
        ("living/cmd", "'/'"),  # zigbee2mqtt/living/cmd is two levels; the gateway hears zigbee2mqtt/+
        ("sos+1", "wildcard"),
        ("sos#1", "wildcard"),
        ("hall\tbutton", "control"),
        ("hall\x7fbutton", "control"),
        ("hall\u0085button", "broker"),  # C1 control: Mosquitto refuses such a topic
        ("hall\ufffebutton", "broker"),  # a Unicode noncharacter: likewise
        ("hall\ufdd0button", "broker"),
        ("hall\U0010ffffbutton", "broker"),
        ("hall\ud800button", "broker"),  # a lone surrogate is no UTF-8 at all
        ("", "1 to 64"),
        ("x" * 65, "1 to 64"),
    ],
)
def test_a_friendly_name_the_gateway_cannot_hear_is_refused_with_the_reason(name: str, why: str) -> None:
    """Fuzzing: buttons named ``bridge`` were registered and never heard (the gateway leaves that topic to
    Zigbee2MQTT's bridge)."""
    for model, fields in ((DeviceCreate, {"id": "zb-1", "type": "sos_button"}), (DeviceUpdate, {})):
        with pytest.raises(ValidationError) as error:
            model.model_validate({**fields, "z2m_name": name})
        assert why in str(error.value), str(error.value)
