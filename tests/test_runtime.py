"""The runtime around the stream core: its state survives a restart; a stale snapshot is survivable."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np

from devices.events import Event, Stream
from eldercare.db import open_pool
from eldercare.runtime import Platform, PlatformConfig
from gateway import BrokerAddress, GatewayConfig
from registry.store import DeviceRecord, ResidentRecord
from stream.core import StreamCore
from tests.services import TestServices


def arrays(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


async def test_stream_state_survives_a_restart(services: TestServices, tmp_path: Path) -> None:
    database_url = await services.create_database()
    config = PlatformConfig(
        gateway=GatewayConfig(client_id=f"gw-runtime-{time.time_ns()}"),
        spool_path=tmp_path / "spool.jsonl",
        snapshot_path=tmp_path / "stream.snapshot",
    )
    now_ms = int(time.time() * 1000)
    pool = await open_pool(database_url)
    try:
        first = Platform(pool, BrokerAddress(services.mqtt_host, services.mqtt_port), config)
        await first.prepare()
        await first.registry.add_resident(ResidentRecord("res-1", "Resident"))
        await first.registry.add_device(DeviceRecord("pir-1", "res-1", "pir", location="kitchen"))
        motion = Event("pir-1", "res-1", Stream.MOTION, now_ms, now_ms, {"occupancy": True}, device_type="pir")
        await first.sink({"res-1": [motion]})
        before = arrays(first.stream.snapshot())
        await first.stop()
        assert config.snapshot_path is not None and config.snapshot_path.exists()

        second = Platform(pool, BrokerAddress(services.mqtt_host, services.mqtt_port), config)
        await second.prepare()
        after = arrays(second.stream.snapshot())
        await second.stop()
    finally:
        await pool.close()
    assert second.stream.now_ms == first.stream.now_ms
    assert before.keys() == after.keys()
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)
    assert any("res-1" in a.tolist() for a in after.values() if a.dtype.kind == "U")


def test_a_snapshot_from_another_version_starts_that_detector_fresh() -> None:
    core = StreamCore()
    blob = core.snapshot()
    state = arrays(blob)
    state["falls/ring"] = np.zeros((1, 2, 3))  # a layout this version does not know
    state["falls/devices"] = np.array(["old-device"])
    state["falls/sc"] = np.zeros((1, 1))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **state)
    fresh = StreamCore()
    fresh.restore(buffer.getvalue())
    assert "old-device" not in arrays(fresh.snapshot()).get("falls/devices", np.array([])).tolist()


async def test_zigbee_edge_memory_survives_a_restart(services: TestServices, tmp_path: Path) -> None:
    """A call button's cached ``sos: true`` republished with a new battery reading after the
    gateway restarted is not a second press."""
    database_url = await services.create_database()
    config = PlatformConfig(
        gateway=GatewayConfig(client_id=f"gw-zigbee-{time.time_ns()}"),
        spool_path=tmp_path / "spool.jsonl",
        snapshot_path=tmp_path / "stream.snapshot",
    )
    pool = await open_pool(database_url)
    button = DeviceRecord("zb-1", "res-1", "sos_button", model="PB206", z2m_name="hall button")
    try:
        first = Platform(pool, BrokerAddress(services.mqtt_host, services.mqtt_port), config)
        await first.prepare()
        await first.registry.add_resident(ResidentRecord("res-1", "Resident"))
        await first.registry.add_device(button)
        pressed = first.gateway.accept("zigbee2mqtt/hall button", b'{"sos":true,"battery":90,"linkquality":80}')
        assert [e.stream for e in pressed] == [Stream.ALARM, Stream.STATUS]
        await first.stop()

        second = Platform(pool, BrokerAddress(services.mqtt_host, services.mqtt_port), config)
        await second.prepare()
        later = second.gateway.accept("zigbee2mqtt/hall button", b'{"sos":true,"battery":80,"linkquality":75}')
        await second.stop()
    finally:
        await pool.close()
    assert [(e.stream, dict(e.values)) for e in later] == [(Stream.STATUS, {"battery": 80.0})]
