"""Many simulated homes in one process: their MQTT links, one scheduler, and registry seeding.

Connections are what real homes have: a home hub (one MQTT connection, client id ``hub-<home>``,
last will on its own ``status`` topic) publishes for the home's sensors, each sensor still on its own
topic (``eldercare/v1/<device>/<stream>``, or ``zigbee2mqtt/<friendly_name>`` for Zigbee devices);
devices with ``link="own"`` (a 4G call button, a pendant) have their own connection, client id
``dev-<device>``, credentials and last will. :func:`make_homes` builds a city's worth of homes
deterministically from a seed; :func:`seed_registry` enters them in the platform's registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from firmware_sim.clock import Scheduler, SimClock
from firmware_sim.home import Device, DeviceSpec, Home, HomeSpec, Routine
from firmware_sim.kinds import dumps, z2m_state
from firmware_sim.mqtt import LinkStats, MqttClient, Will
from firmware_sim.signals import SignalLibrary

from devices.protocol import TOPIC_PREFIX

if TYPE_CHECKING:
    from registry.store import Registry

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ("秀英", "桂兰", "建国", "淑珍", "玉兰", "志强", "凤英", "国华", "秀兰", "文华", "德胜", "素芳")
STREETS = ("经八路", "黄河路", "文化路", "纬五路", "农业路", "花园路", "金水路", "东风路")

CITY = ("410100", "郑州市 Zhengzhou", "city", None)
DISTRICT = ("410105", "金水区 Jinshui District", "district", "410100")
STREET = ("410105001", "经八路街道 Jingbalu Street", "street", "410105")
HOMES_PER_COMMUNITY = 500


@dataclass(frozen=True, slots=True)
class HomeMix:
    """What a generated home has. Shares are fractions of homes; ``link`` is how devices connect:
    ``hub`` (one connection per home; the call button and wearable too), ``mixed`` (the call
    button and wearable on their own connections, sensors through the hub) or ``own`` (every device
    on its own connection)."""

    wearable_share: float = 0.5
    zigbee_share: float = 0.3
    vitals_share: float = 0.3
    gas_share: float = 0.5
    water_share: float = 0.5
    radar_share: float = 0.0
    """Homes with a Zigbee fall and presence radar (MIR-HE200-TY) in the living room."""
    imu_hz: tuple[float, ...] = (25.0, 50.0, 100.0)
    link: str = "hub"


def make_homes(n: int, seed: int = 0, mix: HomeMix | None = None, id_prefix: str = "") -> list[HomeSpec]:
    """``n`` homes, the same for the same seed: ``<prefix>h000001`` with resident ``<prefix>r000001``."""
    mix = mix or HomeMix()
    homes: list[HomeSpec] = []
    for i in range(1, n + 1):
        rng = random.Random(seed * 1_000_003 + i)
        hid = f"{id_prefix}h{i:06d}"
        zigbee = rng.random() < mix.zigbee_share
        sensor_link = "own" if mix.link == "own" else "hub"
        personal_link = "hub" if mix.link == "hub" else "own"

        def dev(
            kind: str, location: str, *, link: str = sensor_link, protocol: str = "v1", hz: float = 0.0, hid: str = hid
        ) -> DeviceSpec:
            suffix = kind if kind not in {"pir"} else f"pir-{location.split()[0]}"
            return DeviceSpec(f"{hid}-{suffix}", kind, location, link, protocol, hz)

        z = "z2m" if zigbee else "v1"
        devices = [
            dev("hub", "hall", link="own"),
            dev("sos_button", "living room", link=personal_link, protocol=z),
            dev("pir", "bedroom", protocol=z),
            dev("pir", "bathroom", protocol=z),
            dev("pir", "kitchen", protocol=z),
            dev("pir", "living room", protocol=z),
            dev("door", "hall", protocol=z),
            dev("contact", "kitchen", protocol=z),
            dev("bed", "bedroom"),
            dev("seat", "living room"),
            dev("smoke", "kitchen", protocol=z),
        ]
        if rng.random() < mix.gas_share:
            devices.append(dev("gas", "kitchen", protocol=z))
        if rng.random() < mix.water_share:
            devices.append(dev("water", "bathroom", protocol=z))
        if rng.random() < mix.vitals_share:
            devices.append(dev("vitals", "bedroom"))
        if rng.random() < mix.wearable_share:
            kind = rng.choice(("pendant", "wristband"))
            devices.append(dev(kind, "worn", link=personal_link, hz=rng.choice(mix.imu_hz)))
        if mix.radar_share and rng.random() < mix.radar_share:  # no draw without radars: same homes as before
            devices.append(dev("radar", "living room", protocol="z2m"))
        community = f"{STREET[0]}{(i - 1) // HOMES_PER_COMMUNITY + 1:03d}"
        homes.append(
            HomeSpec(
                id=hid,
                resident_id=f"{id_prefix}r{i:06d}",
                resident_name=f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)} (sim {i})",
                address=f"金水区{rng.choice(STREETS)}{rng.randint(1, 120)}号院{rng.randint(1, 12)}号楼"
                f"{rng.randint(1, 4)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}",
                devices=tuple(devices),
                routine=Routine.random(rng),
                org_node=community,
                seed=seed * 1_000_003 + i,
            )
        )
    return homes


def told_time(minutes: float) -> str:
    """A simulated resident's usual time as enrolment records it: ``HH:MM``, to the half hour."""
    from registry.models import time_of_day

    return time_of_day(int(round(minutes / 30.0) * 30))


