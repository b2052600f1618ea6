"""The log at the seam of one process (``ELDERCARE_CLUSTER=jetstream``), on the embedded nats-server:
a press goes gateway → log → partition worker → alert → console, heard once, on every instance;
a worker that crashes before any snapshot is replaced by one that replays the log from the start
and pages nobody again; leases balance between workers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NATS

from alerting import AlertBus, AlertEvent, AlertEventType
from eldercare.cluster import ClusterSeam, core_factory, log_config, worker_config
from eldercare.db import open_pool
from eldercare.embedded import EmbeddedBroker
from eldercare.runtime import Platform, PlatformConfig
from eldercare.settings import Settings
from gateway import BrokerAddress, GatewayConfig
from lab.faults import stored_counts
from partitions.console import ConsoleFanIn
from partitions.keys import PARTITIONS
from partitions.leases import Leases
from partitions.log import connect
from partitions.worker import Worker
from registry.store import DeviceRecord
from tests.harness import Namespace, eventually, mqtt_client, publish, seed_home
from tests.services import TestServices

pytestmark = pytest.mark.cluster


@dataclass
class Node:
    platform: Platform
    seam: ClusterSeam
    settings: Settings
    nats_url: str
    namespace: Namespace


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    async with EmbeddedBroker(tmp_path, port=0) as running:
        yield running


def cluster_settings(name: str, **overrides: Any) -> Settings:
    return Settings(
        worker_id=name,
        lease_ttl_s=overrides.pop("lease_ttl_s", 2.0),
        partition_snapshot_every_s=overrides.pop("partition_snapshot_every_s", 1000.0),
        stream_tick_s=0.5,
        timer_refresh_s=2.0,
        **overrides,
    )


@contextlib.asynccontextmanager
async def node(services: TestServices, nats_url: str) -> AsyncIterator[Node]:
    namespace = Namespace()
    pool = await open_pool(await services.create_database())
    config = PlatformConfig(
        gateway=GatewayConfig(
            topic_prefix=namespace.prefix, zigbee2mqtt_base=namespace.z2m_base, client_id=namespace.client_id
        ),
        stream_tick_s=0.5,
    )
    platform = Platform(pool, BrokerAddress(services.mqtt_host, services.mqtt_port), config)
    settings = cluster_settings(f"node-{namespace.tag}")
    seam: ClusterSeam | None = None
    try:
        await platform.prepare()
        for n in (1, 2):
            await seed_home(platform, f"res-{n}", (DeviceRecord(f"btn-{n}", f"res-{n}", "sos_button"),))
        seam = await ClusterSeam.open(settings, nats_url, platform.alerts, platform.bus, platform.history)
        platform.seam = seam.writer.sink
        seam.start()
        await platform.start()
        yield Node(platform, seam, settings, nats_url, namespace)
    finally:
        await platform.stop()
        if seam is not None:
            await seam.stop()
        await pool.close()


async def all_owned(nc: NATS, by: set[str]) -> bool:
    leases = Leases(nc.jetstream(), "observer")
    await leases.open()
    owners = await leases.owners()
    return len(owners) == PARTITIONS and set(owners.values()) == by


async def test_a_press_goes_through_the_log_and_is_heard_once_everywhere(
    services: TestServices, broker: EmbeddedBroker
) -> None:
    async with node(services, broker.nats_url) as running:
        nc = await connect(log_config(running.settings, running.nats_url), "observer")
        other_instance = AlertBus()  # an API instance elsewhere: hears the worker through care.console
        fan_in = ConsoleFanIn(nc, other_instance, "api-2")
        listening = asyncio.create_task(fan_in.run())
        here: list[AlertEvent] = []
        there: list[AlertEvent] = []

        async def collect(bus: AlertBus, into: list[AlertEvent]) -> None:
            async with bus.subscribe() as events:
                async for event in events:
                    into.append(event)

        collectors = [
            asyncio.create_task(collect(running.platform.bus, here)),
            asyncio.create_task(collect(other_instance, there)),
        ]
        try:
            await eventually(lambda: all_owned(nc, {running.settings.worker_id or ""}), 40)
            heard: list[dict[str, Any]] = []
            async with mqtt_client(services) as device:
                await device.subscribe(f"{running.namespace.prefix}/btn-1/cmd", qos=1)

                async def downlinks() -> None:
                    async for message in device.messages:
                        heard.append(json.loads(bytes(message.payload)))  # type: ignore[arg-type]

                listener = asyncio.create_task(downlinks())
                await publish(device, f"{running.namespace.prefix}/btn-1/alarm", {"kind": "sos", "seq": 1})
                await eventually(lambda: any(h.get("type") == "call_received" for h in heard), 10)
                await eventually(lambda: there, 5)
                await asyncio.sleep(0.5)  # a second copy would arrive now
                listener.cancel()
            raised_here = [e for e in here if e.type is AlertEventType.RAISED]
            raised_there = [e for e in there if e.type is AlertEventType.RAISED]
            assert len(raised_here) == 1 and len(raised_there) == 1, (here, there)
            assert raised_there[0].alert == raised_here[0].alert  # the same alert, field for field
            assert running.seam.writer.published >= 1
            # the event history is written from the log by its own durable consumer
            rows = await eventually(lambda: running.platform.history.recent("res-1"), 10)
            assert [r["device_id"] for r in rows] == ["btn-1"]
        finally:
            for task in [*collectors, listening]:
                task.cancel()
            await nc.close()


async def test_a_crashed_worker_is_replaced_by_a_replay_that_pages_nobody_twice(
    services: TestServices, broker: EmbeddedBroker
) -> None:
    async with node(services, broker.nats_url) as running:
        nc = await connect(log_config(running.settings, running.nats_url), "observer")
        raised: list[AlertEvent] = []

        async def collect() -> None:
            async with running.platform.bus.subscribe() as events:
                async for event in events:
                    if event.type is AlertEventType.RAISED:
                        raised.append(event)

        collector = asyncio.create_task(collect())
        replacement: asyncio.Task[None] | None = None
        try:
            first = running.settings.worker_id or ""
            await eventually(lambda: all_owned(nc, {first}), 40)
            async with mqtt_client(services) as device:
                for n in (1, 2):
                    await publish(device, f"{running.namespace.prefix}/btn-{n}/alarm", {"kind": "sos", "seq": 1})
            await eventually(lambda: len(raised) == 2, 10)
            # The worker dies without a word (no snapshot was taken: snapshot_every_s is 1000 s).
            for task in running.seam.tasks:
                task.cancel()
            for partition in list(running.seam.worker.owned.values()):
                if partition.reader is not None:
                    partition.reader.cancel()
            running.seam.worker.owned.clear()
            second = f"replacement-{uuid.uuid4().hex[:6]}"
            settings = cluster_settings(second)
            worker = Worker(
                nc.jetstream(),
                running.platform.alerts.raise_detections,
                worker_config(settings),
                core_factory(settings),
            )
            replacement = asyncio.create_task(worker.run())
            await eventually(lambda: all_owned(nc, {second}), 15)
            await eventually(lambda: worker.applied_events >= 2, 10)  # both presses replayed from sequence 1
            await asyncio.sleep(1.0)
            assert len(raised) == 2, raised  # replayed, stored idempotently, not announced again
            stored, extra = await stored_counts(running.platform.pool.conninfo, ["btn-1", "btn-2"])
            assert (stored, extra) == (2, 0)
        finally:
            collector.cancel()
            if replacement is not None:
                replacement.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await replacement
            await nc.close()


async def test_workers_balance_to_their_fair_share_and_hand_over_on_leaving(broker: EmbeddedBroker) -> None:
    settings = cluster_settings("balance-a", lease_ttl_s=1.5)
    nc = await connect(log_config(settings, broker.nats_url), "balance")
    js = nc.jetstream()
    stored: list[Any] = []

    async def store(detections: Any) -> None:
        stored.extend(detections)

    workers = [
        Worker(js, store, worker_config(cluster_settings(name, lease_ttl_s=1.5)), core_factory(settings))
        for name in ("balance-a", "balance-b", "balance-c")
    ]
    tasks = [asyncio.create_task(workers[0].run())]
    try:
        await eventually(lambda: len(workers[0].owned) == PARTITIONS, 15)
        tasks += [asyncio.create_task(w.run()) for w in workers[1:]]
        await eventually(lambda: sorted(len(w.owned) for w in workers) == [20, 22, 22], 20)
        owned = [set(w.owned) for w in workers]
        assert not (owned[0] & owned[1]) and not (owned[0] & owned[2]) and not (owned[1] & owned[2])
        tasks[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[0]
        await workers[0].stop()  # leaving: snapshot, release, heartbeat gone: no TTL wait
        await eventually(lambda: sorted(len(w.owned) for w in workers[1:]) == [32, 32], 10)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await nc.close()


async def test_two_api_instances_show_the_same_live_console(services: TestServices, broker: EmbeddedBroker) -> None:
    import httpx
    import websockets

    from eldercare.cluster import run_api
    from tests.harness import ADMIN, free_port

    async with node(services, broker.nats_url) as running:
        await running.platform.users.add(*ADMIN, role="admin")
        database_url = running.platform.pool.conninfo
        ports = [free_port(), free_port()]
        instances = [
            asyncio.create_task(
                run_api(
                    cluster_settings(
                        f"api-{i}",
                        http_port=port,
                        secret_key="shared-test-signing-key-0123456789abcdef",
                        console_recheck_s=600.0,  # only the account fan-out can close a feed in time
                    ),
                    database_url,
                    f"mqtt://{services.mqtt_host}:{services.mqtt_port}",
                    running.nats_url,
                )
            )
            for i, port in enumerate(ports)
        ]
        try:
            await eventually(lambda: all_owned(running.seam.nc, {running.settings.worker_id or ""}), 40)

            async def token() -> str | None:
                try:
                    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[0]}") as http:
                        response = await http.post(
                            "/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]}
                        )
                        return str(response.json()["access_token"]) if response.status_code == 200 else None
                except httpx.HTTPError:
                    return None

            bearer = await eventually(token, 30)
            for port in ports:  # the second instance up too
                await eventually(lambda p=port: _answers(p), 30)  # type: ignore[misc]
            async with contextlib.AsyncExitStack() as stack:
                consoles = [
                    await stack.enter_async_context(
                        websockets.connect(f"ws://127.0.0.1:{port}/api/v1/ws/console?token={bearer}")
                    )
                    for port in ports
                ]
                for ws in consoles:
                    assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "snapshot"
                async with mqtt_client(services) as device:
                    await publish(device, f"{running.namespace.prefix}/btn-2/alarm", {"kind": "sos", "seq": 1})
                heard = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for ws in consoles]
            assert [h["type"] for h in heard] == ["alert.raised", "alert.raised"]
            assert heard[0]["alert"] == heard[1]["alert"]
            assert heard[0]["alert"]["device_id"] == "btn-2"
            await _deactivation_closes_a_feed_on_the_other_instance(running.platform, ports, bearer)
        finally:
            for task in instances:
                task.cancel()
            # an instance that does not stop within the limit is left to the loop's end, never waited on forever
            done, _ = await asyncio.wait(instances, timeout=30)
            for task in done:
                if not task.cancelled():
                    task.exception()  # retrieved: a failed instance's error is already in the test's outcome


async def _deactivation_closes_a_feed_on_the_other_instance(platform: Platform, ports: list[int], bearer: str) -> None:
    """An account deactivated through one instance: its console feed on another closes at once."""
    import httpx
    import websockets

    password = "another-long-password-7"
    await platform.users.add("second-admin", password, role="admin")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[1]}") as http:
        response = await http.post("/api/v1/auth/token", data={"username": "second-admin", "password": password})
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
    async with websockets.connect(f"ws://127.0.0.1:{ports[1]}/api/v1/ws/console?token={token}") as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "snapshot"
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{ports[0]}", headers={"Authorization": f"Bearer {bearer}"}
        ) as admin:
            response = await admin.patch("/api/v1/users/second-admin", json={"active": False})
            assert response.status_code == 200, response.text
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, closed.value


async def _answers(port: int) -> bool:
    import httpx

    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            return (await http.get("/healthz")).status_code == 200
    except httpx.HTTPError:
        return False
