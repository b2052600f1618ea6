"""Commands to devices from a worker (``call_received``, announcements): one small MQTT publisher.

In one process the gateway's alarm connection carries the downlink; a stream worker has no
gateway, so it keeps its own clean session and publishes ``<prefix>/<device_id>/cmd`` at QoS 1.
A command sent while disconnected raises (alerting logs it; the alert is stored regardless).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiomqtt

from gateway.mqtt import BrokerAddress, session

log = logging.getLogger("eldercare.partitions.downlink")


class MqttDownlink:
    def __init__(self, address: BrokerAddress, client_id: str, topic_prefix: str) -> None:
        self.address = address
        self.client_id = client_id
        self.prefix = topic_prefix.rstrip("/")
        self.connected = asyncio.Event()
        self.sent = 0
        self._client: aiomqtt.Client | None = None

    async def run(self) -> None:
        """Stay connected, reconnecting with back-off."""
        delay = 0.2
        while True:
            try:
                async with session(self.address, self.client_id, persistent=False) as client:
                    self._client = client
                    self.connected.set()
                    delay = 0.2
                    async for _ in client.messages:  # nothing subscribed: ends when the connection does
                        pass
            except aiomqtt.MqttError as error:
                log.warning("downlink connection lost", extra={"error": str(error), "retry_s": delay})
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def send(self, device_id: str, command: dict[str, Any]) -> None:
        client = self._client
        if client is None:
            raise ConnectionError("downlink is not connected to the broker")
        payload = json.dumps(command, separators=(",", ":"))
        await client.publish(f"{self.prefix}/{device_id}/cmd", payload, qos=1)
        self.sent += 1