async def seed_registry(registry: Registry, homes: Sequence[HomeSpec], concurrency: int = 8) -> int:
    """Enter the homes' org nodes, residents (with their usual wake-up and bed time, :func:`told_time`) and
    devices in the registry (idempotent); returns devices."""
    from registry.store import DeviceRecord, ResidentRecord

    for code, name, level, parent in (CITY, DISTRICT, STREET):
        await registry.add_org_node(code, name, level, parent)
    for community in sorted({h.org_node for h in homes if h.org_node}):
        await registry.add_org_node(community, f"模拟社区 Sim community {community[-3:]}", "community", STREET[0])
    gate = asyncio.Semaphore(concurrency)

    async def one(home: HomeSpec) -> int:
        async with gate:
            birth = date(1930 + home.seed % 25, home.seed % 12 + 1, home.seed % 28 + 1)
            await registry.add_resident(
                ResidentRecord(
                    home.resident_id,
                    home.resident_name,
                    home.address,
                    "12349",
                    birth,
                    home.org_node,
                    usual_wake=told_time(home.routine.wake_min),
                    usual_bed=told_time(home.routine.bed_min),
                )
            )
            for d in home.devices:
                await registry.add_device(
                    DeviceRecord(
                        d.id,
                        home.resident_id,
                        d.registry_type,
                        model=d.model,
                        location=d.location,
                        power="mains" if d.kind in {"hub", "gas", "vitals"} else "battery",
                        z2m_name=d.id if d.protocol == "z2m" else None,
                    )
                )
            return len(home.devices)

    counts = await asyncio.gather(*(one(h) for h in homes))
    return sum(counts)


