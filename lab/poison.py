"""Fault scenario: poison messages. Numbers no decoder expects, and one message that hits a decoder bug.

Devices publish IMU payloads with ``1e400``, ``Infinity``, ``NaN`` and a 400-digit integer (issue 12,
finding 1: one of them used to stop the telemetry lane for good), then one payload that an injected
decoder bug fails on with ``OverflowError``. Afterwards telemetry must keep flowing, the bug's
message must be stored in the dead-letter table, and every SOS press around them must be stored.
Used by ``eldercare bench faults`` and ``tests/faults``.
"""

from __future__ import annotations

import json
import time

import aiomqtt

from devices.events import Event, Stream
from gateway import BrokerAddress
from lab.presses import FaultResult, all_stored, press_all, staged, until, watched_platform

POISON = (
    b'{"t0": 1e400, "hz": 50, "acc": [[0,0,1]]}',
    b'{"t0": Infinity, "hz": 50, "acc": [[0,0,1]]}',
    b'{"t0": NaN, "hz": 50, "acc": [[0,0,1]]}',
    b'{"t0": 1732300000000, "hz": 50, "acc": [[0,0,1' + b"0" * 400 + b"]]}",
)
BUG = b'{"t0": 1732300000000, "hz": 50, "acc": [[0,0,1]], "note": "decoder bug"}'


async def poison_message(
    mqtt_url: str, admin_db_url: str, presses: int, rate_hz: float, telemetry: int = 50
) -> FaultResult:
    async with staged(admin_db_url, presses, "pm") as stage:
        async with watched_platform(stage, mqtt_url) as platform:
            gateway = platform.gateway
            translate = gateway.translate
            after_bug = {"seen": 0, "imu": 0}

            def buggy(topic: str, payload: bytes, received_ms: int, *, retained: bool = False) -> list[Event]:
                if payload == BUG:
                    after_bug["seen"] = 1
                    raise OverflowError("injected decoder bug")
                events = translate(topic, payload, received_ms, retained=retained)
                if after_bug["seen"] and events and events[0].stream is Stream.IMU:
                    after_bug["imu"] += 1
                return events

            gateway.translate = buggy  # type: ignore[method-assign]
            address = BrokerAddress.parse(mqtt_url)
            async with aiomqtt.Client(address.host, address.port) as client:
                for payload in (*POISON, BUG):
                    await client.publish(f"{stage.prefix}/{stage.devices[0]}/imu", payload, qos=1)
                for index in range(telemetry):
                    body = {"t0": int(time.time() * 1000), "hz": 50, "acc": [[0.0, -1.0, 0.0]] * 50}
                    device = stage.devices[index % len(stage.devices)]
                    await client.publish(f"{stage.prefix}/{device}/imu", json.dumps(body), qos=1)
            await press_all(mqtt_url, stage.prefix, stage.devices, rate_hz, stage.log)
            await until(lambda: all_stored(stage.database_url, stage.devices), 30)

            async def telemetry_through() -> bool:
                return after_bug["imu"] >= telemetry

            await until(telemetry_through, 10)
            await platform.flush_dead_letters()
            stored = [row for row in await platform.dead_letters.recent(100) if bytes(row["payload"]) == BUG]
            ready = (await platform.readiness())["checks"]["lanes"]
            rejected = gateway.rejected["out_of_range"]
            restarts = sum(gateway.lane_restarts.values())
        notes = (
            f"rejected out_of_range {rejected}/{len(POISON)}; decoder bug dead-lettered and stored {len(stored)}/1; "
            f"telemetry after it {after_bug['imu']}/{telemetry}; lane restarts {restarts}; lanes ready {ready}"
        )
        return await stage.result("poison messages (1e400/NaN/bug)", notes)
