"""The gateway: MQTT messages in, validated and resolved events out, in batches keyed by resident.

It knows devices and payloads, not alerts. What it cannot accept is counted by reason and logged
with the topic and a truncated payload; nothing raises into the receive loop. QoS 1 messages are
acknowledged to the broker only after the batch they belong to has been handled by the sink, so a
crash before that means the broker delivers them again (duplicates dropped by ``seq``: :mod:`gateway.presses`).

The message boundary: any exception while handling one message makes it an ``internal_error``
reject, kept with its bytes as a dead letter and acknowledged. A sink that fails is retried with
back-off (the lane reports itself unhealthy meanwhile): ``sink_attempts`` times on the telemetry
lane, ``alarm_sink_attempts`` (some 30 s) on the alarm lane. A batch still refused is then handed
over one message at a time, so one message the stream core cannot take (a bug, not an outage: the
alert store spools through database outages) never holds the others back; only the messages
refused on their own become dead letters (on the alarm lane with a CRITICAL log line and a counter).
A lane that stops anyway is restarted by :meth:`Gateway.run`'s supervisor.

Decoding and the lanes stay one class (about 500 lines, the decoders themselves in :mod:`devices`): what a
lane acknowledges, sheds and dead-letters is what decoding counted, message by message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import aiomqtt

from devices import protocol, zigbee2mqtt
from devices.errors import PayloadError, Reject
from devices.events import Event, ImuBlock, Stream
from gateway import metrics
from gateway.deadletter import DeadLetter, DeadLetterBuffer
from gateway.inbox import Inbox, Received
from gateway.inflight import InFlight, ResidentTurns
from gateway.lanes import Lane, kept_under_load, lanes
from gateway.mqtt import BrokerAddress, ack_all, platform_client_id, session
from gateway.presses import SeenPresses
from gateway.rejects import RejectLog, clears_retained, device_of, stream_label
from registry.store import DeviceRecord

log = logging.getLogger("eldercare.gateway")

Batch = dict[str, list[Event]]
Sink = Callable[[Batch], Awaitable[None]]


class DeviceDirectory(Protocol):
    def device(self, device_id: str) -> DeviceRecord | None: ...

    def zigbee_device(self, name_or_ieee: str) -> DeviceRecord | None: ...


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    topic_prefix: str = protocol.TOPIC_PREFIX
    zigbee2mqtt_base: str = "zigbee2mqtt"
    client_id: str = "eldercare-gateway"
    max_payload_bytes: int = 256 * 1024
    batch_max_events: int = 1024
    batch_linger_ms: float = 2.0
    dedup_capacity: int = 100_000
    reconnect_max_s: float = 10.0
    shed_depth: int = 20_000
    """Above this many messages waiting, telemetry is shed (counted) so alarms keep moving."""
    clock_skew_limit_ms: int = 5 * 60 * 1000
    """A device clock further off than this is flagged and its events are placed at arrival time."""
    sink_attempts: int = 5
    """Tries of a telemetry batch the sink keeps failing before it is handed over message by message."""
    alarm_sink_attempts: int = 8
    """The same on the alarm lane, whose back-off doubles from 0.2 s to ``reconnect_max_s``: about 30 s."""
    dead_letter_buffer: int = 10_000
    shutdown_grace_s: float = 5.0
    """At shutdown, how long alarm batches in flight may take to finish before they are cut off: a batch
    has already consumed its messages (a Zigbee2MQTT state cached, saved at shutdown with the stream
    state), so the broker's copy after a restart might raise nothing."""


