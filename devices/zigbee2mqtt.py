"""Zigbee2MQTT devices, unchanged: their ``zigbee2mqtt/<friendly_name>`` state payloads → v1 streams.

Zigbee2MQTT 2.x keeps each device's state and publishes the whole of it whenever any attribute
arrives (``action`` is published but never kept; with Home Assistant integration a property not yet
reported is ``null``). So the mapping is edge-triggered against the last state seen
(:class:`Zigbee2MqttState`, saved with the stream snapshot so it survives a gateway restart): a door
reported closed again because its battery changed is not a new door event.

What a field means depends on the registry's device type (:mod:`devices.zigbee_models`), never on
the model string: ``occupancy`` is movement on a PIR, presence on a radar, lying down on a bed pad.
Each field is decoded on its own; ``null`` means not reported, and a field that cannot be read is
counted and logged while the other fields of the message still count, so one bad field never drops
an SOS or a battery reading beside it.

Momentary fields (``sos``, a PIR's ``occupancy``, ``vibration``) count when they turn true, and
again when the device repeats the report (the same state, only ``linkquality`` differs), but not
when another attribute (illuminance, battery, voltage, temperature) changes while they stay true.
After Zigbee2MQTT restarts (``bridge/state`` online after offline) it republishes every device's
cached state: each device's first state within :data:`REPUBLISH_WINDOW_MS` raises the alarms (SOS,
fall, smoke, gas, water) the memory did not already hold for that device, none as a repeated press,
and only refreshes the memory otherwise. An alarm is never dropped to avoid a duplicate: alerting
takes one for an open alert as a repeat. ``action`` is never cached, so an action in it is a new press.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from devices.errors import PayloadError, Reject
from devices.events import Stream
from devices.protocol import MAX_JSON_DEPTH, Decoded, as_bool, as_number, json_depth, load_json
from devices.zigbee_models import Role, role_of

log = logging.getLogger("eldercare.zigbee2mqtt")

ALARM_ACTIONS = frozenset({"emergency", "sos", "panic"})
"""Actions that are a call for help on any device."""
RELEASE_ACTIONS = frozenset({"off", "release", "stop"})
"""Actions of a call button that are not a press (an action ending in ``_release`` neither)."""
PRESS_OF_ACTION = {"emergency": "single", "sos": "single", "panic": "single", "long": "hold", "triple": "double"}
VIBRATION_ACTIONS = frozenset({"vibration", "tilt", "drop"})
ENV_FIELDS = ("smoke", "gas", "water_leak")
STATUS_FLAGS = ("battery_low", "tamper")
IGNORED_NAMES = frozenset({"bridge"})
"""Zigbee2MQTT's own topics under its base, never a device's (the registry refuses them as names)."""
VOLATILE = frozenset({"linkquality", "last_seen", "elapsed"})
"""Fields that differ between two reports of the same state."""
REPUBLISH_WINDOW_MS = 120_000
FALL_VALUES = {"fall": False, "fall_alarm": False, "falling": False, "maybe_fall": True, "fall_warning": True}
"""``fall_down_status`` / ``fall_status`` / ``status`` values that are a fall → whether only a warning."""
RADAR_STATUS_PRESENT = {
    "unoccupied": False,
    "occupied": True,
    "sitting": True,
    "on_the_bed": True,
    "low_posture": True,
    "falling": True,
}
"""A fall radar's ``status`` (OWON FDS315) → someone is there."""
PRESSURE_STATE = {"none": False, "sit": True, "sedentary": True}
RADAR_MOVEMENT: dict[str, frozenset[str]] = {
    "presence_event": frozenset(
        {"enter", "leave", "left_enter", "left_leave", "right_enter", "right_leave", "approach", "away"}
    ),
    "movement": frozenset({"movement"}),
    "motion_state": frozenset({"small", "medium", "large", "near", "far"}),
    "human_motion_state": frozenset({"small", "large"}),
}
"""A radar's report of someone moving → its values that mean movement: Aqara FP1 ``presence_event``,
FP1E ``movement``, Tuya radars' ``motion_state``. Movement is activity, as a PIR's motion; ``presence``
alone (someone there, perhaps lying still) is not."""


