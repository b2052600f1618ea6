"""Property tests: non-finite floats and huge integers in every numeric field of every stream.

Each field is set to a raw JSON number token that Python's parser turns into ``inf``, ``nan``, an
integer beyond any float or int64, or an ordinary value. Whatever the mix, the gateway's decoding
must end in a clean :class:`PayloadError` (with a reason) or in events whose numbers are finite and
whose times are in range; never in any other exception (issue 12, finding 1).
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import imu
from devices.errors import PayloadError
from devices.events import Event
from gateway import Gateway, GatewayConfig
from registry.store import DeviceRecord
from tests.gateway.test_gateway import Directory

NOW_MS = 1_800_000_000_000
SPECIAL = (
    "1e400", "-1e400", "Infinity", "-Infinity", "NaN", "1" + "0" * 400, "-1" + "0" * 400,
    "9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e308", "-1e308", "1e-400",
    "-0.0", "0", "1", "50", "true", '"1e400"', '"NaN"', '"Infinity"',
)  # fmt: skip
TOKENS = st.one_of(
    st.sampled_from(SPECIAL),
    st.integers(min_value=2**53, max_value=10**500).map(str),
    st.integers(min_value=-(10**500), max_value=-(2**53)).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(min_value=-10, max_value=NOW_MS).map(str),
)
ACC = [[0, 0, 1], [0, 0, 1], [0, 0, 1]]
STREAMS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "alarm": ({"kind": "sos"}, ("ts", "seq")),
    "motion": ({"occupancy": True}, ("ts", "seq", "occupancy")),
    "contact": ({"open": True}, ("ts", "seq", "open")),
    "bed": ({"occupied": True}, ("ts", "seq", "occupied")),
    "seat": ({"occupied": False}, ("ts", "seq", "occupied")),
    "env": ({"smoke": False}, ("ts", "seq", "smoke", "gas", "water_leak")),
    "vitals": ({"hr": 70}, ("ts", "seq", "hr", "spo2", "sbp", "dbp", "temp", "rr")),
    "status": ({"online": True}, ("ts", "seq", "battery", "online")),
    "imu": (
        {"t0": NOW_MS, "hz": 50, "acc": ACC},
        ("t0", "ts", "hz", "seq", "acc.0.0", "acc.1.2", "acc.2.1", "dt.0", "dt.1", "dt.2"),
    ),
}
ZIGBEE_FIELDS = ("battery", "occupancy", "contact", "sos", "smoke", "gas", "water_leak", "linkquality", "voltage")


def gateway() -> Gateway:
    return Gateway(
        Directory(
            DeviceRecord("dev-1", "res-1", "sensor"),
            DeviceRecord("z-1", "res-1", "sos_button", model="TS0215A_sos", z2m_name="sos_button"),
        ),
        GatewayConfig(),
        clock=lambda: NOW_MS / 1000,
    )


def render(base: dict[str, Any], tokens: dict[str, str]) -> bytes:
    """``base`` as JSON with each dotted path in ``tokens`` replaced by that raw JSON token."""
    body = json.loads(json.dumps(base))
    if any(path.startswith("dt.") for path in tokens):
        body["dt"] = [0, 20, 40]
    for index, path in enumerate(tokens):
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        key = int(last) if isinstance(target, list) else last
        target[key] = f"@@{index}@@"
    text = json.dumps(body)
    for index, token in enumerate(tokens.values()):
        text = text.replace(f'"@@{index}@@"', token)
    return text.encode()


def assert_clean(gw: Gateway, topic: str, payload: bytes) -> None:
    try:
        events = gw.translate(topic, payload, NOW_MS)
    except PayloadError:
        return
    for event in events:
        assert_sane(event)


def assert_sane(event: Event) -> None:
    assert isinstance(event.ts_ms, int) and 0 <= event.ts_ms < 2**63
    assert event.seq is None or 0 <= event.seq < 2**63
    for value in event.values.values():
        assert not isinstance(value, float) or math.isfinite(value), event.values
    if event.imu is not None:
        assert np.all(np.isfinite(event.imu.t_ms)) and np.all(np.isfinite(event.imu.acc))
        assert np.all(np.abs(event.imu.acc) <= 64)


@pytest.mark.parametrize("stream", list(STREAMS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_numeric_field_of_every_stream(stream: str, data: st.DataObject) -> None:
    base, fields = STREAMS[stream]
    tokens = data.draw(st.dictionaries(st.sampled_from(fields), TOKENS, min_size=1, max_size=len(fields)))
    assert_clean(gateway(), f"eldercare/v1/dev-1/{stream}", render(base, tokens))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(ZIGBEE_FIELDS), TOKENS, min_size=1), st.sampled_from(["", "emergency"]))
def test_every_numeric_field_of_a_zigbee2mqtt_state(tokens: dict[str, str], action: str) -> None:
    gw = gateway()
    assert_clean(gw, "zigbee2mqtt/sos_button", render({"action": "", "battery": 90}, {}))
    assert_clean(gw, "zigbee2mqtt/sos_button", render({"action": action}, tokens))


@settings(max_examples=300, deadline=None)
@given(
    t0=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    hz=st.floats(width=32),
    scale=st.floats(width=32),
    offsets=st.none() | st.lists(st.integers(min_value=0, max_value=2**32 - 1), min_size=1, max_size=4),
)
def test_every_field_of_the_binary_imu_form(t0: int, hz: float, scale: float, offsets: list[int] | None) -> None:
    n = len(offsets) if offsets is not None else 3
    flags = imu.FLAG_OFFSETS if offsets is not None else 0
    payload = struct.pack("<2sBBqffH", imu.MAGIC, imu.VERSION, flags, t0, hz, scale, n)
    if offsets is not None:
        payload += struct.pack(f"<{n}I", *sorted(offsets))
    payload += struct.pack(f"<{3 * n}h", *([0, 0, 256] * n))
    assert_clean(gateway(), "eldercare/v1/dev-1/imu", payload)


@pytest.mark.parametrize(
    ("stream", "body", "reason"),
    [
        ("imu", b'{"t0": 1e400, "hz": 50, "acc": [[0,0,1]]}', "out_of_range"),
        ("imu", b'{"t0": Infinity, "hz": 50, "acc": [[0,0,1]]}', "out_of_range"),
        ("imu", b'{"t0": NaN, "hz": 50, "acc": [[0,0,1]]}', "out_of_range"),
        ("imu", b'{"t0": 1, "hz": 1' + b"0" * 400 + b', "acc": [[0,0,1]]}', "out_of_range"),
        ("imu", b'{"t0": 1, "hz": 50, "acc": [[0,0,1' + b"0" * 400 + b"]]}", "out_of_range"),
        ("imu", b'{"t0": 1, "dt": [0, 1e400], "acc": [[0,0,1],[0,0,1]]}', "out_of_range"),
        ("alarm", b'{"kind": "sos", "ts": 1e400}', "out_of_range"),
        ("alarm", b'{"kind": "sos", "seq": 1' + b"0" * 400 + b"}", "out_of_range"),
        ("vitals", b'{"hr": 1' + b"0" * 400 + b"}", "out_of_range"),
        ("vitals", b'{"hr": NaN}', "out_of_range"),
        ("status", b'{"battery": -Infinity}', "out_of_range"),
        ("status", b'{"battery": 1' + b"0" * 400 + b"}", "out_of_range"),
        ("alarm", b'{"kind": "sos", "ts": 1.5}', "wrong_type"),
    ],
)
def test_the_reported_payloads_are_rejected_with_their_reason(stream: str, body: bytes, reason: str) -> None:
    gw = gateway()
    assert gw.accept(f"eldercare/v1/dev-1/{stream}", body) == []
    assert dict(gw.rejected) == {reason: 1}


def test_binary_samples_beyond_the_json_range_are_rejected_too() -> None:
    """Found by the property test: a coarse ``scale`` let int16 counts reach hundreds of g."""
    gw = gateway()
    payload = imu.encode_binary(NOW_MS, 50.0, np.array([[0.0, 0.0, 100.0]]), scale=0.5)
    assert gw.accept("eldercare/v1/dev-1/imu", payload) == []
    assert dict(gw.rejected) == {"out_of_range": 1}
    assert (
        len(gw.accept("eldercare/v1/dev-1/imu", imu.encode_binary(NOW_MS, 50.0, np.array([[0.0, 0.0, 60.0]]), 0.5)))
        == 1
    )


@pytest.mark.parametrize(
    ("token", "seq"),
    [
        ("9223372036854775807", 2**63 - 1),  # the largest seq the protocol allows
        ("1152921504606984193", 1152921504606984193),  # from the fuzzing log: a float made it …4192
        ("9007199254740993", 2**53 + 1),
        ('"1152921504606984193"', 1152921504606984193),  # a numeric string is kept exactly too
        ("0", 0),
        ("17.0", 17),  # a float with no fraction is an integer
    ],
)
def test_an_integer_seq_is_kept_exactly_up_to_the_int64_maximum(token: str, seq: int) -> None:
    """Fuzzing: seq went through a float, so two presses 1 apart above 2**53 were one press and the
    second was rejected as a duplicate, and 2**63 − 1 (the documented maximum) was out of range."""
    [event] = gateway().translate("eldercare/v1/dev-1/alarm", b'{"kind": "sos", "seq": %s}' % token.encode(), NOW_MS)
    assert event.seq == seq and type(event.seq) is int


@pytest.mark.parametrize(
    ("field", "token", "reason"),
    [
        ("seq", "9223372036854775808", "out_of_range"),
        ("seq", "-1", "out_of_range"),
        ("seq", "1e19", "out_of_range"),
        ("seq", "NaN", "out_of_range"),
        ("seq", "-Infinity", "out_of_range"),
        ("seq", "1e400", "out_of_range"),
        ("seq", "1" + "0" * 5000, "out_of_range"),  # beyond what int() parses from text (4300 digits)
        ("seq", "2.5", "wrong_type"),
        ("seq", "true", "wrong_type"),
        ("seq", '"x"', "wrong_type"),
        ("ts", str(10**15 + 1), "out_of_range"),
        ("ts", "1800000000000.5", "wrong_type"),
    ],
)
def test_an_integer_field_out_of_range_or_not_an_integer_is_rejected_with_its_reason(
    field: str, token: str, reason: str
) -> None:
    gw = gateway()
    assert gw.accept("eldercare/v1/dev-1/alarm", b'{"kind": "sos", "%s": %s}' % (field.encode(), token.encode())) == []
    assert dict(gw.rejected) == {reason: 1}
    assert [e.ts_ms for e in gw.accept("eldercare/v1/dev-1/alarm", b'{"kind": "sos", "ts": %d}' % 10**15)] == [NOW_MS]


def test_a_number_too_long_to_read_in_a_zigbee2mqtt_state_drops_that_field_only() -> None:
    """An integer of more than 4300 digits made the whole state an internal error (Python's limit on
    int() from text): the press beside it was lost."""
    gw = gateway()
    payload = b'{"action": "emergency", "battery": 1' + b"0" * 5000 + b"}"
    assert [e.stream.value for e in gw.accept("zigbee2mqtt/sos_button", payload)] == ["alarm"]
    assert not gw.rejected and gw.zigbee_state.field_rejects["out_of_range"] == 1
