"""Simulated homes: a resident with a daily routine, the home's devices, and incidents to inject.

A :class:`~firmware_sim.specs.HomeSpec` is data (the resident, the devices, the routine's seed, in
:mod:`firmware_sim.specs`, re-exported here); a :class:`Home` plays it
in simulated time on the fleet's scheduler: the resident wakes (bed pad clears, bedroom motion),
uses the bathroom and kitchen (cupboard doors), sits (seat pad), goes out and comes back (entrance
door), naps, goes to bed and gets up at night, with day-to-day variation. Devices send heartbeats
(``status``) with a draining battery; a pendant or wristband streams binary accelerometer batches
replaying real recordings while worn (it charges at night); a vital-signs monitor reports every few
minutes. Incidents (:meth:`Home.fall`, :meth:`Home.press_sos`, :meth:`Home.collapse`,
:meth:`Home.not_up`, :meth:`Home.smoke`, :meth:`Home.kill_device`, :meth:`Home.run_down_battery`)
change what the home does from now on.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from firmware_sim.kinds import KINDS, WEARABLES, dumps, worn_at
from firmware_sim.mqtt import MqttClient
from firmware_sim.signals import Acc, FallClip, random_rotation, still
from firmware_sim.specs import DAY_S, DeviceSpec, HomeSpec, Routine, plan_day

from devices.imu import encode_binary

__all__ = ["Device", "DeviceSpec", "Home", "HomeSpec", "Routine", "plan_day"]

if TYPE_CHECKING:
    from firmware_sim.fleet import Fleet

ROOM = {
    "bed": "bedroom",
    "bedroom": "bedroom",
    "bathroom": "bathroom",
    "kitchen": "kitchen",
    "living": "living room",
    "out": "hall",
}
PLACE_OF_ROOM = {"bedroom": "bedroom", "bathroom": "bathroom", "kitchen": "kitchen", "living room": "living"}
RADAR_PERIOD_S = 300.0
"""How often a radar republishes while someone is there (illuminance, motion speed…)."""


@dataclass(slots=True)
class Device:
    """A device's running state."""

    spec: DeviceSpec
    home: Home
    battery: float
    client: MqttClient | None = None
    alive: bool = True
    seq: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    battery_t: float = 0.0
    drain_pct_day: float = 0.0
    rotation: np.ndarray | None = None
    cursor: int = 0
    pending: deque[Acc] = field(default_factory=deque)
    lying: Acc | None = None
    streaming: bool = False
    commands: list[tuple[float, bytes]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def link(self) -> MqttClient | None:
        return self.client if self.spec.link == "own" else self.home.hub_client


class Home:
    """One home played on the fleet's scheduler."""

    def __init__(self, spec: HomeSpec, fleet: Fleet) -> None:
        self.spec = spec
        self.fleet = fleet
        self.rng = random.Random(spec.seed)
        self.nprng = np.random.default_rng(spec.seed)
        self.offset_s = spec.utc_offset_min * 60.0
        self.devices: dict[str, Device] = {}
        self.hub_client: MqttClient | None = None
        now = fleet.clock.time()
        for d in spec.devices:
            kind = KINDS[d.kind]
            battery = 100.0 if kind.drain_pct_day == 0 else self.rng.uniform(45, 100)
            device = Device(d, self, battery, battery_t=now, drain_pct_day=kind.drain_pct_day)
            if d.kind in WEARABLES:
                device.rotation = random_rotation(self.nprng)
                device.cursor = self.rng.randrange(1 << 20)
            self.devices[d.id] = device
        self.place = "bed"
        self.halted = False
        self.stay_in_bed = False
        self.plan: list[tuple[float, str]] = []
        self.plan_index = 0
        self.next_wake = 0.0
        self.segment = 0
        self.log: list[tuple[float, str]] = []

    # -- local time --

    def local(self, t: float) -> float:
        return t + self.offset_s

    def utc(self, local: float) -> float:
        return local - self.offset_s

    def device(self, kind: str, location: str | None = None) -> Device | None:
        spec = self.spec.find(kind, location)
        return self.devices[spec.id] if spec else None

    # -- start --

    def start(self, now: float) -> None:
        """Place the resident where the routine has them now, announce it, and schedule everything."""
        local = self.local(now)
        midnight = math.floor(local / DAY_S) * DAY_S
        routine = self.spec.routine
        wake_today = midnight + routine.wake_min * 60 + self.rng.gauss(0, routine.jitter_min * 60)
        if local < wake_today:  # still last night: yesterday's plan
            yesterday = midnight - DAY_S
            wake_y = yesterday + routine.wake_min * 60
            self.plan, _ = plan_day(routine, self.rng, yesterday, wake_y)
            self.next_wake = wake_today
        else:
            self.plan, self.next_wake = plan_day(routine, self.rng, midnight, wake_today)
        self.plan_index = 0
        while self.plan_index < len(self.plan) and self.plan[self.plan_index][0] <= local:
            self.place = self.plan[self.plan_index][1]
            self.plan_index += 1
        sched = self.fleet.scheduler
        sched.at(now + self.rng.uniform(0.5, 3.0), lambda: self._enter(self.place, self.fleet.clock.time(), "start"))
        self._schedule_next()
        for device in self.devices.values():
            kind = KINDS[device.spec.kind]
            sched.at(now + self.rng.uniform(0, kind.heartbeat_s), self._heartbeat_cb(device))
            if device.spec.kind in WEARABLES:
                device.streaming = self.place != "bed"
                sched.at(now + self.rng.uniform(0, self.fleet.imu_batch_s), self._imu_cb(device))
            if device.spec.kind == "vitals":
                sched.at(now + self.rng.uniform(0, 600), self._vitals_cb(device))
            if device.spec.kind == "radar":
                sched.at(now + self.rng.uniform(1, RADAR_PERIOD_S), self._radar_cb(device))

    def birth(self, client: MqttClient) -> None:
        """On (re)connect of ``client``: each of its devices says it is online (retained)."""
        for device in self.devices.values():
            if device.link is client and device.alive:
                self.fleet.birth(device)

    # -- the routine --

    def _schedule_next(self) -> None:
        if self.plan_index >= len(self.plan):
            midnight = math.floor(self.next_wake / DAY_S) * DAY_S
            self.plan, self.next_wake = plan_day(self.spec.routine, self.rng, midnight, self.next_wake)
            self.plan_index = 0
        local, place = self.plan[self.plan_index]
        self.plan_index += 1
        t = self.utc(local)
        self.fleet.scheduler.at(t, lambda: self._transition(t, place))

    def _transition(self, t: float, place: str) -> None:
        self._schedule_next()
        if self.halted:
            return
        if self.stay_in_bed and self.place == "bed":
            self.halted = True
            return
        if place != self.place:
            self._enter(place, t, self.place)

    def _enter(self, place: str, t: float, previous: str) -> None:
        f = self.fleet
        self.segment += 1
        self.log.append((t, place))
        if len(self.log) > 64:
            del self.log[:32]
        if previous == "bed" and place != "bed":
            self._pad("bed", False, t)
        if previous == "living" and place != "living":
            self._pad("seat", False, t)
        if previous == "out" or place == "out":
            door = self.device("door")
            if door is not None:
                self.sense(door, {"open": True}, t)
                f.scheduler.at(t + self.rng.uniform(3, 10), lambda: self.sense(door, {"open": False}, t + 5))
        self.place = place
        for device in self.devices.values():
            if device.spec.kind in WEARABLES:
                device.streaming = place != "bed" or bool(device.pending)
        radar = self.device("radar")
        if radar is not None and radar.state.get("presence") != self._under(radar):
            self.sense(radar, {"presence": self._under(radar)}, t)
        if place == "out":
            if self.stay_in_bed:
                self.stay_in_bed = False
            return
        self._motion(ROOM[place], t)
        if place == "bed":
            self._pad("bed", True, t + self.rng.uniform(5, 30))
            if self.stay_in_bed:
                self.halted = True
            return
        if place == "living":
            self._pad("seat", True, t + self.rng.uniform(10, 60))
        if place == "kitchen":
            cupboard = self.device("contact")
            if cupboard is not None:
                opened = t + self.rng.uniform(20, 120)
                f.scheduler.at(opened, lambda: self.sense(cupboard, {"open": True}, opened))
                f.scheduler.at(opened + 15, lambda: self.sense(cupboard, {"open": False}, opened + 15))
        segment = self.segment
        gap = (5, 20) if place == "living" else (2, 8)
        self._retrigger(segment, ROOM[place], t + self.rng.uniform(*gap) * 60, gap)

    def _retrigger(self, segment: int, room: str, t: float, gap: tuple[float, float]) -> None:
        def fire() -> None:
            if self.halted or self.segment != segment:
                return
            self._motion(room, t)
            self._retrigger(segment, room, max(t, self.fleet.clock.time()) + self.rng.uniform(*gap) * 60, gap)

        self.fleet.scheduler.at(t, fire)

    def _motion(self, room: str, t: float) -> None:
        pir = self.device("pir", room)
        if pir is None:
            return
        self.sense(pir, {"occupancy": True}, t)
        self.fleet.scheduler.at(t + 90, lambda: self.sense(pir, {"occupancy": False}, t + 90))

    def _pad(self, kind: str, occupied: bool, t: float) -> None:
        pad = self.device(kind)
        if pad is not None:
            self.fleet.scheduler.at(t, lambda: self.sense(pad, {"occupied": occupied}, t))

    # -- what devices publish --

    def sense(self, device: Device, values: dict[str, Any], t: float) -> None:
        """A sensor reading (motion, contact, pad, env) as the device's protocol carries it."""
        if not device.alive:
            return
        device.state.update(values)
        if device.spec.protocol == "z2m":
            self.fleet.z2m_publish(device, t)
            return
        kind = device.spec.kind
        stream = {"pir": "motion", "door": "contact", "contact": "contact", "bed": "bed", "seat": "seat"}.get(
            kind, "env"
        )
        self.fleet.publish(device, stream, dumps({"ts": int(t * 1000), **values}), qos=1 if stream == "env" else 0)

    def _heartbeat_cb(self, device: Device) -> Callable[[], None]:
        period = KINDS[device.spec.kind].heartbeat_s

        def beat() -> None:
            if not device.alive:
                return
            now = self.fleet.clock.time()
            self._drain(device, now)
            if device.battery <= 0.5:
                self.fleet.die(device)
                return
            self.fleet.heartbeat(device, now)
            self.fleet.scheduler.at(now + period * self.rng.uniform(0.9, 1.1), beat)

        return beat

    def _drain(self, device: Device, now: float) -> None:
        elapsed_days = max(0.0, now - device.battery_t) / DAY_S
        device.battery_t = now
        if device.spec.kind in WEARABLES and self.place == "bed" and not device.pending:
            device.battery = min(100.0, device.battery + elapsed_days * 24 * 40)  # on the charger
        else:
            device.battery = max(0.0, device.battery - elapsed_days * device.drain_pct_day)

    def _under(self, radar: Device) -> bool:
        """Whether the resident is in the radar's room."""
        return self.place != "out" and ROOM.get(self.place) == radar.spec.location

    def _radar_cb(self, device: Device) -> Callable[[], None]:
        def update() -> None:
            if not device.alive:
                return
            now = self.fleet.clock.time()
            if self._under(device):  # an attribute update: the radar republishes its whole state
                still = self.halted
                self.sense(device, {"presence": True, "motion_speed": 0 if still else self.rng.randint(1, 5)}, now)
                device.state["illuminance"] = self.rng.randint(40, 200)
            self.fleet.scheduler.at(now + RADAR_PERIOD_S * self.rng.uniform(0.8, 1.2), update)

        return update

    def _vitals_cb(self, device: Device) -> Callable[[], None]:
        base_hr = self.rng.uniform(62, 80)

        def measure() -> None:
            if not device.alive:
                return
            now = self.fleet.clock.time()
            if self.place != "out":
                body = {
                    "ts": int(now * 1000),
                    "hr": round(base_hr + self.rng.gauss(0, 3)),
                    "spo2": self.rng.choice((96, 97, 97, 98, 98, 99)),
                    "rr": round(self.rng.uniform(13, 18)),
                    "temp": round(self.rng.uniform(36.3, 36.9), 1),
                }
                self.fleet.publish(device, "vitals", dumps(body), qos=0)
            self.fleet.scheduler.at(now + 600 * self.rng.uniform(0.95, 1.05), measure)

        return measure

    def _imu_cb(self, device: Device) -> Callable[[], None]:
        hz = device.spec.imu_hz or 25.0
        batch = self.fleet.imu_batch_s
        n = max(1, round(hz * batch))
        state = {"t": 0.0}

        def tick() -> None:
            now = self.fleet.clock.time()
            t_end = state["t"] + batch if state["t"] else now
            if now - t_end > 5.0 or t_end > now + batch:  # a time jump: resume at now, no catch-up
                t_end = now
            state["t"] = t_end
            fast = self.fleet.clock.speed > self.fleet.imu_max_speed
            if device.alive and device.streaming and (not fast or device.pending):
                acc = self._samples(device, n, hz)
                assert device.rotation is not None
                payload = encode_binary(int((t_end - n / hz) * 1000), hz, acc @ device.rotation.T)
                self.fleet.publish(device, "imu", payload, qos=0)
            self.fleet.scheduler.at(t_end + batch, tick)

        return tick

    def _samples(self, device: Device, n: int, hz: float) -> Acc:
        parts: list[Acc] = []
        need = n
        while need and device.pending:
            head = device.pending[0]
            take = head[:need]
            parts.append(take)
            need -= take.shape[0]
            if take.shape[0] == head.shape[0]:
                device.pending.popleft()
            else:
                device.pending[0] = head[take.shape[0] :]
        if need:
            if device.lying is not None:
                parts.append(still(device.lying, need, self.nprng))
            else:
                loop = self.fleet.library.worn_at(worn_at(device.spec.kind)).daily(hz)
                start = device.cursor % loop.shape[0]
                idx = (start + np.arange(need)) % loop.shape[0]
                parts.append(loop[idx])
                device.cursor = start + need
        if not device.pending and device.lying is None and self.place == "bed":
            device.streaming = False
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    # -- incidents --

    def press_sos(self, press: str = "single") -> Device:
        """The call button: one press (single, double or hold)."""
        button = self.device("sos_button")
        if button is None:
            raise LookupError(f"home {self.spec.id} has no SOS button")
        self.fleet.alarm(button, press, self.fleet.clock.time())
        return button

    def fall(self, clip: FallClip) -> Device:
        """The wearer falls (a real fall recording streamed by the pendant) and stays down."""
        wearable = next((d for d in self.devices.values() if d.spec.kind in WEARABLES), None)
        if wearable is None:
            raise LookupError(f"home {self.spec.id} has no pendant or wristband")
        wearable.pending.clear()
        wearable.pending.append(clip.acc)
        wearable.lying = clip.acc
        wearable.streaming = True
        self.halted = True
        return wearable

    def radar_fall(self) -> Device:
        """The resident falls in the fall radar's room (going there first) and stays down."""
        radar = self.device("radar")
        if radar is None:
            raise LookupError(f"home {self.spec.id} has no fall radar")
        now = self.fleet.clock.time()
        place = PLACE_OF_ROOM[radar.spec.location]
        if self.place != place:
            self._enter(place, now, self.place)
        self.halted = True
        self.fleet.scheduler.at(now + 5, lambda: self.sense(radar, {"fall_down_status": "fall"}, now + 5))
        return radar

    def collapse(self, under_radar: bool = False) -> None:
        """The resident collapses on the floor and nothing moves again (silence).

        Someone who is out comes home first (a collapse outside is not the home's to see); someone
        sitting gets up first (the seat pad clears). ``under_radar``: in the presence radar's room,
        which goes on reporting someone there."""
        now = self.fleet.clock.time()
        radar = self.device("radar")
        if under_radar and radar is not None and self.place != PLACE_OF_ROOM[radar.spec.location]:
            self._enter(PLACE_OF_ROOM[radar.spec.location], now, self.place)
        if self.place == "out":
            self._enter("living", now, "out")
        if self.place == "living":  # gets up from the chair, then goes down on the floor
            self._pad("seat", False, now + 30)
            self._motion(ROOM["living"], now + 35)
        self.halted = True
        for device in self.devices.values():
            if device.spec.kind in WEARABLES and device.streaming:
                library = self.fleet.library.worn_at(worn_at(device.spec.kind))
                device.lying = library.daily(device.spec.imu_hz or 25.0)[-20:]

    def not_up(self) -> None:
        """The resident does not get up: stays in bed from the next time they are in it."""
        self.stay_in_bed = True
        if self.place == "bed":
            self.halted = True

    def resume(self) -> None:
        self.halted = False
        self.stay_in_bed = False
        for device in self.devices.values():
            device.lying = None

    def smoke(self, channel: str = "smoke") -> Device:
        kind = {"smoke": "smoke", "gas": "gas", "water_leak": "water"}[channel]
        sensor = self.device(kind)
        if sensor is None:
            raise LookupError(f"home {self.spec.id} has no {kind} sensor")
        self.sense(sensor, {channel: True}, self.fleet.clock.time())
        return sensor

    async def kill_device(self, kind: str) -> Device:
        """A device dies (power lost): its connection drops without goodbye, or it just goes quiet."""
        device = self.device(kind)
        if device is None:
            raise LookupError(f"home {self.spec.id} has no {kind}")
        await self.fleet.kill(device)
        return device

    def run_down_battery(self, kind: str, to_pct: float = 15.0) -> Device:
        """The battery runs down to ``to_pct`` and the next heartbeat (sent now) says so."""
        device = self.device(kind)
        if device is None:
            raise LookupError(f"home {self.spec.id} has no {kind}")
        now = self.fleet.clock.time()
        device.battery, device.battery_t = to_pct, now
        self.fleet.heartbeat(device, now)
        return device
