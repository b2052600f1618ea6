"""The outside of ``eldercare bench e2e``: buttons, a console and the bare floor, in their own process.

``python -m lab.bench.e2e_client '<json>'`` with ``{"mqtt": {"host", "port", "username", "password"},
"console_url", "prefix", "presses", "rate_hz"}``. In this order, under whatever traffic runs meanwhile:

1. the bare broker round trip: ``presses`` QoS 1 messages at ``rate_hz``, publisher → plain subscriber;
2. the platform: ``presses`` SOS presses at ``rate_hz``, each from its own button (``b<i>``), from
   device connections that listen to their buttons' downlink as a device does, each pressing at most
   every ``DEVICE_GAP_S``; each press timed to the console websocket's ``alert.raised`` for its button
   and to the "call received" its button hears.

Progress goes to stderr; the figures are one JSON object, the last line on stdout. Being its own
process, the measurement shares neither the platform's event loop nor its interpreter lock: what it
times is what a device and an operator's browser would see. The console itself listens from a third
process (:mod:`lab.bench.e2e_console`), as a browser is apart from the devices; a press counts when
its alert first rings there (a provisional ring, or the stored alert if none came before).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt

from gateway import BrokerAddress
from lab.bench.bare import bare_round_trip
from lab.bench.e2e_console import monotonic
from lab.report import percentiles_ms, progress

DEVICE_GAP_S = 0.5
"""The least time between two presses on one device connection (a real button does not press twice in 20 ms)."""


async def measure(
    address: BrokerAddress, console_url: str, prefix: str, presses: int, rate_hz: float
) -> dict[str, Any]:
    progress(f"bench e2e: bare broker round trip, {presses} messages at {rate_hz:g}/s …")
    bare = await bare_round_trip(address, presses, rate_hz)
    sent: dict[str, float] = {}
    latencies: list[float] = []
    downlinks: list[float] = []
    links = max(1, min(presses, math.ceil(rate_hz * DEVICE_GAP_S)))
    async with contextlib.AsyncExitStack() as stack:
        console = await stack.enter_async_context(console_process(console_url))
        devices = [
            await stack.enter_async_context(
                aiomqtt.Client(address.host, address.port, username=address.username, password=address.password)
            )
            for _ in range(links)
        ]
        for index in range(presses):
            await devices[index % links].subscribe(f"{prefix}/b{index}/cmd", qos=1)

        async def receive() -> None:
            assert console.stdout is not None
            async for line in console.stdout:
                device, _, at = line.decode().partition(" ")
                if device in sent:
                    latencies.append(float(at) - sent[device])
                    if len(latencies) == presses:
                        return

        async def hear(link: aiomqtt.Client) -> None:
            async for message in link.messages:
                device = message.topic.value[len(prefix) + 1 :].split("/", 1)[0]
                if device in sent:
                    downlinks.append(monotonic() - sent[device])

        receiver = asyncio.create_task(receive())
        listeners = [asyncio.create_task(hear(link)) for link in devices]
        publishing: list[asyncio.Task[None]] = []
        progress(f"bench e2e: {presses} SOS presses at {rate_hz:g}/s from {links} device connections …")
        for index in range(presses):
            device = f"b{index}"
            sent[device] = monotonic()
            body = {"ts": int(time.time() * 1000), "kind": "sos", "seq": 1}
            link = devices[index % links]
            publishing.append(asyncio.create_task(link.publish(f"{prefix}/{device}/alarm", json.dumps(body), qos=1)))
            if (index + 1) % max(1, presses // 10) == 0:
                progress(f"  {index + 1}/{presses} published, {len(latencies)} on the console")
            await asyncio.sleep(1.0 / rate_hz)
        await asyncio.gather(*publishing)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver, 15)
        receiver.cancel()
        await asyncio.sleep(1.0)
        for listener in listeners:
            listener.cancel()
    return {
        "bare_broker": bare,
        "platform": {"presses": presses, "delivered": len(latencies), **percentiles_ms(latencies)},
        "downlink": {"heard": len(downlinks), **percentiles_ms(downlinks)},
    }


@contextlib.asynccontextmanager
async def console_process(console_url: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """The operator's console (:mod:`lab.bench.e2e_console`), running and past its snapshot."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lab.bench.e2e_console", console_url, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        ready = await asyncio.wait_for(child.stdout.readline(), 60)
        if ready.strip() != b"ready":
            raise RuntimeError(f"the console process did not connect (exit {child.returncode})")
        yield child
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        await child.wait()


def main(argv: list[str]) -> None:
    config = json.loads(argv[1])
    address = BrokerAddress(**config["mqtt"])
    figures = asyncio.run(
        measure(address, config["console_url"], config["prefix"], int(config["presses"]), float(config["rate_hz"]))
    )
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main(sys.argv)
