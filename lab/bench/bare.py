"""The bare broker's figures, the floor a bench reads the platform's against: the publish → plain
subscriber round trip (``bench e2e``) and a flood publisher process's throughput (``bench load``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import aiomqtt

from gateway import BrokerAddress
from lab.report import percentiles_ms

REPO = Path(__file__).resolve().parents[2]


async def bare_round_trip(address: BrokerAddress, messages: int, rate_hz: float) -> dict[str, Any]:
    """Publish → plain subscriber latency on the same broker, QoS 1."""
    topic = f"bench/{uuid.uuid4().hex[:8]}/rtt"
    sent: dict[int, float] = {}
    latencies: list[float] = []
    async with (
        aiomqtt.Client(address.host, address.port, username=address.username, password=address.password) as sub,
        aiomqtt.Client(address.host, address.port, username=address.username, password=address.password) as pub,
    ):
        await sub.subscribe(topic, qos=1)

        async def receive() -> None:
            async for message in sub.messages:
                index = int(bytes(message.payload))
                latencies.append(time.perf_counter() - sent[index])
                if len(latencies) == messages:
                    return

        receiver = asyncio.create_task(receive())
        for index in range(messages):
            sent[index] = time.perf_counter()
            await pub.publish(topic, str(index), qos=1)
            await asyncio.sleep(1.0 / rate_hz)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver, 10)
        receiver.cancel()
    return {"messages": messages, "received": len(latencies), **percentiles_ms(latencies)}


def child_env() -> dict[str, str]:
    """The environment of a ``firmware_sim`` child process: this checkout on its import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def loadgen_config(
    address: BrokerAddress, prefix: str, z2m_base: str, homes: int, mix: dict[str, Any], **options: Any
) -> dict[str, Any]:
    """The configuration of a ``firmware_sim.run`` load generator on ``address``; ``options``: its
    other keys (``seed duration_s press_rate_hz warmup_s wait_for_go press_from``)."""
    return {
        "host": address.host,
        "port": address.port,
        "username": address.username,
        "password": address.password,
        "prefix": prefix,
        "z2m_base": z2m_base,
        "homes": homes,
        "mix": mix,
        **options,
    }


def bare_broker_throughput(address: BrokerAddress, messages: int = 100_000, size: int = 200) -> dict[str, Any]:
    """A flood publisher process (QoS 0, ``size``-byte payloads) into a plain paho subscriber."""
    import paho.mqtt.client as paho

    topic = f"bench/{uuid.uuid4().hex[:8]}/flood"
    received = 0
    first = last = 0.0
    lock = threading.Lock()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        nonlocal received, first, last
        with lock:
            now = time.perf_counter()
            if not received:
                first = now
            received += 1
            last = now

    subscribed = threading.Event()
    sub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{uuid.uuid4().hex[:6]}")
    if address.username:
        sub.username_pw_set(address.username, address.password)
    sub.on_message = on_message
    sub.on_subscribe = lambda *args: subscribed.set()
    sub.connect(address.host, address.port)
    sub.subscribe(topic, qos=0)
    sub.loop_start()
    try:
        subscribed.wait(10)
        config = {
            "mode": "flood",
            "host": address.host,
            "port": address.port,
            "topic": topic,
            "messages": messages,
            "size": size,
            "username": address.username,
            "password": address.password,
        }
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "firmware_sim.run", json.dumps(config)],
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        publish_s = time.perf_counter() - started
        quiet_since = time.perf_counter()
        seen = -1
        while time.perf_counter() - quiet_since < 1.0:  # until a second passes with nothing new
            time.sleep(0.1)
            with lock:
                if received != seen:
                    seen, quiet_since = received, time.perf_counter()
    finally:
        sub.loop_stop()
        sub.disconnect()
    span = max(1e-9, last - first)
    return {
        "messages": messages,
        "payload_bytes": size,
        "received": received,
        "lost": messages - received,
        "msg_per_s": round(received / span),
        "publisher_s": round(publish_s, 2),
        "publisher_ok": done.returncode == 0,
    }
