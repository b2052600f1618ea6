"""``eldercare bench ingest``: a broker's backlog drained by one platform process, beside a bare
paho subscriber draining the same backlog from the same broker in the same run.

1. A private Mosquitto with ``deploy/mosquitto.conf``'s queue, payload and ``TCP_NODELAY`` settings,
   its per-client queue raised to hold the backlog (a site sizes it to ride out its own outages).
2. A throwaway database with the simulated homes registered.
3. ``eldercare up`` is started once, so its two gateway sessions (persistent, QoS 1) subscribe, and
   stopped; a bare paho session (persistent, QoS 1) subscribes to the same topics.
4. The backlog (:mod:`lab.bench.backlog`): the homes' everyday traffic as their firmware writes it,
   1 % of it SOS presses, published at QoS 1 while nobody listens.
5. The bare subscriber drains its copy: messages per second from its first message to its last.
6. ``eldercare up`` starts again and drains its copy, measured from outside: ``/healthz``'s
   ``gateway.received`` polled, from the first message handled to the last; its CPU per message
   from the process's CPU time; every press looked up as an alert trigger.
7. Steps 4–6 again with a backlog of one-second 50 Hz binary IMU blocks from wearable homes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import psutil
import psycopg
from firmware_sim.fleet import CITY, HomeMix, make_homes, seed_registry

from eldercare.db import migrate, open_pool
from eldercare.settings import Settings
from gateway import BrokerAddress
from lab.bench.backlog import Backlog, generate
from lab.bench.deployment import mosquitto_version, private_mosquitto
from lab.bench.scaling_fleet import daytime_offset_min
from lab.harness import Namespace, PlatformProcess, bench_services, throwaway_database, up_env
from lab.report import emit, progress
from registry.store import Registry
from registry.users import Users

TARGET_SHARE_OF_BARE = 0.8
TARGET_IMU_BLOCKS_PER_S = 20_000


# -- the broker --------------------------------------------------------------------------------------


# -- the bare subscriber and the publisher ----------------------------------------------------------


class BareSubscriber:
    """A plain paho client with a persistent QoS 1 session on the platform's topics; counts only."""

    def __init__(self, address: BrokerAddress, topics: list[str]) -> None:
        self.address = address
        self.topics = topics
        self.client_id = f"bench-bare-{uuid.uuid4().hex[:8]}"
        self.received = 0
        self.first = self.last = 0.0
        self._lock = threading.Lock()

    def _client(self) -> paho.Client:
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False)
        client.on_message = self._on_message
        return client

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if message.topic.endswith("/cmd"):
            return  # the platform's downlink ("call received"), not the backlog
        with self._lock:
            now = time.perf_counter()
            if not self.received:
                self.first = now
            self.received += 1
            self.last = now

    def subscribe(self) -> None:
        """Create the session and its subscriptions, then leave (the broker queues for it)."""
        client = self._client()
        done = threading.Event()
        client.on_subscribe = lambda *args: done.set()
        client.connect(self.address.host, self.address.port)
        client.loop_start()
        client.subscribe([(topic, 1) for topic in self.topics])
        if not done.wait(10):
            raise RuntimeError("the bare subscriber's subscription was not acknowledged")
        client.disconnect()
        client.loop_stop()

    def drain(self, expected: int, quiet_s: float = 3.0) -> dict[str, Any]:
        """Reconnect and take the queued messages; msg/s from the first to the last."""
        self.received = 0
        client = self._client()
        client.connect(self.address.host, self.address.port)
        client.loop_start()
        try:
            seen, quiet_since = -1, time.perf_counter()
            while self.received < expected and time.perf_counter() - quiet_since < quiet_s:
                time.sleep(0.05)
                if self.received != seen:
                    seen, quiet_since = self.received, time.perf_counter()
        finally:
            client.disconnect()
            client.loop_stop()
        span = max(1e-9, self.last - self.first)
        return {"received": self.received, "msg_per_s": round((self.received - 1) / span), "span_s": round(span, 2)}


