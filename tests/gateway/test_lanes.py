"""The message boundary and the lanes' sink handling, on a real broker (no database needed).

A gateway whose decoder raises arbitrary exception types for some messages must keep its lanes
flowing: those messages become counted ``internal_error`` rejects kept as dead letters, and every
other message still reaches the sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace

from devices.events import Event
from gateway import Batch, BrokerAddress, Gateway, GatewayConfig
from registry.store import DeviceRecord
from tests.gateway.test_gateway import Directory
from tests.harness import Namespace, eventually, mqtt_client, publish
from tests.services import TestServices


class DecoderBug(Exception):
    """An exception type the gateway has never heard of."""


FAULTS: dict[str, Exception] = {
    "value": ValueError("bad value"),
    "key": KeyError("acc"),
    "overflow": OverflowError("cannot convert float infinity to integer"),
    "runtime": RuntimeError("kernel state"),
    "custom": DecoderBug("a bug"),
}


class BuggyGateway(Gateway):
    """Raises the exception named by a payload's ``bug`` field, as a decoder with a bug would."""

    def translate(self, topic: str, payload: bytes, received_ms: int, *, retained: bool = False) -> list[Event]:
        bug = json.loads(payload).get("bug") if payload.startswith(b"{") else None
        if bug is not None:
            raise FAULTS[bug]
        return super().translate(topic, payload, received_ms, retained=retained)


def directory() -> Directory:
    return Directory(
        DeviceRecord("btn-1", "res-1", "sos_button"),
        DeviceRecord("door-1", "res-1", "door"),
        DeviceRecord("z-1", "res-1", "sos_button", model="TS0215A_sos", z2m_name="sos_1"),
    )


