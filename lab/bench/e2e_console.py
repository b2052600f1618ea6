"""The operator's console of ``eldercare bench e2e``, in a process of its own as a browser would be.

``python -m lab.bench.e2e_console <console websocket URL>``: connects, takes the snapshot, prints
``ready``, then for each alert that rings (the first ``alert.raised`` of an alert id, as the console
page rings once) prints ``<device id> <CLOCK_MONOTONIC seconds>``, one line each, until it is
terminated. CLOCK_MONOTONIC is one clock for every process on the machine, so the pressing process
subtracts its own send times from these.

Apart from the buttons' process because an operator's browser does not share an event loop (or a
CPU's turn) with a hundred device connections: in one process, the console's receive waited behind
the devices' own traffic, and that wait was counted as the platform's.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import websockets


def monotonic() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


async def watch(console_url: str) -> None:
    rung: set[str] = set()
    async with websockets.connect(console_url, max_size=None) as ws:
        await ws.recv()  # the snapshot
        print("ready", flush=True)
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") != "alert.raised":
                continue
            alert = message["alert"]
            if alert["id"] in rung:
                continue  # the stored alert after its provisional ring: the same call
            rung.add(alert["id"])
            print(f"{alert['device_id']} {monotonic():.6f}", flush=True)


if __name__ == "__main__":
    asyncio.run(watch(sys.argv[1]))
