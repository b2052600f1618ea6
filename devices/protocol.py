"""Device protocol v1: ``eldercare/v1/<device_id>/<stream>`` with JSON payloads (``ts`` epoch ms).

Each stream's payload is decoded leniently (unknown keys tolerated, numeric strings accepted) into
the normalised ``values`` of :class:`devices.events.Event`. Anything that cannot be read raises
:class:`devices.errors.PayloadError` with a reason code.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from devices import imu
from devices.errors import PayloadError, Reject
from devices.events import ImuBlock, Stream

TOPIC_PREFIX = "eldercare/v1"
"""Where protocol v1 lives on the broker: ``<prefix>/<device_id>/<stream>``; the one default (sites,
tests and benches may put a namespace in front, e.g. ``site-a/eldercare/v1``)."""
HOME_UTC_OFFSET_MIN = 480
"""The homes' local time in minutes east of UTC (UTC+8, the hotline's city) unless the site's settings
say otherwise. Devices stamp ``ts`` in UTC; routines, duty rotas, quiet hours and reports use local time."""

ALARM_KINDS = frozenset({"sos", "fall"})
PRESS_KINDS = frozenset({"single", "double", "hold", "long"})
ENV_FIELDS = ("smoke", "gas", "water_leak")
VITAL_RANGES: dict[str, tuple[float, float]] = {
    "hr": (0.0, 300.0),  # bpm
    "spo2": (0.0, 100.0),  # %
    "sbp": (0.0, 300.0),  # mmHg
    "dbp": (0.0, 250.0),  # mmHg
    "temp": (25.0, 45.0),  # °C
    "rr": (0.0, 80.0),  # breaths/min
}
MAX_EPOCH_MS = 10**15
"""Device timestamps (epoch ms) above this (year ~33658) are out of range, not a clock."""
MAX_SEQ = 2**63 - 1
MAX_JSON_DEPTH = 32
"""Arrays and objects nested deeper than this are no device's payload (v1's deepest, imu's ``acc``, is
3; Zigbee2MQTT's a few): malformed, so whatever is kept of a payload (Zigbee2MQTT's edge memory) can
always be encoded again, however deep the stack it is saved from."""
MAX_DEVICE_ID = 64
DEVICE_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:")


@dataclass(frozen=True, slots=True)
class Decoded:
    """A payload decoded but not yet resolved to a resident."""

    stream: Stream
    ts_ms: int | None
    values: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None
    imu: ImuBlock | None = None


@functools.lru_cache(maxsize=1 << 18)
def parse_topic(topic: str, prefix: str = TOPIC_PREFIX) -> tuple[str, Stream]:
    """``eldercare/v1/<device_id>/<stream>`` → ``(device_id, stream)``.

    Remembered for the last 262,144 topics (a device publishes on the same few all its life; a
    topic that fails raises every time, and a flood of made-up topics only evicts)."""
    head = prefix.rstrip("/") + "/"
    if not topic.startswith(head):
        raise PayloadError(Reject.BAD_TOPIC, f"topic {topic[:120]!r} is not under {head}")
    parts = topic[len(head) :].split("/")
    if len(parts) != 2:
        raise PayloadError(Reject.BAD_TOPIC, f"topic {topic[:120]!r} is not {head}<device_id>/<stream>")
    device_id, stream_name = parts
    if not device_id or len(device_id) > MAX_DEVICE_ID or not set(device_id) <= DEVICE_ID_CHARS:
        raise PayloadError(Reject.BAD_TOPIC, f"device id {device_id[:80]!r} is not [A-Za-z0-9-_:]{{1,64}}")
    try:
        stream = Stream(stream_name)
    except ValueError:
        raise PayloadError(Reject.UNKNOWN_STREAM, f"stream {stream_name[:40]!r} is not one of v1's") from None
    return device_id, stream


def _int_or_infinity(text: str) -> int | float:
    """An integer, or an infinity for one of more digits than ``int()`` reads from text (4300 by default):
    each field then rejects it on its own, and the rest of the message still counts."""
    try:
        return int(text)
    except ValueError:
        return float("-inf") if text.startswith("-") else float("inf")


_decode_json = json.JSONDecoder().decode
_decode_json_with_huge_ints = json.JSONDecoder(parse_int=_int_or_infinity).decode
_TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


def load_json(payload: bytes) -> Any:
    """JSON text in UTF-8 (RFC 8259 §8.1; a leading byte order mark is allowed), decoded without
    ``json.loads``' detection of UTF-16 and UTF-32, which no device sends; at most
    :data:`MAX_JSON_DEPTH` deep."""
    # fewer brackets than the limit cannot nest deeper: most payloads need no count
    if payload.count(b"[") + payload.count(b"{") > MAX_JSON_DEPTH and json_depth(payload) > MAX_JSON_DEPTH:
        raise PayloadError(Reject.MALFORMED, _TOO_DEEP)
    try:
        text = payload.decode()
        return _decode(text[1:] if text.startswith("\ufeff") else text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PayloadError(Reject.MALFORMED, f"not JSON: {error}") from None
    except RecursionError:
        raise PayloadError(Reject.MALFORMED, _TOO_DEEP) from None


def json_depth(text: bytes) -> int:
    """How deep arrays and objects nest in JSON ``text``, read off its brackets outside strings (exact
    for valid JSON): without decoding or recursion, so any depth is answered."""
    steps = _JSON_STRING.sub(b"", text).translate(_BRACKET_STEPS, _NOT_BRACKETS)
    return max(itertools.accumulate(memoryview(steps).cast("b")), default=0)


def _decode(text: str) -> Any:
    try:
        return _decode_json(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer too long for int(): rare, so only then the slower decoder
        return _decode_json_with_huge_ints(text)


def decode(stream: Stream, payload: bytes) -> Decoded:
    """Decode one v1 payload (size limits are the gateway's job, before this)."""
    if stream is Stream.IMU and imu.is_binary(payload):
        block = imu.decode_binary(payload)
        return Decoded(stream, _first_ts(block), {}, None, block)
    body = load_json(payload)
    if stream is Stream.STATUS and isinstance(body, bool):  # a bare true/false last will
        return Decoded(stream, None, {"online": body})
    if not isinstance(body, dict):
        raise PayloadError(Reject.WRONG_TYPE, f"{stream.value} payload must be a JSON object")
    if stream is Stream.IMU:
        block = imu.decode_json(body)
        return Decoded(stream, _first_ts(block), {}, _optional_int(body, "seq"), block)
    ts = _optional_int(body, "ts", 0, MAX_EPOCH_MS)
    seq = _optional_int(body, "seq")
    values = _VALUE_DECODERS[stream](body)
    return Decoded(stream, ts, values, seq)


def _alarm(body: dict[str, Any]) -> dict[str, Any]:
    kind = body.get("kind", "sos")
    if not isinstance(kind, str) or kind.lower() not in ALARM_KINDS:
        raise PayloadError(Reject.OUT_OF_RANGE, f"alarm kind {str(kind)[:40]!r} is not sos or fall")
    values: dict[str, Any] = {"kind": kind.lower()}
    press = body.get("press")
    if isinstance(press, str) and press.lower() in PRESS_KINDS:
        values["press"] = press.lower()
    return values


def _flag(name: str):
    def decode_flag(body: dict[str, Any]) -> dict[str, Any]:
        if name not in body:
            raise PayloadError(Reject.MISSING_FIELD, f"payload needs {name!r} (true/false)")
        return {name: as_bool(body[name], name)}

    return decode_flag


VIBRATION_KINDS = frozenset({"vibration", "tilt", "drop"})


def _vibration(body: dict[str, Any]) -> dict[str, Any]:
    kind = body.get("kind", "vibration")
    if not isinstance(kind, str) or kind.lower() not in VIBRATION_KINDS:
        raise PayloadError(Reject.OUT_OF_RANGE, f"vibration kind {str(kind)[:40]!r} is not vibration/tilt/drop")
    return {"kind": kind.lower()}


def _env(body: dict[str, Any]) -> dict[str, Any]:
    values = {name: as_bool(body[name], name) for name in ENV_FIELDS if name in body}
    if not values:
        raise PayloadError(Reject.MISSING_FIELD, "env payload needs smoke, gas or water_leak")
    return values


def _vitals(body: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, (low, high) in VITAL_RANGES.items():
        if name not in body or body[name] is None:
            continue
        value = as_number(body[name], name)
        if not (low <= value <= high):
            raise PayloadError(Reject.OUT_OF_RANGE, f"vitals {name}={value} outside {low}..{high}")
        values[name] = value
    if not values:
        raise PayloadError(Reject.MISSING_FIELD, f"vitals payload needs one of {', '.join(VITAL_RANGES)}")
    return values


def _status(body: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "online" in body:
        values["online"] = as_bool(body["online"], "online")
    if "battery" in body and body["battery"] is not None:
        battery = as_number(body["battery"], "battery")
        if not (0 <= battery <= 100):
            raise PayloadError(Reject.OUT_OF_RANGE, f"battery {battery} outside 0..100 %")
        values["battery"] = battery
    if not values:
        raise PayloadError(Reject.MISSING_FIELD, "status payload needs online or battery")
    return values


_VALUE_DECODERS = {
    Stream.ALARM: _alarm,
    Stream.MOTION: _flag("occupancy"),
    Stream.CONTACT: _flag("open"),
    Stream.BED: _flag("occupied"),
    Stream.SEAT: _flag("occupied"),
    Stream.PRESENCE: _flag("present"),
    Stream.VIBRATION: _vibration,
    Stream.ENV: _env,
    Stream.VITALS: _vitals,
    Stream.STATUS: _status,
}


def as_bool(value: object, name: str) -> bool:
    """Booleans as devices send them: true/false, 1/0, "true"/"ON"/"open"…"""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "on", "1", "yes", "open", "occupied"}:
            return True
        if lowered in {"false", "off", "0", "no", "closed", "clear", "vacant"}:
            return False
    raise PayloadError(Reject.WRONG_TYPE, f"{name} must be true or false, got {str(value)[:40]!r}")


def as_number(value: object, name: str) -> float:
    if isinstance(value, bool):
        raise PayloadError(Reject.WRONG_TYPE, f"{name} must be a number, got a boolean")
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float (10**400)
            raise PayloadError(Reject.OUT_OF_RANGE, f"{name} is too large") from None
    elif isinstance(value, str):
        try:
            number = float(value.strip().rstrip("%"))
        except ValueError:
            raise PayloadError(Reject.WRONG_TYPE, f"{name} must be a number, got {value[:40]!r}") from None
    else:
        raise PayloadError(Reject.WRONG_TYPE, f"{name} must be a number, got {type(value).__name__}")
    if number != number or number in (float("inf"), float("-inf")):
        raise PayloadError(Reject.OUT_OF_RANGE, f"{name} must be finite")
    return number


def _optional_int(body: dict[str, Any], name: str, low: int = 0, high: int = MAX_SEQ) -> int | None:
    """An integer field in ``low..high``, or None if absent. A JSON integer (or a string of one) is kept
    exactly: through a float, sequence numbers above 2**53 would round into each other. Other numbers
    are accepted when finite and whole."""
    value = body.get(name)
    if value is None:
        return None
    number = _exact_int(value)
    if number is None:
        real = as_number(value, name)
        if not real.is_integer():
            raise PayloadError(Reject.WRONG_TYPE, f"{name} must be an integer")
        number = int(real)
    if not (low <= number <= high):
        raise PayloadError(Reject.OUT_OF_RANGE, f"{name} {str(number)[:40]} outside {low}..{high}")
    return number


def _exact_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # not an integer, or too long for int()
            return int(value)
    return None


def _first_ts(block: ImuBlock) -> int | None:
    return int(block.t_ms[0]) if len(block) else None
