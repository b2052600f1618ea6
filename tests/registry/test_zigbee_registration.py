"""Registering a Zigbee device with a model Zigbee2MQTT does not report is allowed, with a warning."""

from __future__ import annotations

import pytest

from registry.area import Area
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
