"""A resident's devices from memory, kept in step with binding, replacement and retirement."""

from __future__ import annotations

from alerting.intake import home_announcers
from registry.area import Area
from registry.crypto import FieldCipher
from registry.store import DeviceRecord, Registry, ResidentRecord
from registry.users import User

ADMIN = User("root-admin", "admin")


def scanned(registry: Registry, resident_id: str) -> list[str]:
    """What the index replaces: a scan of every device in the registry."""
    return [d.id for d in registry.devices() if d.resident_id == resident_id]


def indexed(registry: Registry, resident_id: str) -> list[str]:
    return [d.id for d in registry.resident_devices(resident_id)]


async def test_resident_devices_follow_binding_replacement_and_retirement(city_registry: Registry) -> None:
    registry, pool = city_registry, city_registry.pool
    for resident in ("res-1", "res-2"):
        await registry.add_resident(ResidentRecord(resident, resident, org_node="410100"))
    await registry.add_device(DeviceRecord("btn-1", "res-1", "sos_button"))
    await registry.add_device(DeviceRecord("pir-1", "res-1", "pir"))
    await registry.add_device(DeviceRecord("hub-2", "res-2", "hub"))
    await registry.add_device(DeviceRecord("spare", None, "sos_button"))
    assert indexed(registry, "res-1") == ["btn-1", "pir-1"]
    assert indexed(registry, "res-2") == ["hub-2"]
    assert indexed(registry, "nobody") == []

    await registry.update_device("pir-1", {"resident_id": "res-2"}, Area(), ADMIN)  # moved to another home
    await registry.replace_device("btn-1", "btn-1b", None, Area(), ADMIN)  # the new one takes its place
    await registry.add_device(DeviceRecord("pendant-1", "res-1", "pendant"))
    await registry.update_device("hub-2", {"status": "retired"}, Area(), ADMIN)  # no longer live
    await registry.update_device("spare", {"resident_id": "res-1"}, Area(), ADMIN)
    for resident in ("res-1", "res-2"):
        assert indexed(registry, resident) == scanned(registry, resident)  # same devices, same order
    assert sorted(indexed(registry, "res-1")) == ["btn-1b", "pendant-1", "spare"]
    assert indexed(registry, "res-2") == ["pir-1"]

    announcers = home_announcers(registry.resident_devices)
    assert sorted(announcers("res-1")) == ["btn-1b", "pendant-1", "spare"]
    assert announcers("res-2") == []  # a motion sensor neither speaks nor lights up

    reloaded = Registry(pool, FieldCipher.generate())
    await reloaded.load()
    for resident in ("res-1", "res-2"):
        assert indexed(reloaded, resident) == scanned(reloaded, resident)
