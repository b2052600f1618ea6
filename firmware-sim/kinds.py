"""Simulated device kinds as data, and what each one publishes (protocol v1 and Zigbee2MQTT).

A kind is a row of :data:`KINDS`: its registry type, power, heartbeat period and battery drain;
payloads are built by plain functions. Zigbee2MQTT devices publish their whole state JSON on
``zigbee2mqtt/<friendly_name>`` the way Zigbee2MQTT 2.x does for their model: every property the
model's converters report (:data:`Z2M_PROPERTIES`, the shapes of ``tests/devices/zigbee/fixtures.json``,
which Zigbee2MQTT's converter library produced), ``null`` for one not reported yet (Home Assistant
integration on), ``contact`` true when closed, and ``action`` only in the message of the press (it is
never cached); ``{"state":"online"}`` on ``zigbee2mqtt/<name>/availability``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Kind:
    """``registry_type``: the device type the platform knows; ``heartbeat_s``: period of the ``status``
    heartbeat (simulated s); ``drain_pct_day``: battery drain per simulated day (0: mains);
    ``z2m_model``: the model a Zigbee2MQTT variant reports."""

    registry_type: str
    heartbeat_s: float
    drain_pct_day: float
    z2m_model: str = ""


KINDS: dict[str, Kind] = {
    "hub": Kind("hub", 60.0, 0.0),
    "sos_button": Kind("sos_button", 3600.0, 0.15, "TS0215A_sos"),
    "pendant": Kind("pendant", 1800.0, 12.0),
    "wristband": Kind("wristband", 1800.0, 15.0),
    "pir": Kind("pir", 3600.0, 0.1, "RTCGQ11LM"),
    "door": Kind("door", 3600.0, 0.08, "MCCGQ11LM"),
    "contact": Kind("contact", 3600.0, 0.08, "MCCGQ11LM"),
    "bed": Kind("bed", 3600.0, 0.1),
    "seat": Kind("seat", 3600.0, 0.1),
    "smoke": Kind("smoke", 3600.0, 0.03, "JTYJ-GD-01LM/BW"),
    "gas": Kind("gas", 120.0, 0.0, "JTQJ-BF-01LM/BW"),
    "water": Kind("water", 3600.0, 0.03, "SJCGQ11LM"),
    "vitals": Kind("vitals", 120.0, 0.0),
    "radar": Kind("fall_radar", 3600.0, 0.0, "MIR-HE200-TY"),
}

Z2M_PROPERTIES: dict[str, tuple[str, ...]] = {
    "TS0215A_sos": ("battery", "voltage", "linkquality"),
    "RTCGQ11LM": (
        "occupancy", "illuminance", "linkquality", "battery", "device_temperature", "voltage", "power_outage_count",
    ),
    "MCCGQ11LM": (
        "contact", "voltage", "battery", "linkquality", "device_temperature", "power_outage_count", "trigger_count",
    ),
    "JTYJ-GD-01LM/BW": (
        "smoke", "tamper", "battery_low", "supervision_reports", "restore_reports", "trouble", "ac_status", "test",
        "battery_defect", "linkquality", "battery", "sensitivity", "smoke_density", "voltage", "device_temperature",
        "power_outage_count",
    ),
    "JTQJ-BF-01LM/BW": ("gas", "tamper", "battery_low", "linkquality", "sensitivity", "gas_density"),
    "SJCGQ11LM": (
        "water_leak", "battery_low", "linkquality", "battery", "voltage", "device_temperature", "power_outage_count",
        "trigger_count",
    ),
    "MIR-HE200-TY": (
        "presence", "occupancy", "fall_down_status", "illuminance", "linkquality", "motion_speed", "motion_direction",
        "radar_sensitivity", "radar_scene", "tumble_switch", "fall_sensitivity", "tumble_alarm_time",
        "static_dwell_alarm",
    ),
}  # fmt: skip
"""The properties in each simulated model's Zigbee2MQTT state (from the converter-library fixtures)."""

WEARABLES = frozenset({"pendant", "wristband"})


def dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def z2m_state(kind: str, state: dict[str, Any], battery: float, linkquality: int) -> dict[str, Any]:
    """The full Zigbee2MQTT 2.x state of a device of ``kind`` with its current sensor ``state``."""
    model = KINDS[kind].z2m_model
    body: dict[str, Any] = dict.fromkeys(Z2M_PROPERTIES.get(model, ()))
    body["linkquality"] = linkquality
    if KINDS[kind].drain_pct_day > 0:
        body.update(battery=round(battery), voltage=round(2700 + 5.0 * battery))
    if kind == "pir":
        body.update(occupancy=bool(state.get("occupancy", False)), illuminance=state.get("illuminance", 30))
    elif kind in {"door", "contact"}:
        body["contact"] = not bool(state.get("open", False))  # Zigbee2MQTT: true = closed
    elif kind == "smoke":
        body.update(smoke=bool(state.get("smoke", False)), battery_low=battery < 20, test=False, tamper=False)
    elif kind == "gas":
        body.update(gas=bool(state.get("gas", False)), battery_low=False, tamper=False)
    elif kind == "water":
        body.update(water_leak=bool(state.get("water_leak", False)), battery_low=battery < 20)
    elif kind == "radar":
        present = bool(state.get("presence", False))
        body.update(
            presence=present,
            occupancy=present,  # this radar republishes it with every attribute update
            fall_down_status=state.get("fall_down_status", "none"),
            illuminance=state.get("illuminance", 80),
            motion_speed=state.get("motion_speed", 0),
        )
    if state.get("action"):  # momentary: in the message of the press only
        body["action"] = state["action"]
    return body