class Collector:
    """A sink that records events and can be told to fail its next calls for a lane's streams."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.fail_streams: set[str] = set()
        self.failures_left = 0

    async def __call__(self, batch: Batch) -> None:
        streams = {event.stream.value for events in batch.values() for event in events}
        if streams & self.fail_streams and self.failures_left != 0:
            self.failures_left -= 1
            raise RuntimeError("stream core refused the batch")
        for events in batch.values():
            self.events.extend(events)

    def streams(self) -> list[str]:
        return [event.stream.value for event in self.events]


@contextlib.asynccontextmanager
async def running(gateway: Gateway, services: TestServices, sink: Collector) -> AsyncIterator[Gateway]:
    task = asyncio.create_task(gateway.run(BrokerAddress(services.mqtt_host, services.mqtt_port), sink))
    try:
        await eventually(gateway.lanes_ready)
        yield gateway
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make(cls: type[Gateway], namespace: Namespace, **config: object) -> Gateway:
    settings = GatewayConfig(
        topic_prefix=namespace.prefix,
        zigbee2mqtt_base=namespace.z2m_base,
        client_id=namespace.client_id,
        batch_linger_ms=1.0,
    )
    return cls(directory(), replace(settings, **config))  # type: ignore[arg-type]


async def test_a_decoder_raising_any_exception_type_does_not_stop_either_lane(services: TestServices) -> None:
    namespace = Namespace()
    sink = Collector()
    async with running(make(BuggyGateway, namespace), services, sink) as gateway, mqtt_client(services) as client:
        for index, bug in enumerate(FAULTS):
            await publish(client, f"{namespace.prefix}/door-1/contact", {"open": True, "bug": bug})
            await publish(client, f"{namespace.prefix}/btn-1/alarm", {"kind": "sos", "seq": index, "bug": bug})
            await publish(client, f"{namespace.prefix}/door-1/contact", {"open": index % 2 == 0})
            await publish(client, f"{namespace.prefix}/btn-1/alarm", {"kind": "sos", "seq": 100 + index})
        await eventually(lambda: sink.streams().count("contact") == 5 and sink.streams().count("alarm") == 5)
        counters = gateway.counters()
    assert counters["rejected"] == {"internal_error": 10}
    assert counters["received"] == 20
    assert counters["messages_accepted"] == 10
    assert counters["lane_restarts"] == {}
    assert counters["dead_letters"] == {"total": 10, "waiting": 10, "dropped": 0}
    letters = gateway.dead_letters.take(100)
    assert {letter.reason for letter in letters} == {"internal_error"}
    assert sorted(letter.error.split(":")[0] for letter in letters) == sorted(
        2 * ["ValueError", "KeyError", "OverflowError", "RuntimeError", "DecoderBug"]
    )
    assert {letter.lane for letter in letters} == {"alarms", "telemetry"}
    assert {letter.device_id for letter in letters} == {"door-1", "btn-1"}
    assert all(json.loads(letter.payload)["bug"] in FAULTS for letter in letters)


async def test_an_alarm_batch_the_sink_refuses_is_retried_until_taken_and_readiness_is_red_meanwhile(
    services: TestServices,
) -> None:
    namespace = Namespace()
    sink = Collector()
    sink.fail_streams, sink.failures_left = {"alarm"}, 3
    async with running(make(Gateway, namespace), services, sink) as gateway, mqtt_client(services) as client:
        await publish(client, f"{namespace.prefix}/btn-1/alarm", {"kind": "sos", "seq": 1})
        await eventually(lambda: not gateway.lanes_ready(), interval=0.01)
        await eventually(lambda: "alarm" in sink.streams())
        await eventually(gateway.lanes_ready)
        counters = gateway.counters()
    assert counters["sink_failures"] == {"alarms": 3}
    assert counters["dead_letters"]["total"] == 0 and counters["sink_dead_lettered"] == 0


async def test_a_telemetry_batch_the_sink_keeps_refusing_is_dead_lettered_and_the_lane_goes_on(
    services: TestServices,
) -> None:
    namespace = Namespace()
    sink = Collector()
    sink.fail_streams, sink.failures_left = {"contact"}, 2
    gateway = make(Gateway, namespace, sink_attempts=2)
    async with running(gateway, services, sink), mqtt_client(services) as client:
        await publish(client, f"{namespace.prefix}/door-1/contact", {"open": True})
        await eventually(lambda: gateway.sink_dead_lettered == 1)
        await publish(client, f"{namespace.prefix}/door-1/contact", {"open": False})
        await eventually(lambda: sink.streams() == ["contact"])
    assert sink.events[0].values == {"open": False}
    [letter] = gateway.dead_letters.take(10)
    assert letter.error.startswith("sink failed: RuntimeError") and json.loads(letter.payload) == {"open": True}
    assert gateway.counters()["sink_failures"] == {"telemetry": 2}


class PoisonedSink(Collector):
    """A stream core with a bug: it refuses every batch that holds an event of ``poison_device``."""

    def __init__(self, poison_device: str) -> None:
        super().__init__()
        self.poison_device = poison_device

    async def __call__(self, batch: Batch) -> None:
        if any(event.device_id == self.poison_device for events in batch.values() for event in events):
            raise RuntimeError("stream core bug")
        await super().__call__(batch)


async def test_a_message_the_stream_core_cannot_take_never_holds_back_the_alarms_beside_it(
    services: TestServices,
) -> None:
    """Issue 12: nothing a device sends may stop a loop. One alarm-lane message that makes the stream
    core fail is isolated and dead-lettered; the SOS presses in the same batch and after it get through."""
    namespace = Namespace()
    sink = PoisonedSink("z-1")
    gateway = make(Gateway, namespace, alarm_sink_attempts=2, batch_linger_ms=200.0)
    async with running(gateway, services, sink), mqtt_client(services) as client:
        await publish(client, f"{namespace.prefix}/btn-1/alarm", {"kind": "sos", "seq": 1})
        await publish(client, f"{namespace.z2m_base}/sos_1", {"action": "emergency"})
        await publish(client, f"{namespace.prefix}/btn-1/alarm", {"kind": "sos", "seq": 2})
        await eventually(lambda: gateway.sink_dead_lettered == 1)
        await publish(client, f"{namespace.prefix}/btn-1/alarm", {"kind": "sos", "seq": 3})
        await eventually(lambda: sorted(e.seq or 0 for e in sink.events if e.stream.value == "alarm") == [1, 2, 3])
        await eventually(gateway.lanes_ready)
    [letter] = gateway.dead_letters.take(10)
    assert letter.lane == "alarms" and letter.device_id == "sos_1"
    assert letter.error.startswith("sink failed: RuntimeError: stream core bug")


async def test_a_lane_that_stops_is_restarted_and_not_ready_until_it_is_back(services: TestServices) -> None:
    namespace = Namespace()
    sink = Collector()
    gateway = make(Gateway, namespace, reconnect_max_s=0.5)
    original = gateway._handle
    broken = asyncio.Event()
    broken.set()

    async def handle(*args: object, **kwargs: object) -> None:
        if broken.is_set():
            raise RuntimeError("a bug outside the message boundary")
        await original(*args, **kwargs)  # type: ignore[arg-type]

    async with running(gateway, services, sink), mqtt_client(services) as client:
        gateway._handle = handle  # type: ignore[method-assign]
        await publish(client, f"{namespace.prefix}/door-1/contact", {"open": True})
        await eventually(lambda: gateway.lane_restarts["telemetry"] >= 1)
        await eventually(lambda: not gateway.lanes_ready(), interval=0.01)
        broken.clear()
        # The message was never acknowledged: the broker delivers it again to the restarted lane.
        await eventually(lambda: sink.streams() == ["contact"])
        await eventually(gateway.lanes_ready)
    assert gateway.lane_restarts["alarms"] == 0


class SlowAlarmStore(Collector):
    """A sink whose alarm batches take ``store_s`` (an alarm's database round trips), recording which
    streams it began and finished, in order."""

    def __init__(self, store_s: float) -> None:
        super().__init__()
        self.store_s = store_s
        self.trail: list[str] = []

    async def __call__(self, batch: Batch) -> None:
        streams = {event.stream.value for events in batch.values() for event in events}
        kind = "alarm" if "alarm" in streams else "telemetry"
        self.trail.append(f"{kind} begins")
        if kind == "alarm":
            await asyncio.sleep(self.store_s)
        await super().__call__(batch)
        self.trail.append(f"{kind} ends")


async def test_no_telemetry_batch_starts_while_an_alarm_batch_is_being_handled(services: TestServices) -> None:
    namespace = Namespace()
    sink = SlowAlarmStore(store_s=0.3)
    async with running(make(Gateway, namespace), services, sink), mqtt_client(services) as client:

        async def telemetry() -> None:
            for i in range(200):
                await publish(client, f"{namespace.prefix}/door-1/contact", {"open": i % 2 == 0})
                await asyncio.sleep(0.005)

        flowing = asyncio.create_task(telemetry())
        await asyncio.sleep(0.2)
        await publish(client, f"{namespace.prefix}/btn-1/alarm", {"kind": "sos", "seq": 1})
        await flowing
        await eventually(lambda: sink.streams().count("contact") == 200 and "alarm" in sink.streams())
    during = sink.trail[sink.trail.index("alarm begins") + 1 : sink.trail.index("alarm ends")]
    assert "telemetry begins" not in during, sink.trail
    assert sink.trail.index("alarm ends") < len(sink.trail) - 1  # telemetry went on afterwards


class PressStore(Collector):
    """A sink whose every batch takes ``store_s``, recording when each device's batch began and ended."""

    def __init__(self, store_s: float) -> None:
        super().__init__()
        self.store_s = store_s
        self.trail: list[str] = []

    async def __call__(self, batch: Batch) -> None:
        devices = ",".join(sorted(event.device_id for events in batch.values() for event in events))
        self.trail.append(f"{devices} begins")
        await asyncio.sleep(self.store_s)
        await super().__call__(batch)
        self.trail.append(f"{devices} ends")


async def test_the_next_press_goes_on_while_the_last_is_stored_and_one_residents_presses_keep_their_order(
    services: TestServices,
) -> None:
    namespace = Namespace()
    sink = PressStore(store_s=0.3)
    gateway = make(Gateway, namespace)
    gateway.directory = Directory(
        DeviceRecord("btn-1", "res-1", "sos_button"),
        DeviceRecord("btn-2", "res-2", "sos_button"),
        DeviceRecord("pendant-1", "res-1", "pendant"),
    )
    async with running(gateway, services, sink), mqtt_client(services) as client:
        for seq, device in enumerate(("btn-1", "btn-2", "pendant-1")):
            await publish(client, f"{namespace.prefix}/{device}/alarm", {"kind": "sos", "seq": seq})
            await asyncio.sleep(0.05)
        await eventually(lambda: len(sink.events) == 3)
    trail = sink.trail
    assert trail.index("btn-2 begins") < trail.index("btn-1 ends"), trail  # not behind res-1's store
    assert trail.index("pendant-1 begins") > trail.index("btn-1 ends"), trail  # res-1's second press after its first
    assert gateway.counters()["received"] == 3