class Gateway:
    def __init__(
        self,
        directory: DeviceDirectory,
        config: GatewayConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.config = config or GatewayConfig()
        self.clock = clock
        self.received = 0
        """Messages handled (each is then either accepted or rejected with one reason)."""
        self.messages_accepted = 0
        self.events_produced = 0
        """Events from accepted messages: one Zigbee2MQTT state can yield several, a republish none."""
        self._accepted = metrics.AcceptedTally()
        self.rejected: Counter[str] = Counter()
        self.sink_failures: Counter[str] = Counter()
        self.sink_dead_lettered = 0
        self.lane_restarts: Counter[str] = Counter()
        self.dead_letters = DeadLetterBuffer(self.config.dead_letter_buffer)
        self._lanes_failing: set[str] = set()
        self.shed = 0
        self.first_message_at: float | None = None
        """When (epoch s) the first batch since start began to be handled."""
        self.last_message_at: float | None = None
        """When (epoch s) the last batch was handled: an operator's "is anything coming in?"."""
        self.clock_skewed = 0
        self.retained_cleared = 0
        """Retained messages deleted (:func:`~gateway.rejects.clears_retained`): no reading, no error."""
        self.queue_depth = 0
        self.queue_depth_most = 0
        """The most messages seen waiting on a lane since start."""
        self.batches: Counter[str] = Counter()
        """Batches handled per lane (messages ÷ batches: how much each sink call carries)."""
        self.connected = asyncio.Event()
        self._presses = SeenPresses(self.config.dedup_capacity)
        self.zigbee_state = zigbee2mqtt.Zigbee2MqttState()
        """Zigbee2MQTT edge memory; the runtime saves and restores it with the stream snapshot."""
        self._reject_log = RejectLog()
        self._client: aiomqtt.Client | None = None
        self._z2m = self.config.zigbee2mqtt_base.rstrip("/") + "/"
        self.alarm_lane, self.telemetry_lane = lanes(
            self.config.client_id, self.config.topic_prefix.rstrip("/"), self._z2m
        )
        self.lanes_connected: dict[str, bool] = {}
        self._queue_depths: dict[str, int] = {}
        self._alarms_idle = asyncio.Event()
        """Clear while the alarm lane handles a batch: the telemetry lane starts none meanwhile, so an
        alarm's database round trips never queue behind telemetry batches on the event loop (during a
        backlog, each is tens of ms; an alarm's store takes several round trips)."""
        self._alarm_batches = InFlight(self.alarm_lane.batches_in_flight, on_idle=self._alarms_idle.set)
        self._alarm_turns = ResidentTurns()
        """The alarm lane's batches in flight and their residents' turns, kept across its sessions: a
        batch whose session ends goes on to store its alarms (only its acknowledgement is lost, and the
        broker's copy is then a duplicate). Cancelled, it could lose what it had already consumed: a
        smoke episode opened, a Zigbee2MQTT state cached, and the copy would raise nothing."""
        self._alarms_idle.set()

    def counters(self) -> dict[str, Any]:
        self._accepted.publish()
        return {
            "received": self.received,
            "messages_accepted": self.messages_accepted,
            "events_produced": self.events_produced,
            "rejected": dict(self.rejected),
            "zigbee_field_rejects": dict(self.zigbee_state.field_rejects),
            "shed": self.shed,
            "first_message_at": self.first_message_at,
            "last_message_at": self.last_message_at,
            "clock_skewed": self.clock_skewed,
            "retained_cleared": self.retained_cleared,
            "queue_depth": self.queue_depth,
            "queue_depth_most": self.queue_depth_most,
            "batches": dict(self.batches),
            "lanes": dict(self.lanes_connected),
            "lanes_failing": sorted(self._lanes_failing),
            "lane_restarts": dict(self.lane_restarts),
            "sink_failures": dict(self.sink_failures),
            "sink_dead_lettered": self.sink_dead_lettered,
            "dead_letters": {
                "total": self.dead_letters.total,
                "waiting": len(self.dead_letters),
                "dropped": self.dead_letters.dropped,
            },
        }

    def lanes_ready(self) -> bool:
        """Every lane connected and its sink taking batches."""
        lanes = (self.alarm_lane.name, self.telemetry_lane.name)
        return all(self.lanes_connected.get(name, False) for name in lanes) and not self._lanes_failing

    # -- decoding (pure apart from the duplicate memory and Zigbee2MQTT edge state) --

    def accept(
        self, topic: str, payload: bytes, received_ms: int | None = None, lane: str = "", *, retained: bool = False
    ) -> list[Event]:
        """Events from one message (``retained``: the broker's stored copy); one that cannot be accepted is
        counted and logged.

        Never raises: an unexpected exception is an ``internal_error`` reject and a dead letter.
        """
        self.received += 1
        if not payload and clears_retained(topic, self._z2m):
            self.retained_cleared += 1
            return []
        try:
            at_ms = self._now_ms() if received_ms is None else received_ms
            events = self.translate(topic, payload, at_ms, retained=retained)
        except PayloadError as error:
            self._count_reject(error.reason, error.message, topic, payload)
            return []
        except Exception as error:
            text = f"{type(error).__name__}: {error}"[:1000]
            self._count_reject(Reject.INTERNAL_ERROR, text, topic, payload, exc_info=True)
            self._dead_letter(lane, topic, payload, Reject.INTERNAL_ERROR.value, text)
            return []
        self.messages_accepted += 1
        self.events_produced += len(events)
        self._accepted.messages[stream_label(topic)] += 1
        for event in events:
            self._accepted.events[event.stream] += 1
        return events

    def _count_reject(self, reason: Reject, message: str, topic: str, payload: bytes, exc_info: bool = False) -> None:
        self.rejected[reason.value] += 1
        metrics.message_counter(stream_label(topic), reason.value).inc()
        self._reject_log(reason, message, topic, payload, exc_info)  # with the traceback, rate-limited

    def _dead_letter(self, lane: str, topic: str, payload: bytes, reason: str, error: str) -> None:
        self.dead_letters.put(
            DeadLetter(
                received_at=datetime.fromtimestamp(self.clock(), UTC),
                lane=lane,
                topic=topic[:1000],
                device_id=device_of(topic, self.config.topic_prefix, self._z2m),
                reason=reason,
                error=error,
                payload=payload[: self.config.max_payload_bytes],
            )
        )
        metrics.DEAD_LETTERS.inc()

    def translate(self, topic: str, payload: bytes, received_ms: int, *, retained: bool = False) -> list[Event]:
        if len(payload) > self.config.max_payload_bytes:
            raise PayloadError(
                Reject.OVERSIZED, f"{len(payload)} bytes exceeds the {self.config.max_payload_bytes}-byte limit"
            )
        if topic.startswith(self._z2m):
            return self._translate_zigbee(topic, payload, received_ms, retained)
        if topic.endswith("/cmd"):
            return []  # our own downlink, seen through the wildcard subscription
        device_id, stream = protocol.parse_topic(topic, self.config.topic_prefix)
        device = self._resolve(self.directory.device(device_id), device_id)
        decoded = protocol.decode(stream, payload)
        if decoded.seq is not None and stream is Stream.ALARM and self._presses.repeat(device_id, decoded.seq):
            raise PayloadError(Reject.DUPLICATE, f"{device_id} seq {decoded.seq} already received")
        return [self._event(device, decoded, received_ms, retained)]

    def _translate_zigbee(self, topic: str, payload: bytes, received_ms: int, retained: bool) -> list[Event]:
        rest = topic[len(self._z2m) :]
        name, _, suffix = rest.partition("/")
        if name in zigbee2mqtt.IGNORED_NAMES:
            if suffix == "state":
                zigbee2mqtt.decode_bridge_state(payload, self.zigbee_state, received_ms)
            return []
        device = self._resolve(self.directory.zigbee_device(name), name)
        if suffix == "availability":
            return [self._event(device, zigbee2mqtt.decode_availability(payload), received_ms, retained)]
        if suffix:
            raise PayloadError(Reject.BAD_TOPIC, f"Zigbee2MQTT topic {topic[:120]!r} is not a device state")
        decoded = zigbee2mqtt.decode_state(device.id, device.type, payload, self.zigbee_state, now_ms=received_ms)
        return [self._event(device, item, received_ms, retained) for item in decoded]

    def _resolve(self, device: DeviceRecord | None, name: str) -> DeviceRecord:
        if device is None:
            raise PayloadError(Reject.UNKNOWN_DEVICE, f"device {name[:80]!r} is not in the registry")
        if not device.resident_id:
            raise PayloadError(Reject.UNKNOWN_DEVICE, f"device {name[:80]!r} is not bound to a resident")
        return device

    def _event(self, device: DeviceRecord, decoded: protocol.Decoded, received_ms: int, retained: bool) -> Event:
        ts_ms = decoded.ts_ms if decoded.ts_ms is not None else received_ms
        values = decoded.values
        imu = decoded.imu
        skew = ts_ms - received_ms
        if retained:
            # the broker's stored copy, sent again on subscribing (a restart, a reconnect): no news from the
            # device; dated in the past, as such a copy is, it happened then, and is not placed at arrival
            values["retained"] = True
        if abs(skew) > self.config.clock_skew_limit_ms and not (retained and skew < 0):
            # Kept, flagged, and placed at arrival time so it sorts where it really happened.
            self.clock_skewed += 1
            self._accepted.clock_skewed += 1
            values["clock_skew_ms"] = skew  # the decoder's own dict, made for this message
            ts_ms = received_ms
            if imu is not None:
                imu = ImuBlock(t_ms=imu.t_ms - skew, acc=imu.acc)
        return Event(
            device_id=device.id,
            resident_id=device.resident_id or "",
            stream=decoded.stream,
            ts_ms=ts_ms,
            received_ms=received_ms,
            values=values,
            seq=decoded.seq,
            device_type=device.type,
            location=device.location,
            imu=imu,
        )

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- the MQTT loop --

    async def run(self, address: BrokerAddress, sink: Sink) -> None:
        """Receive forever on both lanes, reconnecting with back-off; batches go to ``sink``, then are acked."""
        try:
            await asyncio.gather(
                self._supervise(self.alarm_lane, address, sink), self._supervise(self.telemetry_lane, address, sink)
            )
        finally:
            # shutting down: let the batches in flight finish; what is cut off, the broker sends again
            await self._alarm_batches.stop(self.config.shutdown_grace_s)

    async def _supervise(self, lane: Lane, address: BrokerAddress, sink: Sink) -> None:
        """Restart a lane that stopped with any exception, with back-off (it is not ready meanwhile)."""
        delay = 0.2
        while True:
            started = time.monotonic()
            try:
                await self._run_lane(lane, address, sink)
            except Exception:
                self.lane_restarts[lane.name] += 1
                metrics.LANE_RESTARTS.labels(lane.name).inc()
                log.exception("gateway lane stopped; restarting", extra={"lane": lane.name, "retry_s": delay})
            if time.monotonic() - started > 60:
                delay = 0.2
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.reconnect_max_s)

    async def _run_lane(self, lane: Lane, address: BrokerAddress, sink: Sink) -> None:
        delay = 0.2
        while True:
            try:
                login = address.for_session(lane.user_suffix)
                client_id = platform_client_id(lane.client_id, address)
                inbox = Inbox()
                async with session(login, client_id, persistent=True, manual_ack=True, inbox=inbox) as client:
                    for topic, qos in lane.subscriptions:
                        await client.subscribe(topic, qos=qos)
                    self.lanes_connected[lane.name] = True
                    if lane is self.alarm_lane:
                        self._client = client
                        self.connected.set()
                    log.info("gateway connected", extra={"lane": lane.name, "broker": f"{address.host}:{address.port}"})
                    delay = 0.2
                    in_flight = self._alarm_batches if lane is self.alarm_lane else None
                    await self._receive_batches(lane, client, inbox, sink, in_flight)
            except aiomqtt.MqttError as error:
                log.warning("broker connection lost", extra={"lane": lane.name, "error": str(error), "retry_s": delay})
            finally:
                self.lanes_connected[lane.name] = False
                if lane is self.alarm_lane:
                    self._client = None
                    self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.reconnect_max_s)

    async def _receive_batches(
        self, lane: Lane, client: aiomqtt.Client, inbox: Inbox, sink: Sink, in_flight: InFlight | None
    ) -> None:
        """Batches of what has arrived until the connection drops: with ``in_flight`` (the alarm lane) up
        to ``batches_in_flight`` side by side (one resident's in order), else one after the other."""
        limit = self.config.batch_max_events
        linger_s = self.config.batch_linger_ms / 1000.0 if lane.lingers else 0.0
        turns = self._alarm_turns if in_flight is not None else None
        while True:
            messages = inbox.take(limit)
            if not messages:
                messages = [await inbox.next(client)]  # raises the MqttError that ended the session
                messages += inbox.take(limit - 1)
            if len(messages) < limit and linger_s > 0:
                await asyncio.sleep(linger_s)
                messages += inbox.take(limit - len(messages))
            waiting = inbox.qsize()
            self.batches[lane.name] += 1
            self.queue_depth_most = max(self.queue_depth_most, waiting)
            self._queue_depths[lane.name] = waiting
            self.queue_depth = sum(self._queue_depths.values())
            metrics.QUEUE_DEPTH.set(self.queue_depth)
            shedding = lane.sheds and waiting > self.config.shed_depth
            metrics.SHEDDING.set(1 if shedding else 0)
            if in_flight is not None:
                self._alarms_idle.clear()  # set again when the last batch in flight ends
                await in_flight.start(self._handle(client, messages, sink, shedding, lane.skip, lane, turns))
            else:
                await self._alarms_idle.wait()
                await self._handle(client, messages, sink, shedding, lane.skip, lane)
            if waiting:
                await asyncio.sleep(0)  # the other lane, the database's answers: a backlog holds no one up

    async def _handle(
        self,
        client: aiomqtt.Client,
        messages: list[Received],
        sink: Sink,
        shedding: bool = False,
        skip: frozenset[str] = frozenset(),
        lane: Lane | None = None,
        turns: ResidentTurns | None = None,
    ) -> None:
        lane = lane or self.alarm_lane
        batch: Batch = {}
        kept: list[tuple[str, bytes, list[Event]]] = []
        received_ms = self._now_ms()
        if self.first_message_at is None:
            self.first_message_at = received_ms / 1000.0
        for message in messages:
            topic = message.topic
            last = topic.rsplit("/", 1)[-1]
            if (last == "cmd" or last in skip) and not topic.startswith(self._z2m):
                continue  # our own downlink, or a message the alarm lane has (a Zigbee2MQTT name may be "cmd")
            if shedding and not kept_under_load(topic, self._z2m):
                self.shed += 1
                metrics.message_counter(stream_label(topic), "shed").inc()
                continue
            payload = message.payload
            events = self.accept(topic, payload, received_ms, lane.name, retained=message.retain)
            for event in events:
                batch.setdefault(event.resident_id, []).append(event)
            if events:
                kept.append((topic, payload, events))
        try:
            if batch and turns is not None:
                mine, before = turns.take(batch)
                try:
                    if before:
                        await asyncio.wait(before)  # the same residents' earlier batches first
                    await self._deliver(lane, batch, kept, sink)
                finally:
                    turns.done(batch, mine)
            elif batch:
                await self._deliver(lane, batch, kept, sink)
        except BaseException:
            # Cut off before the sink took it (the session ended, the lane stopped): the broker sends
            # these messages again, and their presses must then count as new, not as duplicates.
            self._presses.forget(event for _, _, events in kept for event in events)
            raise
        ack_all(client, messages)
        self._accepted.publish()
        self.last_message_at = self.clock()

    async def _deliver(self, lane: Lane, batch: Batch, kept: list[tuple[str, bytes, list[Event]]], sink: Sink) -> None:
        """Hand ``batch`` to the sink, retrying with back-off while it fails (counted; lane not ready);
        a batch still refused goes message by message, and only what is refused alone is dead-lettered."""
        attempts = self.config.alarm_sink_attempts if lane.holds_on_sink_failure else self.config.sink_attempts
        try:
            error = await self._try_sink(lane, batch, sink, attempts)
            if error is None:
                return
            if len(kept) > 1:
                log.error(
                    "batch refused; handing it over one message at a time",
                    extra={"lane": lane.name, "messages": len(kept)},
                )
            for topic, payload, events in kept if len(kept) > 1 else []:
                one: Batch = {}
                for event in events:
                    one.setdefault(event.resident_id, []).append(event)
                error = await self._try_sink(lane, one, sink, 2)
                if error is not None:
                    self._refused(lane, topic, payload, events, error)
            if len(kept) == 1:
                self._refused(lane, *kept[0], error)
        finally:
            self._lanes_failing.discard(lane.name)

    async def _try_sink(self, lane: Lane, batch: Batch, sink: Sink, attempts: int) -> BaseException | None:
        """``sink(batch)`` up to ``attempts`` times with back-off; the last error, or None once taken."""
        delay = 0.2
        for attempt in range(1, attempts + 1):
            try:
                await sink(batch)
                return None
            except Exception as error:
                self.sink_failures[lane.name] += 1
                metrics.SINK_FAILURES.labels(lane.name).inc()
                self._lanes_failing.add(lane.name)
                self._alarms_idle.set()  # a sink backing off holds the telemetry lane up no longer
                if attempt == attempts:
                    return error
                log.log(
                    logging.CRITICAL if lane.holds_on_sink_failure else logging.ERROR,
                    "sink failed; retrying the batch",
                    exc_info=True,
                    extra={"lane": lane.name, "attempt": attempt, "retry_s": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_s)
        return None

    def _refused(
        self, lane: Lane, topic: str, payload: bytes, events: list[Event], error: BaseException | None
    ) -> None:
        """A message the sink refuses on its own: a dead letter (an operator can inspect and replay it).
        Its presses are unmarked: the device's retry of one is a new chance, not a duplicate."""
        self._presses.forget(events)
        text = f"sink failed: {type(error).__name__}: {error}"[:1000]
        log.log(
            logging.CRITICAL if lane.holds_on_sink_failure else logging.ERROR,
            "message refused by the stream core; dead-lettered",
            exc_info=error,
            extra={"lane": lane.name, "topic": topic[:200]},
        )
        self._dead_letter(lane.name, topic, payload, Reject.INTERNAL_ERROR.value, text)
        self.sink_dead_lettered += 1

    async def send_command(self, device_id: str, command: dict[str, Any]) -> None:
        """Downlink ``eldercare/v1/<device_id>/cmd`` (QoS 1)."""
        client = self._client
        if client is None:
            raise ConnectionError("gateway is not connected to the broker")
        topic = f"{self.config.topic_prefix.rstrip('/')}/{device_id}/cmd"
        await client.publish(topic, json.dumps(command, separators=(",", ":")), qos=1)
