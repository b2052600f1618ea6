"""Simulated device kinds as data, and what each one publishes (protocol v1 and Zigbee2MQTT).

A kind is a row of :data:`KINDS`: its registry type, power, heartbeat period and battery drain;
payloads are built by plain functions. Zigbee2MQTT devices publish their whole state JSON on
``zigbee2mqtt/<friendly_name>`` with the fields Zigbee2MQTT's exposes use (``contact`` true when
closed, ``occupancy``, ``smoke``, ``water_leak``, ``gas``, ``battery``, ``linkquality``, a momentary
``action`` reset to ``""``) and ``{"state":"online"}`` on ``zigbee2mqtt/<name>/availability``.
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
}

WEARABLES = frozenset({"pendant", "wristband"})


def dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def z2m_state(kind: str, state: dict[str, Any], battery: float, linkquality: int) -> dict[str, Any]:
    """The full Zigbee2MQTT state of a device of ``kind`` with its current sensor ``state``."""
    body: dict[str, Any] = {"battery": round(battery), "linkquality": linkquality}
    if kind == "pir":
        body.update(occupancy=bool(state.get("occupancy", False)), illuminance=state.get("illuminance", 30))
    elif kind in {"door", "contact"}:
        body["contact"] = not bool(state.get("open", False))  # Zigbee2MQTT: true = closed
    elif kind == "smoke":
        body.update(smoke=bool(state.get("smoke", False)), battery_low=battery < 20)
    elif kind == "gas":
        body.pop("battery")
        body["gas"] = bool(state.get("gas", False))
    elif kind == "water":
        body.update(water_leak=bool(state.get("water_leak", False)), battery_low=battery < 20)
    elif kind == "sos_button":
        body["action"] = state.get("action", "")
    body["voltage"] = round(2700 + 5.0 * battery)
    return body