def publish_backlog(address: BrokerAddress, messages: list[tuple[str, bytes]], window: int = 500) -> float:
    """Publish at QoS 1, ``window`` messages in flight at a time, each acknowledged; returns seconds."""
    acked = 0
    progressed = threading.Condition()

    def on_publish(*args: Any) -> None:
        nonlocal acked
        with progressed:
            acked += 1
            progressed.notify_all()

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(window)
    client.on_publish = on_publish
    client.connect(address.host, address.port)
    client.loop_start()
    started = time.perf_counter()
    sent = 0

    def window_open() -> bool:
        return sent - acked < window

    try:
        for topic, payload in messages:
            with progressed:
                if not progressed.wait_for(window_open, timeout=30):
                    raise RuntimeError(f"the broker acknowledged {acked} of {sent} messages")
            client.publish(topic, payload, qos=1)
            sent += 1
        with progressed:
            if not progressed.wait_for(lambda: acked >= len(messages), timeout=30):
                raise RuntimeError(f"the broker acknowledged {acked} of {len(messages)} messages")
    finally:
        client.disconnect()
        client.loop_stop()
    return time.perf_counter() - started


# -- the platform ------------------------------------------------------------------------------------


async def drain_platform(
    up: PlatformProcess, expected: int, timeout_s: float, profile: Path | None = None
) -> dict[str, Any]:
    """Start ``eldercare up`` and poll ``/healthz`` until its gateway has handled ``expected``
    messages; the rate is the messages over the time from the first batch handled to the last, as
    the gateway reports them (``first_message_at``, ``last_message_at``); the CPU per message from the
    process's CPU time between the first answer of ``/healthz`` and the last batch.
    ``profile``: py-spy's collapsed stacks of the platform process over the run, written there."""
    proc = up.spawn()
    ps = psutil.Process(proc.pid)
    spy = (
        subprocess.Popen(
            ["py-spy", "record", "--pid", str(proc.pid), "--rate", "250", "--format", "raw", "-o", str(profile)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if profile is not None and shutil.which("py-spy")
        else None
    )
    polled: tuple[int, float] | None = None
    """(messages handled, CPU s) at the first answer of ``/healthz``."""
    health: dict[str, Any] = {}
    deadline = time.perf_counter() + timeout_s
    received = 0
    spooled_most = 0
    """The most alarms seen waiting in the platform's spool (the database did not take them in time)."""
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"eldercare up exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError, ValueError):
                health = (await http.get(f"{up.url}/healthz")).json()
                received = int(health["gateway"]["received"])
                spooled_most = max(spooled_most, int(health.get("spool_pending", 0)))
                if polled is None:
                    polled = (received, sum(ps.cpu_times()[:2]))
                if received >= expected:
                    break
            await asyncio.sleep(0.25)  # each /healthz costs the platform CPU; the drain's timing is the gateway's
        cpu_done = sum(ps.cpu_times()[:2])
        caught_up = time.perf_counter()
        while time.perf_counter() - caught_up < 120:  # the history's and the spool's backlogs, after the gateway's
            with contextlib.suppress(httpx.HTTPError, ValueError):
                health = (await http.get(f"{up.url}/healthz")).json()
                spooled_most = max(spooled_most, int(health.get("spool_pending", 0)))
                if not health.get("history_buffered") and not health.get("spool_pending"):
                    break
            await asyncio.sleep(0.2)
        history_s = time.perf_counter() - caught_up
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        await asyncio.to_thread(spy.wait, 30)
    gateway = health.get("gateway", {})
    if polled is None or not gateway.get("first_message_at"):
        raise RuntimeError("the platform handled no message")
    span = max(1e-9, gateway["last_message_at"] - gateway["first_message_at"])
    handled_since_poll = max(1, received - polled[0])
    return {
        "received": received,
        "msg_per_s": round(received / span),
        "span_s": round(span, 2),
        "cpu_us_per_msg": round(1e6 * (cpu_done - polled[1]) / handled_since_poll, 1),
        "rejected": gateway.get("rejected", {}),
        "shed": gateway.get("shed", 0),
        "queue_depth_most": gateway.get("queue_depth_most", 0),
        "batches": gateway.get("batches", {}),
        "history_after_s": round(history_s, 1),
        "history_dropped": health.get("history_dropped", 0),
        "detections": health.get("detections", {}),
        "alarms_spooled_most": spooled_most,
        "alarms_spooled_at_stop": int(health.get("spool_pending", 0)),
    }


async def stored_presses(database_url: str, presses: list[tuple[str, int]]) -> int:
    keys = [f"{device}:seq:{seq}" for device, seq in presses]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute("SELECT count(*) FROM alert_triggers WHERE key = ANY(%s)", (keys,))
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _register(database_url: str, homes: list[Any]) -> tuple[int, float]:
    pool = await open_pool(database_url, max_size=20)
    try:
        for component in ("registry", "alerting", "gateway"):
            await migrate(pool, component)
        started = time.perf_counter()
        devices = await seed_registry(Registry(pool), homes, concurrency=32)
        await Users(pool).add("bench", "bench-password-" + uuid.uuid4().hex[:8], "operator", org_node=CITY[0])
    finally:
        await pool.close()
    return devices, time.perf_counter() - started


# -- the run -----------------------------------------------------------------------------------------


def _mix(backlog: Backlog, namespace: Namespace) -> dict[str, int]:
    z2m = namespace.z2m_base + "/"
    return dict(
        Counter("zigbee2mqtt" if topic.startswith(z2m) else topic.rsplit("/", 1)[-1] for topic, _ in backlog.messages)
    )


async def run_ingest(
    settings: Settings,
    *,
    homes: int = 5000,
    messages: int = 200_000,
    wearable_homes: int = 1000,
    imu_blocks: int = 100_000,
    imu_hz: float = 50.0,
    seed: int = 0,
    profile: Path | None = None,
) -> dict[str, Any]:
    namespace = Namespace(label="ingest")
    offset = daytime_offset_min()
    everyday = [replace(h, utc_offset_min=offset) for h in make_homes(homes, seed, HomeMix(wearable_share=0.0))]
    wearing = [
        replace(h, utc_offset_min=offset)
        for h in make_homes(wearable_homes, seed + 1, HomeMix(wearable_share=1.0, imu_hz=(imu_hz,)), id_prefix="w")
    ]
    progress(f"bench ingest: writing the backlogs ({messages} everyday messages of {homes} homes, "
             f"{imu_blocks} IMU blocks of {wearable_homes} wearers) …")  # fmt: skip
    daily = generate(everyday, messages, prefix=namespace.prefix, z2m_base=namespace.z2m_base, seed=seed)
    imu = (
        generate(wearing, imu_blocks, prefix=namespace.prefix, z2m_base=namespace.z2m_base, keep="/imu", alarm_share=0)
        if imu_blocks
        else None
    )
    queued = 2 * max(messages, imu_blocks) + 10_000
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"benchmark": "ingest", "homes": homes, "wearable_homes": wearable_homes}
    with tempfile.TemporaryDirectory(prefix="eldercare-ingest-") as scratch:
        directory = Path(scratch)
        async with (
            bench_services(settings) as services,
            throwaway_database(services.database_url) as database_url,
            private_mosquitto(directory, queued) as broker,
        ):
            progress(f"bench ingest: registering {homes + wearable_homes} homes …")
            devices, seed_s = await _register(database_url, everyday + wearing)
            figures.update(
                devices=devices,
                seed_registry_s=round(seed_s, 1),
                broker=f"{mosquitto_version()} (private; deploy/mosquitto.conf queue settings, "
                f"max_queued_messages {queued})",
            )
            output = (directory / "platform.log").open("wb")
            up = PlatformProcess(
                up_env(f"mqtt://{broker.host}:{broker.port}", database_url, directory / "data", namespace),
                output=output,
            )
            try:
                progress("bench ingest: the platform subscribes once, then stops; the bare subscriber subscribes …")
                await up.start(timeout_s=120)
                await up.stop()
                bare = BareSubscriber(broker, [f"{namespace.prefix}/+/+", f"{namespace.z2m_base}/#"])
                await asyncio.to_thread(bare.subscribe)
                phases: list[tuple[str, Backlog]] = [("everyday", daily)] + ([("imu", imu)] if imu else [])
                for name, backlog in phases:
                    count = len(backlog.messages)
                    progress(f"bench ingest [{name}]: publishing {count} messages at QoS 1 while nobody listens …")
                    publish_s = await asyncio.to_thread(publish_backlog, broker, backlog.messages)
                    progress(f"bench ingest [{name}]: the bare subscriber drains its copy …")
                    bare_figures = await asyncio.to_thread(bare.drain, count)
                    progress(f"  bare: {bare_figures['msg_per_s']} msg/s ({bare_figures['received']}/{count})")
                    progress(f"bench ingest [{name}]: the platform drains its copy …")
                    profile_to = profile / f"{name}.txt" if profile else None
                    platform = await drain_platform(up, count, max(120.0, count / 500), profile_to)
                    progress(f"  platform: {platform['msg_per_s']} msg/s ({platform['received']}/{count}), "
                             f"{platform['cpu_us_per_msg']} µs CPU per message")  # fmt: skip
                    await up.stop()
                    phase: dict[str, Any] = {
                        "messages": count,
                        "mix": _mix(backlog, namespace),
                        "simulated_min": round(backlog.simulated_s / 60, 1),
                        "publish_s": round(publish_s, 1),
                        "bare": bare_figures,
                        "platform": platform,
                        "share_of_bare": round(platform["msg_per_s"] / max(1, bare_figures["msg_per_s"]), 3),
                    }
                    if backlog.presses:
                        stored = await stored_presses(database_url, backlog.presses)
                        phase["alarms"] = {"pressed": len(backlog.presses), "stored": stored}
                    if name == "imu":
                        phase["imu_hz"] = imu_hz
                        phase["samples_per_s"] = round(platform["msg_per_s"] * imu_hz)
                    figures[name] = phase
            finally:
                await up.stop()  # a failed phase leaves no platform running
                output.close()
                figures["platform_log_problems"] = log_problems(directory / "platform.log")
    figures.update(
        targets={"share_of_bare": TARGET_SHARE_OF_BARE, "imu_blocks_per_s": TARGET_IMU_BLOCKS_PER_S},
        cpu_cores=psutil.cpu_count(),
        load_avg_1m=round(os.getloadavg()[0], 2),
    )
    return figures


def log_problems(path: Path, keep: int = 5) -> dict[str, Any]:
    """The platform log's ERROR and CRITICAL lines: how many, and the first few (the log is a temp file)."""
    lines = [
        line
        for line in path.read_text(errors="replace").splitlines()
        if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line or " ERROR " in line or " CRITICAL " in line
    ]
    return {"count": len(lines), "first": [line[:400] for line in lines[:keep]]}


def run(settings: Settings, json_output: bool, **options: Any) -> dict[str, Any]:
    figures = asyncio.run(run_ingest(settings, **options))
    day = figures["everyday"]
    mix = ", ".join(f"{k} {v}" for k, v in sorted(day["mix"].items(), key=lambda kv: -kv[1]))
    rows: list[tuple[str, Any]] = [
        ("broker", figures["broker"]),
        ("everyday backlog", f"{day['messages']} messages, {day['simulated_min']} simulated min"),
        ("  mix", mix),
        ("  bare paho subscriber", f"{day['bare']['msg_per_s']} msg/s"),
        ("  platform (eldercare up)", _platform_row(day, "msg")),
        ("  platform / bare", f"{day['share_of_bare']} (target ≥ {TARGET_SHARE_OF_BARE})"),
        ("  alarms pressed / stored", f"{day['alarms']['pressed']} / {day['alarms']['stored']}"),
        ("  alarms in the spool, most", f"{day['platform']['alarms_spooled_most']} (the database slower than 3 s)"),
        ("  rejected", day["platform"]["rejected"] or "none"),
        ("  history written after", f"{day['platform']['history_after_s']} s more"),
    ]
    if "imu" in figures:
        imu = figures["imu"]
        rows += [
            ("IMU backlog", f"{imu['messages']} one-second {imu['imu_hz']:g} Hz blocks"),
            ("  bare paho subscriber", f"{imu['bare']['msg_per_s']} blocks/s"),
            ("  platform (eldercare up)", _platform_row(imu, "block")),
            ("  samples/s", f"{imu['samples_per_s']} (target ≥ {TARGET_IMU_BLOCKS_PER_S} blocks/s)"),
            ("  rejected", imu["platform"]["rejected"] or "none"),
        ]
    rows.append(("machine", f"{figures['cpu_cores']} cores, load avg {figures['load_avg_1m']} (shared)"))
    emit("eldercare bench ingest", rows, figures, json_output)
    return figures


def _platform_row(phase: dict[str, Any], unit: str) -> str:
    platform = phase["platform"]
    per_s = "msg/s" if unit == "msg" else f"{unit}s/s"
    return f"{platform['msg_per_s']} {per_s}, {platform['cpu_us_per_msg']} µs CPU per {unit}"
