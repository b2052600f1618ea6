"""Demo data for ``eldercare up --demo``: a slice of a city's service network with a few homes.

The homes are played by the firmware simulator (:mod:`firmware_sim`) at a realistic pace: each
resident follows a daily routine (motion, doors, bed and seat pads), devices send heartbeats with
draining batteries, one resident wears a pendant that streams accelerometer data, one home has
Zigbee2MQTT sensors. The device ids are short so they can be used by hand (``btn-0001``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import date

from firmware_sim.fleet import Fleet, seed_registry, told_time
from firmware_sim.home import DeviceSpec, HomeSpec, Routine

from devices.protocol import TOPIC_PREFIX
from gateway import BrokerAddress
from registry.store import Registry, ResidentRecord

log = logging.getLogger("eldercare.demo")

ORG_TREE = [
    ("410100", "郑州市 Zhengzhou", "city", None),
    ("410105", "金水区 Jinshui District", "district", "410100"),
    ("410105001", "经八路街道 Jingbalu Street", "street", "410105"),
    ("410105001001", "黄河社区 Huanghe Community", "community", "410105001"),
]

COMMUNITY = "410105001001"
RESIDENTS = [
    ResidentRecord(
        "res-0001", "王秀英 Wang Xiuying", "金水区经八路12号院3号楼2单元401", "13800000001", date(1942, 3, 8), COMMUNITY
    ),
    ResidentRecord(
        "res-0002", "李建国 Li Jianguo", "金水区经八路15号院1号楼1单元202", "13800000002", date(1938, 11, 2), COMMUNITY
    ),
    ResidentRecord(
        "res-0003", "张桂兰 Zhang Guilan", "金水区黄河路8号院5号楼3单元603", "13800000003", date(1947, 6, 21), COMMUNITY
    ),
]


def demo_homes() -> list[HomeSpec]:
    """Three homes: a 4G call button each (own connection, hears "call received"), a home hub for the
    sensors; home 1 has a 50 Hz pendant, home 3 Zigbee2MQTT sensors and a Zigbee SOS button."""
    homes = []
    for index, resident in enumerate(RESIDENTS, start=1):
        n = f"{index:04d}"
        z = "z2m" if index == 3 else "v1"
        devices = [
            DeviceSpec(f"hub-{n}", "hub", "hall", link="own"),
            DeviceSpec(f"btn-{n}", "sos_button", "living room", link="own"),
            DeviceSpec(f"pir-{n}-living", "pir", "living room", protocol=z),
            DeviceSpec(f"pir-{n}-bath", "pir", "bathroom", protocol=z),
            DeviceSpec(f"pir-{n}-bedroom", "pir", "bedroom", protocol=z),
            DeviceSpec(f"pir-{n}-kitchen", "pir", "kitchen", protocol=z),
            DeviceSpec(f"door-{n}", "door", "hall", protocol=z),
            DeviceSpec(f"cupboard-{n}", "contact", "kitchen", protocol=z),
            DeviceSpec(f"bed-{n}", "bed", "bedroom"),
            DeviceSpec(f"seat-{n}", "seat", "living room"),
            DeviceSpec(f"smoke-{n}", "smoke", "kitchen", protocol=z),
        ]
        if index == 1:
            devices.append(DeviceSpec(f"pendant-{n}", "pendant", "worn", link="own", imu_hz=50.0))
            devices.append(DeviceSpec(f"vitals-{n}", "vitals", "bedroom"))
        if index == 3:
            devices.append(DeviceSpec(f"zsos-{n}", "sos_button", "bedroom", protocol="z2m"))
        homes.append(
            HomeSpec(
                id=f"home-{n}",
                resident_id=resident.id,
                resident_name=resident.name,
                address=resident.address,
                devices=tuple(devices),
                routine=Routine(wake_min=360 + 30 * index, bed_min=1260 + 20 * index),
                org_node=COMMUNITY,
                seed=index,
            )
        )
    return homes


async def seed(registry: Registry) -> list[HomeSpec]:
    """Create (idempotently) the demo org tree, residents and their devices."""
    for code, name, level, parent in ORG_TREE:
        await registry.add_org_node(code, name, level, parent)
    homes = demo_homes()
    await seed_registry(registry, homes)
    routines = {home.resident_id: home.routine for home in homes}
    for resident in RESIDENTS:  # the named residents, with birth dates and phones (and their usual times)
        routine = routines.get(resident.id)
        if routine is not None:
            resident = replace(resident, usual_wake=told_time(routine.wake_min), usual_bed=told_time(routine.bed_min))
        await registry.add_resident(resident)
    return homes


async def run_demo(
    address: BrokerAddress,
    homes: list[HomeSpec],
    *,
    prefix: str = TOPIC_PREFIX,
    z2m_base: str = "zigbee2mqtt",
    ready: asyncio.Event | None = None,
) -> None:
    """Play the demo homes in real time until cancelled (after the gateway is connected)."""
    if ready is not None:
        await ready.wait()
    fleet = Fleet(
        homes,
        address.host,
        address.port,
        prefix=prefix,
        z2m_base=z2m_base,
        credentials=(address.username, address.password),
    )
    try:
        await fleet.start()
        log.info("demo homes online", extra={"homes": len(homes), "connections": len(fleet.clients)})
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await fleet.close()
