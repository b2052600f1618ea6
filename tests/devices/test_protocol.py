"""Protocol v1 decoders, the binary imu form and the Zigbee2MQTT mapping."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import imu, protocol, zigbee2mqtt
from devices.errors import PayloadError, Reject
from devices.events import Stream


def decode(stream: Stream, body: object) -> protocol.Decoded:
    return protocol.decode(stream, json.dumps(body).encode())


def test_topic_parsing() -> None:
    assert protocol.parse_topic("eldercare/v1/btn-1/alarm") == ("btn-1", Stream.ALARM)
    with pytest.raises(PayloadError) as error:
        protocol.parse_topic("eldercare/v1/btn-1/alarm/extra")
    assert error.value.reason is Reject.BAD_TOPIC
    with pytest.raises(PayloadError) as error:
        protocol.parse_topic("eldercare/v1/btn 1/alarm")
    assert error.value.reason is Reject.BAD_TOPIC
    with pytest.raises(PayloadError) as error:
        protocol.parse_topic("eldercare/v1/btn-1/weather")
    assert error.value.reason is Reject.UNKNOWN_STREAM


def test_each_stream_decodes_to_normalised_values() -> None:
    assert decode(Stream.ALARM, {"ts": 5, "kind": "SOS", "seq": 17}).values == {"kind": "sos"}
    assert decode(Stream.ALARM, {"ts": 5, "kind": "fall", "seq": 1}).seq == 1
    assert decode(Stream.MOTION, {"ts": 5, "occupancy": True}).values == {"occupancy": True}
    assert decode(Stream.CONTACT, {"ts": 5, "open": "false"}).values == {"open": False}
    assert decode(Stream.BED, {"ts": 5, "occupied": 1}).values == {"occupied": True}
    assert decode(Stream.ENV, {"ts": 5, "smoke": True, "junk": 1}).values == {"smoke": True}
    assert decode(Stream.VITALS, {"ts": 5, "hr": "72", "spo2": 97}).values == {"hr": 72.0, "spo2": 97.0}
    assert decode(Stream.STATUS, {"online": True, "battery": "87%"}).values == {"online": True, "battery": 87.0}
    assert decode(Stream.STATUS, False).values == {"online": False}
    assert decode(Stream.MOTION, {"occupancy": True}).ts_ms is None


@pytest.mark.parametrize(
    ("stream", "body", "reason"),
    [
        (Stream.ALARM, {"kind": "party"}, Reject.OUT_OF_RANGE),
        (Stream.ALARM, {"kind": "sos", "seq": "x"}, Reject.WRONG_TYPE),
        (Stream.MOTION, {"ts": 1}, Reject.MISSING_FIELD),
        (Stream.CONTACT, {"open": [1]}, Reject.WRONG_TYPE),
        (Stream.VITALS, {"hr": 900}, Reject.OUT_OF_RANGE),
        (Stream.VITALS, {"spo2": True}, Reject.WRONG_TYPE),
        (Stream.STATUS, {"battery": 150}, Reject.OUT_OF_RANGE),
        (Stream.ENV, {"ts": 1}, Reject.MISSING_FIELD),
        (Stream.IMU, {"t0": 1, "hz": 50, "acc": [[1, 2]]}, Reject.WRONG_TYPE),
        (Stream.IMU, {"t0": 1, "hz": 5000, "acc": [[1, 2, 3]]}, Reject.OUT_OF_RANGE),
        (Stream.MOTION, [1, 2], Reject.WRONG_TYPE),
    ],
)
def test_bad_payloads_say_what_is_wrong(stream: Stream, body: object, reason: Reject) -> None:
    with pytest.raises(PayloadError) as error:
        decode(stream, body)
    assert error.value.reason is reason
    assert error.value.message


def test_deeply_nested_json_is_rejected_not_crashing() -> None:
    with pytest.raises(PayloadError) as error:
        protocol.decode(Stream.ALARM, b"[" * 200_000 + b"]" * 200_000)
    assert error.value.reason is Reject.MALFORMED


def test_json_nested_deeper_than_any_device_sends_is_malformed() -> None:
    """Fuzzing: a Zigbee2MQTT state 969 levels deep was taken and kept in the edge memory, which then
    could not be encoded at shutdown (RecursionError). Every payload path reads JSON through one limit."""
    limit = protocol.MAX_JSON_DEPTH
    deepest = b'{"kind": "sos", "x": ' + b"[" * (limit - 1) + b"]" * (limit - 1) + b"}"
    assert protocol.decode(Stream.ALARM, deepest).values == {"kind": "sos"}
    objects = b'{"a":' * limit + b"1" + b"}" * limit
    assert protocol.load_json(objects) is not None
    for too_deep in (
        b'{"kind": "sos", "x": ' + b"[" * limit + b"]" * limit + b"}",
        b'{"a":' * (limit + 1) + b"1" + b"}" * (limit + 1),
        b'{"linkquality": 5, "x": ' + b"[" * 969 + b"]" * 969 + b"}",
    ):
        with pytest.raises(PayloadError) as error:
            protocol.decode(Stream.ALARM, too_deep)
        assert error.value.reason is Reject.MALFORMED and str(limit) in error.value.message


def test_json_is_utf8_with_or_without_a_byte_order_mark() -> None:
    body = '{"kind": "sos", "note": "王奶奶"}'
    assert protocol.decode(Stream.ALARM, body.encode()).values["kind"] == "sos"
    assert protocol.decode(Stream.ALARM, "\ufeff".encode() + body.encode()).values["kind"] == "sos"
    for unreadable in (body.encode("utf-16"), b'{"kind": "\xff"}'):
        with pytest.raises(PayloadError) as error:
            protocol.decode(Stream.ALARM, unreadable)
        assert error.value.reason is Reject.MALFORMED and error.value.message


def test_imu_json_with_rate_and_with_offsets() -> None:
    regular = decode(Stream.IMU, {"t0": 1000, "hz": 50, "acc": [[0, 0, 1], [0, 0.5, 1]]})
    assert regular.imu is not None
    assert regular.imu.t_ms.tolist() == [1000.0, 1020.0]
    assert regular.imu.acc.dtype == np.float32
    irregular = decode(Stream.IMU, {"t0": 1000, "acc": [[0, 0, 1], [0, 0, 1]], "dt": [0, 13]})
    assert irregular.imu is not None and irregular.imu.t_ms.tolist() == [1000.0, 1013.0]


def test_binary_imu_round_trips_within_one_count() -> None:
    rng = np.random.default_rng(3)
    acc = rng.uniform(-4, 4, size=(50, 3))
    block = imu.decode_binary(imu.encode_binary(1_700_000_000_000, 50.0, acc))
    assert np.allclose(block.acc, acc, atol=1 / 256)
    assert block.t_ms[0] == 1_700_000_000_000 and block.t_ms[1] == pytest.approx(1_700_000_000_020)
    offsets = np.cumsum(rng.uniform(8, 14, size=50)) - 8
    irregular = imu.decode_binary(imu.encode_binary(5, 87.0, acc, offsets_ms=offsets))
    assert np.allclose(irregular.t_ms - 5, offsets, atol=0.05)
    assert len(imu.encode_binary(0, 50.0, acc)) == 22 + 6 * 50


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_binary_garbage_never_crashes_the_decoder(payload: bytes) -> None:
    with contextlib.suppress(PayloadError):
        protocol.decode(Stream.IMU, b"EC" + payload)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
        max_leaves=20,
    ),
    st.sampled_from(list(Stream)),
)
def test_any_json_is_decoded_or_rejected_with_a_reason(body: object, stream: Stream) -> None:
    try:
        decoded = protocol.decode(stream, json.dumps(body).encode())
    except PayloadError as error:
        assert isinstance(error.reason, Reject)
    else:
        assert decoded.stream is stream


class TestZigbee2Mqtt:
    def decode(
        self, state: zigbee2mqtt.Zigbee2MqttState, device_type: str, body: dict[str, object], now_ms: int = 0
    ) -> list[protocol.Decoded]:
        return zigbee2mqtt.decode_state("dev", device_type, json.dumps(body).encode(), state, now_ms=now_ms)

    def test_contact_true_means_closed_and_only_changes_count(self) -> None:
        state = zigbee2mqtt.Zigbee2MqttState()
        first = self.decode(state, "door", {"contact": True, "battery": 91, "linkquality": 80})
        assert [(d.stream, d.values) for d in first] == [
            (Stream.CONTACT, {"open": False}),
            (Stream.STATUS, {"battery": 91.0}),
        ]
        assert self.decode(state, "door", {"contact": True, "battery": 91, "linkquality": 60}) == []
        opened = self.decode(state, "door", {"contact": False, "battery": 91, "linkquality": 60})
        assert [(d.stream, d.values) for d in opened] == [(Stream.CONTACT, {"open": True})]

    def test_calls_go_by_device_type_not_model(self) -> None:
        state = zigbee2mqtt.Zigbee2MqttState()
        assert self.decode(state, "sos_button", {"action": ""}) == []
        assert [d.values for d in self.decode(state, "sos_button", {"action": "emergency"})] == [
            {"kind": "sos", "press": "single"}
        ]
        assert self.decode(state, "sos_button", {"action": ""}) == []
        assert [d.values for d in self.decode(state, "sos_button", {"action": "hold"})] == [
            {"kind": "sos", "press": "hold"}
        ]
        assert self.decode(state, "sos_button", {"action": "off"}) == []  # a release
        assert self.decode(state, "sos_button", {"action": "hold_release"}) == []
        assert self.decode(state, "switch", {"action": "single"}) == []  # a light switch, not a call button
        assert [d.values for d in self.decode(state, "switch", {"action": "panic"})] == [
            {"kind": "sos", "press": "single"}
        ]
        assert [d.values for d in self.decode(state, "pir", {"sos": True})] == [{"kind": "sos"}]

    def test_occupancy_reports_repeat_but_other_attribute_updates_do_not(self) -> None:
        state = zigbee2mqtt.Zigbee2MqttState()
        body = {"occupancy": True, "battery": "87", "illuminance": 10, "linkquality": 90}
        assert [d.stream for d in self.decode(state, "pir", body)] == [Stream.MOTION, Stream.STATUS]
        assert [d.stream for d in self.decode(state, "pir", {**body, "linkquality": 70})] == [Stream.MOTION]
        assert self.decode(state, "pir", {**body, "battery": "86"}) == [
            protocol.Decoded(Stream.STATUS, None, {"battery": 86.0})
        ]
        assert self.decode(state, "pir", {**body, "battery": "86", "illuminance": 300}) == []
        assert self.decode(state, "pir", {**body, "battery": "86", "illuminance": 300, "voltage": 2990}) == []

    def test_a_radar_occupancy_on_every_update_is_presence_not_motion(self) -> None:
        state = zigbee2mqtt.Zigbee2MqttState()
        body = {"occupancy": True, "illuminance": 10, "target_distance": 1.2}
        assert [(d.stream, d.values) for d in self.decode(state, "presence", body)] == [
            (Stream.PRESENCE, {"present": True})
        ]
        for distance in (1.3, 1.3, 1.4):
            assert self.decode(state, "presence", {**body, "target_distance": distance}) == []
        assert [d.values for d in self.decode(state, "fall_radar", {**body, "fall_down_status": "fall"})] == [
            {"kind": "fall", "source": "radar"}
        ]
        # a fall radar registered as a plain presence sensor (or anything else) still reports falls
        for device_type, field in (("presence", "status"), ("pir", "fall_status"), ("switch", "fall_down_status")):
            value = {"status": "falling", "fall_status": "fall_alarm", "fall_down_status": "fall"}[field]
            fresh = zigbee2mqtt.Zigbee2MqttState()
            assert {"kind": "fall", "source": "radar"} in [
                d.values for d in self.decode(fresh, device_type, {field: value})
            ], device_type
        assert self.decode(zigbee2mqtt.Zigbee2MqttState(), "switch", {"status": "falling"}) == []

    def test_a_radars_movement_is_motion_on_a_change_never_on_a_presence_re_report(self) -> None:
        state = zigbee2mqtt.Zigbee2MqttState()
        still = {"presence": True, "movement": "no_movement", "target_distance": 1.2}
        assert [d.stream for d in self.decode(state, "presence", still)] == [Stream.PRESENCE]
        moving = {**still, "movement": "movement"}
        assert [(d.stream, d.values) for d in self.decode(state, "presence", moving)] == [
            (Stream.MOTION, {"occupancy": True})
        ]
        # presence re-reported with the cached "movement": someone lying still must not look active
        for distance in (1.3, 1.3):
            assert self.decode(state, "presence", {**moving, "target_distance": distance}) == []
        assert self.decode(state, "presence", {**still, "motion_state": "static"}) == []
        assert [d.stream for d in self.decode(state, "presence", {**still, "motion_state": "small"})] == [Stream.MOTION]
        assert [d.stream for d in self.decode(state, "fall_radar", {"presence_event": "approach"})] == [Stream.MOTION]
        assert self.decode(state, "pir", {"movement": "movement"}) == []  # a PIR's field is occupancy
        bad = self.decode(state, "presence", {"presence": False, "movement": 3})
        assert [(d.stream, d.values) for d in bad] == [(Stream.PRESENCE, {"present": False})]
        assert state.field_rejects["wrong_type"] == 1

    def test_nulls_are_not_reported_and_a_bad_field_keeps_the_rest(self) -> None:
        state = zigbee2mqtt.Zigbee2MqttState()
        assert self.decode(state, "door", {"battery": 100, "contact": None}) == [
            protocol.Decoded(Stream.STATUS, None, {"battery": 100.0})
        ]
        mixed = self.decode(state, "sos_button", {"sos": True, "battery": 55, "contact": "ajar", "tamper": 7})
        assert [(d.stream, d.values) for d in mixed] == [
            (Stream.ALARM, {"kind": "sos"}),
            (Stream.STATUS, {"battery": 55.0}),
        ]
        assert state.field_rejects["wrong_type"] == 2
        with pytest.raises(PayloadError) as error:
            self.decode(state, "door", {"contact": "ajar"})
        assert error.value.reason is Reject.WRONG_TYPE

    def test_a_smoke_test_press_is_not_smoke(self) -> None:
        state = zigbee2mqtt.Zigbee2MqttState()
        pressed = self.decode(state, "smoke", {"smoke": True, "test": True, "battery_low": False})
        assert [(d.stream, d.values) for d in pressed] == [(Stream.STATUS, {"smoke_test": True})]
        released = self.decode(state, "smoke", {"smoke": False, "test": False, "battery_low": False})
        assert [(d.stream, d.values) for d in released] == [(Stream.STATUS, {"smoke_test": False})]
        fire = self.decode(state, "smoke", {"smoke": True, "test": False, "battery_low": True, "tamper": True})
        assert [(d.stream, d.values) for d in fire] == [
            (Stream.ENV, {"smoke": True}),
            (Stream.STATUS, {"battery_low": True, "tamper": True}),
        ]

    def test_restart_republish_refreshes_the_memory_but_raises_the_alarms_it_did_not_hold(self) -> None:
        state = zigbee2mqtt.Zigbee2MqttState()
        assert self.decode(state, "door", {"contact": True}, now_ms=1_000)
        zigbee2mqtt.decode_bridge_state(b'{"state":"online"}', state, 2_000)  # retained, at our start
        zigbee2mqtt.decode_bridge_state(b'{"state":"offline"}', state, 3_000)
        zigbee2mqtt.decode_bridge_state(b"online", state, 4_000)
        # the cached state republished: the open door only refreshes the memory; the sos it had cached
        # is an alarm the memory never held, so it raises (a duplicate is deduplicated downstream)
        assert [d.values for d in self.decode(state, "door", {"contact": False, "sos": True}, now_ms=5_000)] == [
            {"kind": "sos"}
        ]
        # after its first republished state, the device's messages count again: the same report
        # repeated is a new press; the door closing is an edge
        repeat = {"contact": False, "sos": True, "linkquality": 9}
        assert [d.values for d in self.decode(state, "door", repeat, now_ms=6_000)] == [{"kind": "sos"}]
        assert [d.values for d in self.decode(state, "door", {"contact": True}, now_ms=6_500)] == [{"open": False}]
        # an action is never cached, so one in the republish window is a real press
        state.republished.clear()
        assert self.decode(state, "sos_button", {"action": "emergency"}, now_ms=7_000)
        with pytest.raises(PayloadError):
            zigbee2mqtt.decode_bridge_state(b"rebooting", state, 8_000)

    def test_after_a_bridge_restart_only_alarms_the_memory_already_held_are_not_raised_again(self) -> None:
        """Fuzzing: toggling ``bridge/state`` muted a smoke alarm. The first state after it only refreshed
        the memory, which then held smoke as its baseline, so the next report raised nothing either."""
        state = zigbee2mqtt.Zigbee2MqttState()
        before = {
            "smoke-clear": ("smoke", {"smoke": False, "battery": 90}),
            "smoke-known": ("smoke", {"smoke": True, "battery": 90}),
            "sos-known": ("sos_button", {"sos": True, "battery": 90, "linkquality": 40}),
            "radar-clear": ("fall_radar", {"presence": True, "fall_down_status": "none"}),
            "door": ("door", {"contact": True}),
        }
        for key, (device_type, body) in before.items():
            zigbee2mqtt.decode_state(key, device_type, json.dumps(body).encode(), state, now_ms=1_000)
        zigbee2mqtt.decode_bridge_state(b'{"state":"offline"}', state, 2_000)
        zigbee2mqtt.decode_bridge_state(b'{"state":"online"}', state, 3_000)

        def first(key: str, device_type: str, body: dict[str, object]) -> list[object]:
            payload = json.dumps(body).encode()
            return [d.values for d in zigbee2mqtt.decode_state(key, device_type, payload, state, now_ms=4_000)]

        assert first("smoke-clear", "smoke", {"smoke": True, "battery": 90}) == [{"smoke": True}]
        assert first("smoke-known", "smoke", {"smoke": True, "battery": 90}) == []
        assert first("sos-known", "sos_button", {"sos": True, "battery": 90, "linkquality": 35}) == []
        assert first("sos-new", "sos_button", {"sos": True, "battery": 90}) == [{"kind": "sos"}]
        assert first("radar-clear", "fall_radar", {"presence": True, "fall_down_status": "fall"}) == [
            {"kind": "fall", "source": "radar"}
        ]
        assert first("door", "door", {"contact": False}) == []  # not an alarm: the memory only
        # the smoke raised once stays one episode: a later report of it (battery changed) is no new alarm
        assert first("smoke-clear", "smoke", {"smoke": True, "battery": 89}) == [{"battery": 89.0}]
        assert first("sos-known", "sos_button", {"sos": True, "battery": 90, "linkquality": 30}) == [{"kind": "sos"}]

    def test_the_edge_memory_survives_a_restart(self) -> None:
        state = zigbee2mqtt.Zigbee2MqttState()
        self.decode(state, "sos_button", {"sos": True, "battery": 90})
        restored = zigbee2mqtt.Zigbee2MqttState()
        restored.restore(state.to_json())
        assert self.decode(restored, "sos_button", {"sos": True, "battery": 80}) == [
            protocol.Decoded(Stream.STATUS, None, {"battery": 80.0})
        ]
        fresh = zigbee2mqtt.Zigbee2MqttState()
        fresh.restore(b"{not json")
        assert fresh.last == {}

    def test_a_memory_saved_with_a_state_nested_too_deeply_is_unreadable(self) -> None:
        """A memory saved before such states were rejected (the 30 s saves still managed them) must not
        bring back one that the save at stop cannot encode."""
        state = zigbee2mqtt.Zigbee2MqttState()
        self.decode(state, "sos_button", {"sos": True, "x": [[[]]]})
        restored = zigbee2mqtt.Zigbee2MqttState()
        restored.restore(state.to_json())
        assert restored.last == {"dev": {"sos": True, "x": [[[]]]}}
        for levels in (protocol.MAX_JSON_DEPTH, 900, 100_000):
            deep = b"[" * levels + b"]" * levels
            fresh = zigbee2mqtt.Zigbee2MqttState()
            fresh.restore(b'{"last": {"ok": {"sos": true}, "deep": {"x": %s}}, "bridge_online": true}' % deep)
            assert fresh.last == {} and fresh.bridge_online is None

    def test_safety_fields_and_availability(self) -> None:
        state = zigbee2mqtt.Zigbee2MqttState()
        assert [d.values for d in self.decode(state, "smoke", {"smoke": True})] == [{"smoke": True}]
        assert zigbee2mqtt.decode_availability(b'{"state":"offline"}').values == {"online": False}
        assert zigbee2mqtt.decode_availability(b"online").values == {"online": True}
        with pytest.raises(PayloadError):
            zigbee2mqtt.decode_availability(b"maybe")