class Fleet:
    """Plays ``homes`` against a broker until closed. ``clock``: simulated time (default: real time)."""

    def __init__(
        self,
        homes: Sequence[HomeSpec],
        host: str,
        port: int,
        *,
        prefix: str = TOPIC_PREFIX,
        z2m_base: str = "zigbee2mqtt",
        clock: SimClock | None = None,
        imu_batch_s: float = 1.0,
        retain_status: bool = True,
        library: SignalLibrary | None = None,
        keepalive: int = 60,
        imu_max_speed: float = 4.0,
        credentials: tuple[str | None, str | None] = (None, None),
    ) -> None:
        self.host, self.port = host, port
        self.prefix = prefix.rstrip("/")
        self.z2m_base = z2m_base.rstrip("/")
        self.clock = clock or SimClock()
        self.scheduler = Scheduler(self.clock)
        self.imu_batch_s = imu_batch_s
        self.retain_status = retain_status
        self.library = library or SignalLibrary()
        self.keepalive = keepalive
        self.imu_max_speed = imu_max_speed
        self.credentials = credentials
        self._pending_kills: set[asyncio.Task[None]] = set()
        self.homes = [Home(spec, self) for spec in homes]
        self.by_id = {h.spec.id: h for h in self.homes}
        self.by_resident = {h.spec.resident_id: h for h in self.homes}
        self.clients: list[MqttClient] = []
        self.commands_received = 0
        self.stats = LinkStats()
        self._task: asyncio.Task[None] | None = None
        self._retained: set[str] = set()
        for home in self.homes:
            self._make_links(home)

    def home(self, home_id: str) -> Home:
        return self.by_id[home_id]

    # -- links --

    def _make_links(self, home: Home) -> None:
        for device in home.devices.values():
            spec = device.spec
            if spec.link != "own":
                continue
            client = MqttClient(
                self.host,
                self.port,
                f"{'hub' if spec.kind == 'hub' else 'dev'}-{spec.id}",
                username=spec.username if spec.username is not None else self.credentials[0],
                password=spec.password if spec.username is not None else self.credentials[1],
                will=Will(self.topic(spec.id, "status"), dumps({"online": False}), qos=1, retain=True),
                keepalive=self.keepalive,
                rng=home.rng,
            )
            client.on_connect = lambda h=home, c=client: h.birth(c)  # type: ignore[misc]
            client.on_message = self._on_command(device)
            device.client = client
            if spec.kind == "hub":
                home.hub_client = client
            self.clients.append(client)
        for device in home.devices.values():  # the call button hears "call received" on its cmd topic
            if device.spec.kind == "sos_button" and device.spec.protocol == "v1" and device.link is not None:
                device.link.subscribe(self.topic(device.id, "cmd"), qos=1)
                if device.link is not device.client:
                    device.link.on_message = self._on_hub_command(home)

    def _on_command(self, device: Device) -> Any:
        def handle(topic: str, payload: bytes) -> None:
            device.commands.append((self.clock.time(), payload))
            self.commands_received += 1

        return handle

    def _on_hub_command(self, home: Home) -> Any:
        def handle(topic: str, payload: bytes) -> None:
            device_id = topic[len(self.prefix) + 1 :].split("/", 1)[0]
            device = home.devices.get(device_id)
            if device is not None:
                device.commands.append((self.clock.time(), payload))
                self.commands_received += 1

        return handle

    def topic(self, device_id: str, stream: str) -> str:
        return f"{self.prefix}/{device_id}/{stream}"

    async def start(self, connects_per_s: float = 2000.0, timeout: float = 180.0) -> None:
        """Connect every link (spread out), then start the homes and the scheduler."""
        for index, client in enumerate(self.clients):
            client.start()
            if index % 100 == 99:
                await asyncio.sleep(100.0 / connects_per_s)
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in self.clients)), timeout)
        now = self.clock.time()
        for home in self.homes:
            home.start(now)
        self._task = asyncio.create_task(self.scheduler.run(), name="sim-scheduler")

    async def close(self, clear_retained: bool = True) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if clear_retained and self._retained:
            await self._clear_retained()
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)

    async def _clear_retained(self) -> None:
        """Empty retained payloads on every topic this fleet retained (keeps a shared broker clean)."""
        user, password = self.credentials
        client = MqttClient(
            self.host, self.port, f"sim-cleanup-{id(self):x}", username=user, password=password, keepalive=30
        )
        client.start()
        try:
            await client.wait_connected(10)
            last = None
            for topic in sorted(self._retained):
                last = client.publish(topic, b"", qos=1, retain=True)
            if last is not None:
                await client.wait_ack(last, 10)
        except (TimeoutError, OSError):
            pass
        finally:
            await client.close()

    def link_stats(self) -> LinkStats:
        total = LinkStats()
        for client in self.clients:
            total.add(client.stats)
        return total

    # -- publishing --

    def publish(self, device: Device, stream: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        link = device.link
        if link is None or not device.alive:
            return
        topic = self.topic(device.id, stream)
        if retain:
            self._retained.add(topic)
        link.publish(topic, payload, qos=qos, retain=retain)

    def z2m_publish(self, device: Device, t: float) -> None:
        link = device.link
        if link is None or not device.alive:
            return
        body = z2m_state(device.spec.kind, device.state, device.battery, device.home.rng.randint(60, 200))
        link.publish(f"{self.z2m_base}/{device.id}", dumps(body), qos=1 if device.spec.kind != "pir" else 0)

    def birth(self, device: Device) -> None:
        if device.spec.protocol == "z2m":
            topic = f"{self.z2m_base}/{device.id}/availability"
            if self.retain_status:
                self._retained.add(topic)
            assert device.link is not None
            device.link.publish(topic, dumps({"state": "online"}), qos=1, retain=self.retain_status)
            self.z2m_publish(device, self.clock.time())
            return
        body: dict[str, Any] = {"online": True}
        if device.drain_pct_day > 0:
            body["battery"] = round(device.battery)
        self.publish(device, "status", dumps(body), qos=1, retain=self.retain_status)

    def heartbeat(self, device: Device, t: float) -> None:
        if device.spec.protocol == "z2m":
            self.z2m_publish(device, t)  # a periodic attribute report: battery, linkquality
            return
        body: dict[str, Any] = {"ts": int(t * 1000), "online": True}
        if device.drain_pct_day > 0:
            body["battery"] = round(device.battery)
        self.publish(device, "status", dumps(body), qos=1, retain=self.retain_status)

    def alarm(self, device: Device, press: str, t: float) -> None:
        if device.spec.protocol == "z2m":
            action = "emergency" if device.spec.model == "TS0215A_sos" else press
            device.state["action"] = action
            self.z2m_publish(device, t)
            device.state.pop("action")  # Zigbee2MQTT 2.x never caches an action
            return
        device.seq += 1
        body = {"ts": int(t * 1000), "kind": "sos", "seq": device.seq, "press": press}
        self.publish(device, "alarm", dumps(body), qos=1)

    def die(self, device: Device) -> None:
        """Battery empty: the device stops (its connection, if its own, drops; the will tells)."""
        task = asyncio.get_running_loop().create_task(self.kill(device))
        self._pending_kills.add(task)
        task.add_done_callback(self._pending_kills.discard)

    async def kill(self, device: Device) -> None:
        if not device.alive:
            return
        if device.spec.protocol == "z2m" and device.link is not None:
            topic = f"{self.z2m_base}/{device.id}/availability"
            self._retained.add(topic)
            device.link.publish(topic, dumps({"state": "offline"}), qos=1, retain=True)
        device.alive = False
        if device.spec.link == "own" and device.client is not None:
            self._retained.add(self.topic(device.id, "status"))
            await device.client.kill(stay_down=True)

    def devices(self) -> Iterable[Device]:
        for home in self.homes:
            yield from home.devices.values()