@dataclass(slots=True)
class Zigbee2MqttState:
    """Last state per device (edge memory) and Zigbee2MQTT's restart republish window."""

    last: dict[str, dict[str, Any]] = field(default_factory=dict)
    bridge_online: bool | None = None
    republish_until_ms: int = 0
    republished: set[str] = field(default_factory=set)
    field_rejects: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> bytes:
        return json.dumps({"last": self.last, "bridge_online": self.bridge_online}, separators=(",", ":")).encode()

    def restore(self, blob: bytes) -> None:
        """Load a saved memory; an unreadable one is logged and the memory starts empty."""
        try:
            # the memory's own two levels above each state; deeper, it could not be saved again at stop
            if json_depth(blob) > MAX_JSON_DEPTH + 2:
                raise ValueError(f"a state is nested deeper than {MAX_JSON_DEPTH} levels")
            saved = json.loads(blob)
            last = saved["last"]
            if not isinstance(last, dict) or not all(isinstance(v, dict) for v in last.values()):
                raise ValueError("last must map device ids to states")
        except (ValueError, KeyError, TypeError) as error:
            log.warning("Zigbee2MQTT edge memory unreadable; starting empty", extra={"error": str(error)[:200]})
            return
        self.last = last
        online = saved.get("bridge_online")
        self.bridge_online = online if isinstance(online, bool) else None


def _online(payload: bytes, what: str) -> bool:
    """``{"state":"online"}`` or the legacy bare ``online`` (likewise ``offline``)."""
    text = payload.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        body = load_json(payload)
        text = str(body.get("state", "")) if isinstance(body, dict) else ""
    if text not in {"online", "offline"}:
        raise PayloadError(Reject.OUT_OF_RANGE, f"{what} {text[:40]!r} is not online/offline")
    return text == "online"


def decode_bridge_state(payload: bytes, state: Zigbee2MqttState, now_ms: int) -> None:
    """``zigbee2mqtt/bridge/state``: online after offline opens the republish window."""
    online = _online(payload, "bridge state")
    if online and state.bridge_online is False:
        state.republish_until_ms = now_ms + REPUBLISH_WINDOW_MS
        state.republished.clear()
        log.info("Zigbee2MQTT restarted: its republished states raise only alarms the memory did not hold")
    state.bridge_online = online


def decode_state(
    device_key: str,
    device_type: str,
    payload: bytes,
    state: Zigbee2MqttState,
    ts_ms: int | None = None,
    now_ms: int = 0,
) -> list[Decoded]:
    """Translate one state payload into zero or more v1 messages (see the module's docstring)."""
    body = load_json(payload)
    if not isinstance(body, dict):
        raise PayloadError(Reject.WRONG_TYPE, "Zigbee2MQTT state payload must be a JSON object")
    previous = state.last.get(device_key, {})
    state.last[device_key] = {k: v for k, v in body.items() if k != "action"}
    reader = _Reader(body, previous, role_of(device_type))
    republish = now_ms < state.republish_until_ms and device_key not in state.republished
    if now_ms < state.republish_until_ms:
        state.republished.add(device_key)
    if republish:
        reader.repeat = False  # the cached state again, not the device repeating a press
    out: list[Decoded] = []
    status: dict[str, Any] = {}
    for decode in _ALARMS if republish else _FIELDS:
        try:
            decode(reader, out, status)
        except PayloadError as error:
            reader.errors.append(error)
    if status:
        out.append(Decoded(Stream.STATUS, ts_ms, status))
    out = [Decoded(d.stream, ts_ms, d.values) for d in out]
    if reader.errors:
        if not out:
            raise reader.errors[0]
        for problem in reader.errors:
            state.field_rejects[problem.reason.value] += 1
        log.warning(
            "Zigbee2MQTT fields rejected, the rest of the message kept",
            extra={"device": device_key[:80], "errors": [e.message[:80] for e in reader.errors[:5]]},
        )
    return out


def decode_availability(payload: bytes) -> Decoded:
    """``zigbee2mqtt/<name>/availability``: ``{"state":"online"}`` or the legacy bare ``online``."""
    return Decoded(Stream.STATUS, None, {"online": _online(payload, "availability")})


