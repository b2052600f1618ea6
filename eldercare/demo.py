"""Demo data for ``eldercare up --demo``: a slice of a city's service network with three homes."""

from __future__ import annotations

from datetime import date

from firmware_sim.demo import DemoDevice

from registry.store import DeviceRecord, Registry, ResidentRecord

ORG_TREE = [
    ("410100", "郑州市 Zhengzhou", "city", None),
    ("410105", "金水区 Jinshui District", "district", "410100"),
    ("410105001", "经八路街道 Jingbalu Street", "street", "410105"),
    ("410105001001", "黄河社区 Huanghe Community", "community", "410105001"),
]

COMMUNITY = "410105001001"
RESIDENTS = [
    ResidentRecord(
        "res-0001",
        "王秀英 Wang Xiuying",
        "金水区经八路12号院3号楼2单元401",
        "13800000001",
        date(1942, 3, 8),
        "410105001001",
    ),
    ResidentRecord(
        "res-0002",
        "李建国 Li Jianguo",
        "金水区经八路15号院1号楼1单元202",
        "13800000002",
        date(1938, 11, 2),
        "410105001001",
    ),
    ResidentRecord(
        "res-0003",
        "张桂兰 Zhang Guilan",
        "金水区黄河路8号院5号楼3单元603",
        "13800000003",
        date(1947, 6, 21),
        "410105001001",
    ),
]


def demo_homes() -> list[list[DemoDevice]]:
    homes = []
    for index in range(1, len(RESIDENTS) + 1):
        n = f"{index:04d}"
        homes.append(
            [
                DemoDevice(f"btn-{n}", "sos_button", "living room"),
                DemoDevice(f"pir-{n}-living", "pir", "living room"),
                DemoDevice(f"pir-{n}-bath", "pir", "bathroom"),
                DemoDevice(f"door-{n}", "door", "hall"),
                DemoDevice(f"bed-{n}", "bed", "bedroom"),
            ]
        )
    return homes


async def seed(registry: Registry) -> list[list[DemoDevice]]:
    """Create (idempotently) the demo org tree, residents and their devices."""
    for code, name, level, parent in ORG_TREE:
        await registry.add_org_node(code, name, level, parent)
    homes = demo_homes()
    for resident, home in zip(RESIDENTS, homes, strict=True):
        await registry.add_resident(resident)
        for device in home:
            await registry.add_device(DeviceRecord(device.id, resident.id, device.type, "", device.location))
    return homes
