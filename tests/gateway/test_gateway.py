"""The gateway's decoding and bookkeeping, without a broker (the MQTT loop is covered end to end)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import aiomqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from devices.events import Event, Stream
from gateway import Gateway, GatewayConfig
from gateway.inbox import Inbox, Received
from gateway.lanes import kept_under_load
from registry.models import Z2mName
from registry.store import DeviceRecord

NOW_MS = 1_800_000_000_000


class Directory:
    def __init__(self, *devices: DeviceRecord) -> None:
        self.by_id = {d.id: d for d in devices}
        self.by_zigbee = {d.z2m_name: d for d in devices if d.z2m_name}

    def device(self, device_id: str) -> DeviceRecord | None:
        return self.by_id.get(device_id)

    def zigbee_device(self, name: str) -> DeviceRecord | None:
        return self.by_zigbee.get(name)


def gateway() -> Gateway:
    return Gateway(
        Directory(
            DeviceRecord("btn-1", "res-1", "sos_button", location="hall"),
            DeviceRecord("pendant-1", "res-1", "pendant"),
            DeviceRecord("loose-1", None, "pir"),
            DeviceRecord("z-1", "res-1", "sos_button", model="TS0215A_sos", z2m_name="sos_button"),
        ),
        GatewayConfig(),
        clock=lambda: NOW_MS / 1000,
    )


def body(**values: object) -> bytes:
    return json.dumps(values).encode()


def test_an_accepted_event_carries_resident_type_and_location() -> None:
    [event] = gateway().accept("eldercare/v1/btn-1/alarm", body(ts=NOW_MS - 5, kind="sos", seq=3))
    assert (event.resident_id, event.device_type, event.location) == ("res-1", "sos_button", "hall")
    assert (event.stream, event.seq, event.ts_ms, event.received_ms) == (Stream.ALARM, 3, NOW_MS - 5, NOW_MS)


def test_unbound_devices_and_our_own_downlink() -> None:
    gw = gateway()
    assert gw.accept("eldercare/v1/loose-1/motion", body(occupancy=True)) == []
    assert gw.rejected["unknown_device"] == 1
    assert gw.accept("eldercare/v1/btn-1/cmd", body(type="call_received")) == []
    assert gw.accept("zigbee2mqtt/bridge", body(state="online")) == []
    assert sum(gw.rejected.values()) == 1


def test_duplicate_presses_are_dropped_by_seq_only_for_alarms() -> None:
    gw = gateway()
    assert len(gw.accept("eldercare/v1/btn-1/alarm", body(kind="sos", seq=1))) == 1
    assert gw.accept("eldercare/v1/btn-1/alarm", body(kind="sos", seq=1)) == []
    assert len(gw.accept("eldercare/v1/btn-1/alarm", body(kind="sos", seq=2))) == 1
    assert gw.rejected["duplicate"] == 1


def test_presses_whose_seq_differ_only_beyond_float_precision_are_each_taken() -> None:
    """Fuzzing: seq 1152921504606984193 was rejected as a duplicate of …4192 (both read as one float)."""
    gw = gateway()
    presses = [1152921504606984192, 1152921504606984193, 1152921504606984194, 2**63 - 1]
    taken = [gw.accept("eldercare/v1/btn-1/alarm", body(kind="sos", seq=seq)) for seq in presses]
    assert [event.seq for events in taken for event in events] == presses
    assert not gw.rejected


def test_a_device_clock_far_off_is_kept_flagged_and_placed_at_arrival() -> None:
    gw = gateway()
    year = 365 * 86_400_000
    [event] = gw.accept("eldercare/v1/btn-1/alarm", body(ts=NOW_MS - year, kind="sos", seq=1))
    assert event.ts_ms == NOW_MS
    assert event.values["clock_skew_ms"] == -year
    [imu] = gw.accept("eldercare/v1/pendant-1/imu", body(t0=NOW_MS + year, hz=50, acc=[[0, 0, 1]] * 3))
    assert imu.imu is not None and imu.imu.t_ms.tolist() == [NOW_MS, NOW_MS + 20, NOW_MS + 40]
    assert gw.clock_skewed == 2


def test_a_retained_copy_keeps_its_own_time_and_says_it_is_one() -> None:
    """Fuzzing: after a restart the broker sent a status retained 16 min before; stamped with its arrival (as a far
    clock is), it restarted the device's silence clock, and a dead device's DEVICE_SILENT came 16 min late."""
    gw = gateway()
    old = NOW_MS - 16 * 60_000
    [stored] = gw.accept("eldercare/v1/btn-1/status", body(ts=old, online=True, battery=80), retained=True)
    assert (stored.ts_ms, stored.values.get("retained"), "clock_skew_ms" in stored.values) == (old, True, False)
    [undated] = gw.accept("eldercare/v1/btn-1/status", body(online=True), retained=True)
    assert (undated.ts_ms, undated.values.get("retained")) == (NOW_MS, True)  # no time of its own: flagged
    [live] = gw.accept("eldercare/v1/btn-1/status", body(ts=old, online=True))
    assert (live.ts_ms, "retained" in live.values, gw.clock_skewed) == (NOW_MS, False, 1)


def test_huge_topics_and_payloads_are_rejected_with_reasons() -> None:
    gw = gateway()
    assert gw.accept("eldercare/v1/" + "x" * 70_000 + "/alarm", body(kind="sos")) == []
    assert gw.accept("eldercare/v1/btn-1/alarm", b"x" * (256 * 1024 + 1)) == []
    assert dict(gw.rejected) == {"bad_topic": 1, "oversized": 1}


def test_alarms_and_safety_are_never_shed() -> None:
    z2m = gateway()._z2m
    kept = [kept_under_load(f"eldercare/v1/d/{stream}", z2m) for stream in ("alarm", "env", "status")]
    shed = [kept_under_load(f"eldercare/v1/d/{stream}", z2m) for stream in ("imu", "motion", "vitals")]
    assert all(kept) and not any(shed)
    assert kept_under_load("zigbee2mqtt/sos_button", z2m)


def test_messages_and_events_are_counted_apart_so_accepted_never_exceeds_received() -> None:
    """Issue 12 finding 5: one Zigbee2MQTT state gave four events and /healthz said 4 accepted of 1 received."""
    gw = gateway()
    state = body(action="emergency", contact=False, smoke=True, battery=50)
    assert len(gw.accept("zigbee2mqtt/sos_button", state)) == 4
    gw.accept("eldercare/v1/btn-1/alarm", b"{")
    counters = gw.counters()
    assert (counters["received"], counters["messages_accepted"], counters["events_produced"]) == (2, 1, 4)
    assert counters["messages_accepted"] + sum(counters["rejected"].values()) == counters["received"]
    assert "accepted" not in counters


def test_zigbee2mqtt_restart_republish_raises_nothing_but_later_changes_do() -> None:
    gw = Gateway(
        Directory(DeviceRecord("z-door", "res-1", "door", model="MCCGQ11LM", z2m_name="front door")),
        GatewayConfig(),
        clock=lambda: NOW_MS / 1000,
    )
    assert ("zigbee2mqtt/bridge/state", 1) in gw.alarm_lane.subscriptions
    assert [e.values for e in gw.accept("zigbee2mqtt/front door", body(contact=True, battery=90))] == [
        {"open": False},
        {"battery": 90.0},
    ]
    assert gw.accept("zigbee2mqtt/bridge/state", b'{"state":"offline"}') == []
    assert gw.accept("zigbee2mqtt/bridge/state", b'{"state":"online"}') == []
    assert gw.accept("zigbee2mqtt/front door", body(contact=False, battery=90)) == []  # its cached state
    assert [e.values for e in gw.accept("zigbee2mqtt/front door", body(contact=True, battery=90))] == [{"open": False}]
    assert gw.accept("zigbee2mqtt/bridge/state", b"rebooting") == []
    assert gw.rejected["out_of_range"] == 1


def test_a_zigbee2mqtt_state_nested_too_deeply_is_rejected_and_never_kept() -> None:
    """Fuzzing: 969 levels were accepted into the edge memory, which then failed to save at shutdown
    (300 here: how deep Python's own decoder goes depends on how deep the stack already is)."""
    gw = gateway()
    assert gw.accept("zigbee2mqtt/sos_button", body(battery=90))
    deep = b'{"linkquality": 5, "x": ' + b"[" * 300 + b"]" * 300 + b"}"
    assert gw.accept("zigbee2mqtt/sos_button", deep) == []
    assert dict(gw.rejected) == {"malformed": 1}
    assert json.loads(gw.zigbee_state.to_json())["last"] == {"z-1": {"battery": 90}}


def test_a_smoke_alarm_right_after_a_bridge_restart_raises() -> None:
    """Fuzzing: anyone on the broker could mute a smoke alarm by publishing bridge/state offline, then
    online: the alarm's first report only refreshed the edge memory, and the later ones raised nothing."""
    gw = Gateway(
        Directory(DeviceRecord("z-smoke", "res-1", "smoke", model="JTYJ-GD-01LM/BW", z2m_name="kitchen smoke")),
        GatewayConfig(),
        clock=lambda: NOW_MS / 1000,
    )
    assert gw.accept("zigbee2mqtt/kitchen smoke", body(smoke=False, battery=90, linkquality=40))
    assert gw.accept("zigbee2mqtt/bridge/state", b'{"state":"offline"}') == []
    assert gw.accept("zigbee2mqtt/bridge/state", b'{"state":"online"}') == []
    smoke = gw.accept("zigbee2mqtt/kitchen smoke", body(smoke=True, battery=90, linkquality=41))
    assert [(e.stream, e.values) for e in smoke] == [(Stream.ENV, {"smoke": True})]


class NoClient:
    """Nothing to acknowledge: the messages below come at QoS 0."""

    _client = None


def press(seq: int) -> Received:
    return Received("eldercare/v1/btn-1/alarm", body(kind="sos", seq=seq), 0, 0, False)


async def test_a_press_cut_off_before_it_was_handed_over_is_taken_when_the_broker_sends_it_again() -> None:
    """CI once lost 1 of 24 presses when mosquitto restarted: the first copy was marked received,
    its handling was cancelled with the session, and the broker's redelivery was rejected as a duplicate."""
    gw = gateway()
    handed_over: list[Event] = []
    stuck = asyncio.Event()

    async def sink_that_never_answers(batch: dict[str, list[Event]]) -> None:
        stuck.set()
        await asyncio.sleep(60)

    async def sink(batch: dict[str, list[Event]]) -> None:
        handed_over.extend(e for events in batch.values() for e in events)

    cut_off = asyncio.create_task(gw._handle(NoClient(), [press(7)], sink_that_never_answers))  # type: ignore[arg-type]
    await stuck.wait()
    cut_off.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cut_off
    await gw._handle(NoClient(), [press(7)], sink)  # type: ignore[arg-type]
    assert [(e.device_id, e.seq) for e in handed_over] == [("btn-1", 7)]
    assert gw.rejected["duplicate"] == 0
    await gw._handle(NoClient(), [press(7)], sink)  # type: ignore[arg-type]
    assert len(handed_over) == 1 and gw.rejected["duplicate"] == 1  # once handed over, a copy is a duplicate


async def test_a_press_the_sink_refused_is_dead_lettered_and_the_devices_retry_is_taken() -> None:
    gw = gateway()
    gw.config = replace(gw.config, alarm_sink_attempts=1)
    handed_over: list[Event] = []

    async def broken(batch: dict[str, list[Event]]) -> None:
        raise RuntimeError("the stream core is down")

    async def sink(batch: dict[str, list[Event]]) -> None:
        handed_over.extend(e for events in batch.values() for e in events)

    await gw._handle(NoClient(), [press(9)], broken)  # type: ignore[arg-type]
    assert gw.sink_dead_lettered == 1 and len(gw.dead_letters) == 1
    await gw._handle(NoClient(), [press(9)], sink)  # type: ignore[arg-type]
    assert [(e.device_id, e.seq) for e in handed_over] == [("btn-1", 9)]


async def test_a_batch_whose_session_ends_is_still_handed_over_and_its_copy_is_a_duplicate() -> None:
    """The alarm lane's batches in flight outlive their session: cancelled, one could lose what it had
    consumed (a smoke episode opened, a Zigbee2MQTT state cached) and the broker's copy raise nothing."""
    gw = gateway()
    handed_over: list[Event] = []
    storing = asyncio.Event()
    stored = asyncio.Event()

    async def slow_sink(batch: dict[str, list[Event]]) -> None:
        storing.set()
        await stored.wait()
        handed_over.extend(e for events in batch.values() for e in events)

    class EndingSession:
        _client = None
        _disconnected: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    session = EndingSession()
    inbox = Inbox()
    inbox.extend([press(5)])
    receiving = asyncio.create_task(
        gw._receive_batches(gw.alarm_lane, session, inbox, slow_sink, gw._alarm_batches)  # type: ignore[arg-type]
    )
    await storing.wait()
    session._disconnected.set_exception(ConnectionError("broker restarted"))
    with pytest.raises(aiomqtt.MqttError):
        await receiving
    stored.set()
    while gw._alarm_batches.busy:
        await asyncio.sleep(0.001)
    assert [(e.device_id, e.seq) for e in handed_over] == [("btn-1", 5)]
    await gw._handle(NoClient(), [press(5)], slow_sink)  # type: ignore[arg-type]
    assert len(handed_over) == 1 and gw.rejected["duplicate"] == 1


def test_an_empty_payload_on_a_retained_topic_is_a_retained_message_cleared_not_a_reject() -> None:
    gw = gateway()
    for topic in ("eldercare/v1/btn-1/status", "zigbee2mqtt/sos_button/availability", "zigbee2mqtt/sos_button"):
        assert gw.accept(topic, b"") == []
    assert gw.counters()["retained_cleared"] == 3
    assert not gw.rejected
    # an alarm is never retained: an empty one is a reject with its reason, as is a reading
    assert gw.accept("eldercare/v1/btn-1/alarm", b"") == []
    assert gw.accept("eldercare/v1/pendant-1/motion", b"") == []
    assert sum(gw.rejected.values()) == 2
    assert gw.counters()["retained_cleared"] == 3


FRIENDLY_NAME = TypeAdapter(Z2mName)
HEARD_NAMES = ["cmd", "availability", "alarm", "status", "bridge button", "0x00158d0001a2b3c4", "王奶奶的按钮", " "]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([*HEARD_NAMES, "bridge", "living/cmd"]) | st.text(max_size=70))
def test_every_friendly_name_the_registry_takes_is_heard_by_the_gateway(name: str) -> None:
    """Fuzzing: a button named ``cmd`` was registered but its presses were skipped as our own downlink."""
    try:
        FRIENDLY_NAME.validate_python(name)
    except ValidationError:
        assert name not in HEARD_NAMES
        return
    gw = Gateway(Directory(DeviceRecord("z-named", "res-1", "sos_button", z2m_name=name)), GatewayConfig())
    handed_over: list[Event] = []

    async def sink(batch: dict[str, list[Event]]) -> None:
        handed_over.extend(e for events in batch.values() for e in events)

    pressed = Received(f"zigbee2mqtt/{name}", body(action="emergency"), 0, 0, False)
    asyncio.run(gw._handle(NoClient(), [pressed], sink))  # type: ignore[arg-type]
    assert [(e.device_id, e.stream) for e in handed_over] == [("z-named", Stream.ALARM)], gw.rejected
