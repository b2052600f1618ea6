"""The contract every Zigbee2MQTT device type keeps, whatever the payload."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import zigbee2mqtt
from devices.catalogue import CATALOGUE, Role
from devices.errors import PayloadError, Reject
from devices.events import Stream
from devices.protocol import Decoded

TYPES = [*sorted(t for t, kind in CATALOGUE.items() if kind.zigbee_role is not Role.OTHER), "switch", "hub"]
"""Every type with a role, and types with none."""
FIELDS = (
    "action", "sos", "occupancy", "presence", "contact", "pressure", "pressure_state", "smoke", "gas", "water_leak",
    "test", "vibration", "battery", "battery_low", "tamper", "status", "fall_status", "fall_down_status",
    "illuminance", "linkquality",
)  # fmt: skip
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "on", "OFF", "single", "emergency", "fall", "sit", "NaN", "1e400", "occupied"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
BODIES = st.dictionaries(st.sampled_from(FIELDS), ANY_VALUE, max_size=8)


def decode(state: zigbee2mqtt.Zigbee2MqttState, device_type: str, body: object) -> list[Decoded]:
    return zigbee2mqtt.decode_state("dev", device_type, json.dumps(body).encode(), state, now_ms=1)


@pytest.mark.parametrize("device_type", TYPES)
@settings(max_examples=60, deadline=None)
@given(bodies=st.lists(BODIES, min_size=1, max_size=4))
def test_any_state_is_decoded_or_rejected_with_a_reason(device_type: str, bodies: list[dict[str, Any]]) -> None:
    state = zigbee2mqtt.Zigbee2MqttState()
    for body in bodies:
        try:
            decoded = decode(state, device_type, body)
        except PayloadError as error:
            assert isinstance(error.reason, Reject)
            continue
        for item in decoded:
            assert isinstance(item.stream, Stream)
            assert all(isinstance(key, str) for key in item.values)


@pytest.mark.parametrize("device_type", TYPES)
@settings(max_examples=40, deadline=None)
@given(noise=BODIES)
def test_an_sos_is_never_lost_to_another_field(device_type: str, noise: dict[str, Any]) -> None:
    for call in ({"sos": True}, {"action": "emergency"}, {"action": "sos"}, {"action": "panic"}):
        body = {**noise, **call}
        if "action" in call:
            body.pop("sos", None)  # a false sos beside it is fine; a non-string action is not the case here
        alarms = [d for d in decode(zigbee2mqtt.Zigbee2MqttState(), device_type, body) if d.stream is Stream.ALARM]
        assert any(d.values.get("kind") == "sos" for d in alarms), (device_type, body)


@pytest.mark.parametrize("device_type", TYPES)
@settings(max_examples=40, deadline=None)
@given(noise=BODIES)
def test_a_battery_reading_is_never_lost_to_another_field(device_type: str, noise: dict[str, Any]) -> None:
    body = {**noise, "battery": 42}
    status = [d for d in decode(zigbee2mqtt.Zigbee2MqttState(), device_type, body) if d.stream is Stream.STATUS]
    assert [d.values.get("battery") for d in status] == [42.0]


@pytest.mark.parametrize("device_type", TYPES)
@settings(max_examples=40, deadline=None)
@given(body=BODIES)
def test_the_same_state_republished_after_a_restart_raises_nothing(device_type: str, body: dict[str, Any]) -> None:
    body = {k: v for k, v in body.items() if k != "action"}
    state = zigbee2mqtt.Zigbee2MqttState()
    try:
        decode(state, device_type, body)
    except PayloadError:
        return
    restored = zigbee2mqtt.Zigbee2MqttState()
    restored.restore(state.to_json())
    zigbee2mqtt.decode_bridge_state(b"offline", restored, 0)
    zigbee2mqtt.decode_bridge_state(b"online", restored, 0)
    try:
        assert decode(restored, device_type, body) == []
    except PayloadError as error:  # an alarm field it cannot read, rejected as in any message
        assert isinstance(error.reason, Reject)


@pytest.mark.parametrize("device_type", TYPES)
def test_nulls_alone_say_nothing(device_type: str) -> None:
    assert decode(zigbee2mqtt.Zigbee2MqttState(), device_type, dict.fromkeys(FIELDS)) == []
