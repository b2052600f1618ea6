"""What every fault scenario shares: a stage of buttons in a throwaway database, the platform
watched in this process, the presses published as firmware does, and the count of what was stored.

Counted (:class:`FaultResult`):

- **sent**: presses published;
- **delivered**: presses stored as alerts (one alert trigger per press, by its device + seq key);
- **duplicates**: pages beyond one per press (an alert announced raised twice under different ids,
  or a trigger stored twice);
- **worst delay**: the longest time from a press to the console hearing of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import psycopg

from alerting import AlertEventType
from eldercare.db import migrate, open_pool
from eldercare.runtime import Platform
from gateway import BrokerAddress
from lab.harness import Namespace, platform_config, platform_on, throwaway_database
from registry.store import DeviceRecord, Registry, ResidentRecord


@dataclass
class FaultResult:
    fault: str
    sent: int
    delivered: int
    duplicates: int
    worst_delay_s: float | None
    notes: str = ""

    @property
    def lost(self) -> int:
        return self.sent - self.delivered

    def row(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "sent": self.sent,
            "delivered": self.delivered,
            "lost": self.lost,
            "duplicates": self.duplicates,
            "worst_delay_s": None if self.worst_delay_s is None else round(self.worst_delay_s, 3),
            "notes": self.notes,
        }


@dataclass
class PressLog:
    """When each press was published, and what the console heard."""

    sent_at: dict[str, float] = field(default_factory=dict)  # device id → publish time
    heard_at: dict[str, float] = field(default_factory=dict)  # device id → first console announcement
    raised_ids: dict[str, set[str]] = field(default_factory=dict)  # device id → alert ids announced raised

    def worst_delay(self) -> float | None:
        delays = [self.heard_at[d] - t for d, t in self.sent_at.items() if d in self.heard_at]
        return max(delays) if delays else None

    def duplicate_pages(self) -> int:
        return sum(len(ids) - 1 for ids in self.raised_ids.values() if len(ids) > 1)


async def seed_buttons(pool: Any, count: int, tag: str) -> list[str]:
    registry = Registry(pool)
    await migrate(pool, "registry")
    await migrate(pool, "alerting")
    devices = []
    for index in range(count):
        resident = f"{tag}-r{index}"
        device = f"{tag}-b{index}"
        await registry.add_resident(ResidentRecord(resident, f"Resident {index}", f"{index} Fault Street"))
        await registry.add_device(DeviceRecord(device, resident, "sos_button", location="hall"))
        devices.append(device)
    return devices


async def press_all(
    mqtt_url: str,
    prefix: str,
    devices: list[str],
    rate_hz: float,
    log: PressLog,
    fault_at: int | None = None,
    fault: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Each device presses once (seq 1, QoS 1). A publish that fails is retried, as firmware does."""
    address = BrokerAddress.parse(mqtt_url)
    fault_task: asyncio.Task[None] | None = None
    index = 0
    while index < len(devices):
        try:
            async with aiomqtt.Client(
                address.host, address.port, identifier=f"presser-{uuid.uuid4().hex[:8]}"
            ) as client:
                while index < len(devices):
                    if fault is not None and fault_at is not None and index == fault_at and fault_task is None:
                        fault_task = asyncio.create_task(fault())
                    device = devices[index]
                    log.sent_at.setdefault(device, time.monotonic())
                    body = {"ts": int(time.time() * 1000), "kind": "sos", "seq": 1}
                    await client.publish(f"{prefix}/{device}/alarm", json.dumps(body), qos=1, timeout=5)
                    index += 1
                    await asyncio.sleep(1.0 / rate_hz)
        except aiomqtt.MqttError:
            await asyncio.sleep(0.2)  # the broker is away: reconnect and publish the same press again
    if fault_task is not None:
        await fault_task


async def stored_counts(database_url: str, devices: list[str]) -> tuple[int, int]:
    """(presses stored as alert triggers, extra raise/repeat records beyond one per trigger)."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM alert_triggers t JOIN alerts a ON a.id = t.alert_id WHERE a.device_id = ANY(%s)",
            (devices,),
        )
        triggers = (await cursor.fetchone())[0]  # type: ignore[index]
        cursor = await conn.execute(
            "SELECT count(*) FROM alert_audit u JOIN alerts a ON a.id = u.alert_id"
            " WHERE a.device_id = ANY(%s) AND u.action IN ('raised', 'repeated')",
            (devices,),
        )
        records = (await cursor.fetchone())[0]  # type: ignore[index]
    return int(triggers), max(0, int(records) - int(triggers))


async def all_stored(database_url: str, devices: list[str]) -> bool:
    delivered, _ = await stored_counts(database_url, devices)
    return delivered >= len(devices)


async def listen(platform: Platform, log: PressLog) -> None:
    async with platform.bus.subscribe() as events:
        async for event in events:
            if event.type not in (AlertEventType.RAISED, AlertEventType.REPEATED):
                continue
            device = event.alert.device_id
            log.heard_at.setdefault(device, time.monotonic())
            if event.type is AlertEventType.RAISED:
                log.raised_ids.setdefault(device, set()).add(str(event.alert.id))


async def until(check: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


@dataclass
class Stage:
    """One scenario's world: a throwaway database with ``presses`` residents, one button each."""

    tag: str
    database_url: str
    devices: list[str]
    log: PressLog = field(default_factory=PressLog)

    @property
    def namespace(self) -> Namespace:
        return Namespace(tag=self.tag, label="")

    @property
    def prefix(self) -> str:
        return self.namespace.prefix

    async def result(self, fault: str, notes: str = "", timeout_s: float = 60.0) -> FaultResult:
        """Wait until every press is stored (or the timeout), then count from the database."""
        await until(lambda: all_stored(self.database_url, self.devices), timeout_s)
        delivered, extra = await stored_counts(self.database_url, self.devices)
        return FaultResult(
            fault, len(self.devices), delivered, extra + self.log.duplicate_pages(), self.log.worst_delay(), notes
        )


@contextlib.asynccontextmanager
async def staged(admin_db_url: str, presses: int, kind: str) -> AsyncIterator[Stage]:
    tag = f"{kind}{uuid.uuid4().hex[:6]}"
    async with throwaway_database(admin_db_url, "eldercare_faults_", fallback=False) as database_url:
        seed_pool = await open_pool(database_url, min_size=1, max_size=2)
        try:
            devices = await seed_buttons(seed_pool, presses, tag)
        finally:
            await seed_pool.close()
        yield Stage(tag, database_url, devices)


@contextlib.asynccontextmanager
async def watched_platform(
    stage: Stage, mqtt_url: str, database_url: str | None = None, **config: Any
) -> AsyncIterator[Platform]:
    """The platform in this process, its console feed recorded into the stage's press log."""
    with tempfile.TemporaryDirectory(prefix="eldercare-spool-") as spool_dir:
        spool = Path(spool_dir) / "alerts.jsonl"
        # A pool that waits 30 s for a connection would hide an outage; the spool takes over instead.
        async with platform_on(
            database_url or stage.database_url,
            BrokerAddress.parse(mqtt_url),
            platform_config(stage.namespace, spool_path=spool, **config),
            pool_min=1,
            pool_max=6,
            pool_timeout_s=2.0,
        ) as platform:
            listener = asyncio.create_task(listen(platform, stage.log))
            try:
                yield platform
            finally:
                listener.cancel()