class _Reader:
    """One payload against the previous state: typed field access and edges; ``None`` = not reported."""

    def __init__(self, body: Mapping[str, Any], previous: Mapping[str, Any], role: Role) -> None:
        self.body = body
        self.previous = previous
        self.role = role
        self.errors: list[PayloadError] = []
        self.repeat = bool(previous) and all(
            previous.get(k) == body.get(k) for k in (set(previous) | set(body)) - VOLATILE - {"action"}
        )

    def flag(self, name: str, body: Mapping[str, Any] | None = None) -> bool | None:
        value = (self.body if body is None else body).get(name)
        return None if value is None else as_bool(value, name)

    def was(self, name: str) -> bool | None:
        try:
            return self.flag(name, self.previous)
        except PayloadError:
            return None

    def edge(self, name: str) -> bool | None:
        """The flag's new value if it changed (or was never seen), else ``None``."""
        now = self.flag(name)
        return None if now is None or now == self.was(name) else now

    def momentary(self, name: str) -> bool | None:
        """True when the flag turns true or its report repeats; the new value on a change to false."""
        now = self.flag(name)
        if now is None:
            return None
        if now and (self.was(name) is not True or self.repeat):
            return True
        return None if now == self.was(name) else now

    def text(self, name: str, body: Mapping[str, Any] | None = None) -> str | None:
        value = (self.body if body is None else body).get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise PayloadError(Reject.WRONG_TYPE, f"{name} must be a string, got {type(value).__name__}")
        return value.strip().lower()

    def text_edge(self, name: str) -> str | None:
        now = self.text(name)
        try:
            before = self.text(name, self.previous)
        except PayloadError:
            before = None
        return None if now is None or now == before else now


Out = list[Decoded]
FieldDecoder = Callable[[_Reader, Out, dict[str, Any]], None]


def _action(r: _Reader, out: Out, status: dict[str, Any]) -> None:
    action = r.text("action")
    if not action:
        return
    if action in ALARM_ACTIONS or (
        r.role is Role.CALL and action not in RELEASE_ACTIONS and not action.endswith("_release")
    ):
        out.append(Decoded(Stream.ALARM, None, {"kind": "sos", "press": _press(action)}))
    elif r.role is Role.VIBRATION and action in VIBRATION_ACTIONS:
        out.append(Decoded(Stream.VIBRATION, None, {"kind": action}))


def _sos(r: _Reader, out: Out, status: dict[str, Any]) -> None:
    if r.momentary("sos"):
        out.append(Decoded(Stream.ALARM, None, {"kind": "sos"}))


def _falls(r: _Reader, out: Out, status: dict[str, Any]) -> None:
    radar = r.role in (Role.FALL_RADAR, Role.PRESENCE)  # elsewhere ``status`` may mean anything
    for name in ("fall_down_status", "fall_status", "status") if radar else ("fall_down_status", "fall_status"):
        value = r.text_edge(name)
        if value in FALL_VALUES:
            values: dict[str, Any] = {"kind": "fall", "source": "radar"}
            if FALL_VALUES[value]:
                values["warning"] = True
            out.append(Decoded(Stream.ALARM, None, values))


def _occupancy(r: _Reader, out: Out, status: dict[str, Any]) -> None:
    """``occupancy`` / ``presence`` / a pad's ``contact`` and ``pressure``, by the device's role."""
    if r.role in (Role.BED, Role.SEAT):
        stream = Stream.BED if r.role is Role.BED else Stream.SEAT
        for name in ("occupancy", "presence", "contact", "pressure"):
            if isinstance(r.body.get(name), int | float) and not isinstance(r.body.get(name), bool):
                continue  # a numeric pressure (hPa, kg) is not the pad's state
            occupied = r.edge(name)
            if occupied is not None:
                out.append(Decoded(stream, None, {"occupied": occupied}))
        state = r.text_edge("pressure_state")
        if state in PRESSURE_STATE and PRESSURE_STATE[state] != _pressure_state_was(r):
            out.append(Decoded(stream, None, {"occupied": PRESSURE_STATE[state]}))
        return
    if r.role in (Role.PRESENCE, Role.FALL_RADAR):
        # a radar's occupancy (re)published on every attribute update is presence, never movement
        name = "presence" if r.body.get("presence") is not None else "occupancy"
        present = r.edge(name)
        radar_status = r.text_edge("status")
        if present is None and radar_status in RADAR_STATUS_PRESENT:
            before = RADAR_STATUS_PRESENT.get(_text_or_none(r, "status", r.previous) or "")
            if RADAR_STATUS_PRESENT[radar_status] != before:  # sitting → on the bed: still there
                present = RADAR_STATUS_PRESENT[radar_status]
        if present is not None:
            out.append(Decoded(Stream.PRESENCE, None, {"present": present}))
        return
    moving = r.momentary("occupancy")
    if moving is not None:
        out.append(Decoded(Stream.MOTION, None, {"occupancy": moving}))
    presence = r.edge("presence")
    if presence is not None:
        out.append(Decoded(Stream.PRESENCE, None, {"present": presence}))


