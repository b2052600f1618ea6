"""Zigbee2MQTT devices, unchanged: their ``zigbee2mqtt/<friendly_name>`` state payloads → v1 streams.

Zigbee2MQTT publishes a device's whole state each time any attribute changes, so the mapping is
edge-triggered against the last payload seen (:class:`Zigbee2MqttState`): a door reported closed
again because its battery changed is not a new door event. Field meanings follow Zigbee2MQTT's
exposes: ``contact`` is **true when closed**; ``action`` is momentary and resets to ``""``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from devices.errors import PayloadError, Reject
from devices.events import Stream
from devices.protocol import Decoded, as_bool, as_number, load_json

SOS_ACTIONS: dict[str, frozenset[str]] = {
    "TS0215A_sos": frozenset({"emergency"}),
    "HS1EB": frozenset({"single", "double", "hold"}),
    "HS1EB-E": frozenset({"single", "double", "hold"}),
}
"""Models whose ``action`` values are a call for help (IAS devices report ``sos: true`` instead)."""

ENV_FIELDS = ("smoke", "gas", "water_leak")
IGNORED_NAMES = frozenset({"bridge"})
_BOOKKEEPING = frozenset({"linkquality", "last_seen", "battery", "voltage", "battery_low", "update"})


@dataclass(slots=True)
class Zigbee2MqttState:
    """Last payload per device, for edge detection."""

    last: dict[str, dict[str, Any]] = field(default_factory=dict)


def decode_state(
    device_key: str, model: str, payload: bytes, state: Zigbee2MqttState, ts_ms: int | None = None
) -> list[Decoded]:
    """Translate one state payload into zero or more v1 messages."""
    body = load_json(payload)
    if not isinstance(body, dict):
        raise PayloadError(Reject.WRONG_TYPE, "Zigbee2MQTT state payload must be a JSON object")
    previous = state.last.get(device_key, {})
    state.last[device_key] = body
    out: list[Decoded] = []

    action = body.get("action")
    if isinstance(action, str) and action and action in SOS_ACTIONS.get(model, frozenset()):
        out.append(Decoded(Stream.ALARM, ts_ms, {"kind": "sos", "press": _press(action)}))
    if "sos" in body and as_bool(body["sos"], "sos") and not _was_true(previous, "sos"):
        out.append(Decoded(Stream.ALARM, ts_ms, {"kind": "sos"}))

    republished = _only_bookkeeping_changed(previous, body)
    if "occupancy" in body and not republished:
        occupied = as_bool(body["occupancy"], "occupancy")
        if occupied or _changed(previous, body, "occupancy"):
            out.append(Decoded(Stream.MOTION, ts_ms, {"occupancy": occupied}))
    if "contact" in body and _changed(previous, body, "contact"):
        out.append(Decoded(Stream.CONTACT, ts_ms, {"open": not as_bool(body["contact"], "contact")}))
    env = {name: as_bool(body[name], name) for name in ENV_FIELDS if name in body and _changed(previous, body, name)}
    if env:
        out.append(Decoded(Stream.ENV, ts_ms, env))
    if "battery" in body and body["battery"] is not None and _changed(previous, body, "battery"):
        battery = as_number(body["battery"], "battery")
        if 0 <= battery <= 100:
            out.append(Decoded(Stream.STATUS, ts_ms, {"battery": battery}))
    return out


def decode_availability(payload: bytes) -> Decoded:
    """``zigbee2mqtt/<name>/availability``: ``{"state":"online"}`` or the legacy bare ``online``."""
    text = payload.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        body = load_json(payload)
        text = str(body.get("state", "")) if isinstance(body, dict) else ""
    if text not in {"online", "offline"}:
        raise PayloadError(Reject.OUT_OF_RANGE, f"availability {text[:40]!r} is not online/offline")
    return Decoded(Stream.STATUS, None, {"online": text == "online"})


def _press(action: str) -> str:
    return {"emergency": "single"}.get(action, action)


def _was_true(previous: Mapping[str, Any], name: str) -> bool:
    try:
        return name in previous and as_bool(previous[name], name)
    except PayloadError:
        return False


def _changed(previous: Mapping[str, Any], body: Mapping[str, Any], name: str) -> bool:
    return name not in previous or previous[name] != body[name]


def _only_bookkeeping_changed(previous: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    """True for a republish caused by battery/linkquality alone (not a new sensor report)."""
    if not previous or previous == body:
        return False
    keys = set(previous) | set(body)
    changed = {k for k in keys if previous.get(k) != body.get(k)}
    return bool(changed) and changed <= _BOOKKEEPING