def _radar_movement(r: _Reader, out: Out, status: dict[str, Any]) -> None:
    """A radar's movement report (:data:`RADAR_MOVEMENT`) as motion, when its value changes to one that
    means movement. Not when it repeats: Zigbee2MQTT republishes the cached value with every presence
    report, and a radar re-reporting presence over someone lying still must never look like activity."""
    if r.role not in (Role.PRESENCE, Role.FALL_RADAR):
        return
    moved = False
    for name, moving in RADAR_MOVEMENT.items():
        try:
            value = r.text_edge(name)
        except PayloadError as error:
            r.errors.append(error)
            continue
        moved = moved or value in moving
    if moved:
        out.append(Decoded(Stream.MOTION, None, {"occupancy": True}))


def _pressure_state_was(r: _Reader) -> bool | None:
    return PRESSURE_STATE.get(_text_or_none(r, "pressure_state", r.previous) or "")


def _text_or_none(r: _Reader, name: str, body: Mapping[str, Any]) -> str | None:
    try:
        return r.text(name, body)
    except PayloadError:
        return None


def _contact(r: _Reader, out: Out, status: dict[str, Any]) -> None:
    if r.role in (Role.BED, Role.SEAT):
        return  # a pad's contact is its occupancy
    closed = r.edge("contact")
    if closed is not None:
        out.append(Decoded(Stream.CONTACT, None, {"open": not closed}))


def _env(r: _Reader, out: Out, status: dict[str, Any]) -> None:
    try:
        testing = bool(r.flag("test"))
    except PayloadError as error:
        r.errors.append(error)
        testing = False
    was_testing = bool(r.was("test"))
    env: dict[str, bool] = {}
    for name in ENV_FIELDS:
        try:
            now = r.flag(name)
        except PayloadError as error:
            r.errors.append(error)
            continue
        if now is None:
            continue
        now = now and not testing  # a test press is not smoke
        before = bool(r.was(name)) and not was_testing
        if now != before:  # an alarm, or its clearing (a first "all clear" says nothing new)
            env[name] = now
    if env:
        out.append(Decoded(Stream.ENV, None, env))
    if testing != was_testing:
        status["smoke_test"] = testing


def _vibration(r: _Reader, out: Out, status: dict[str, Any]) -> None:
    if r.text("action") in VIBRATION_ACTIONS:
        return  # the action already said what it was
    if r.momentary("vibration"):
        out.append(Decoded(Stream.VIBRATION, None, {"kind": "vibration"}))


def _battery(r: _Reader, out: Out, status: dict[str, Any]) -> None:
    value = r.body.get("battery")
    if value is None or value == r.previous.get("battery"):
        return
    battery = as_number(value, "battery")
    if not 0 <= battery <= 100:
        raise PayloadError(Reject.OUT_OF_RANGE, f"battery {battery} outside 0..100 %")
    status["battery"] = battery


def _status_flags(r: _Reader, out: Out, status: dict[str, Any]) -> None:
    for name in STATUS_FLAGS:
        try:
            value = r.edge(name)
        except PayloadError as error:
            r.errors.append(error)
            continue
        if value is not None and (value or r.was(name)):
            status[name] = value


_FIELDS: tuple[FieldDecoder, ...] = (
    _action,
    _sos,
    _falls,
    _occupancy,
    _radar_movement,
    _contact,
    _env,
    _vibration,
    _battery,
    _status_flags,
)


_ALARMS: tuple[FieldDecoder, ...] = (_action, _sos, _falls, _env)
"""What a republished state is read for: presses, and alarm states the memory did not hold."""


def _press(action: str) -> str:
    return PRESS_OF_ACTION.get(action, action if action in {"single", "double", "hold"} else "single")
