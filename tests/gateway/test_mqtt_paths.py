"""The gateway's shortcuts through paho keep paho's meaning (``gateway/mqtt.py``)."""

from __future__ import annotations

from typing import Any

import aiomqtt
from paho.mqtt.client import MQTTMessage

from gateway.mqtt import deliver_directly


def message(topic: str) -> MQTTMessage:
    out = MQTTMessage(mid=1, topic=topic.encode())
    out.payload = b"{}"
    return out


async def test_messages_go_straight_to_on_message_unless_a_filtered_callback_is_registered() -> None:
    client = aiomqtt.Client("127.0.0.1")
    paho = client._client
    deliver_directly(client)
    general: list[str] = []
    filtered: list[str] = []
    paho.on_message = lambda _c, _u, m: general.append(m.topic)

    paho._handle_on_message(message("eldercare/v1/b-1/alarm"))
    assert general == ["eldercare/v1/b-1/alarm"]

    def only_doors(_c: Any, _u: Any, m: MQTTMessage) -> None:
        filtered.append(m.topic)

    paho.message_callback_add("eldercare/v1/+/door", only_doors)  # paho's own path from now on
    paho._handle_on_message(message("eldercare/v1/d-1/door"))
    paho._handle_on_message(message("eldercare/v1/b-1/alarm"))
    assert filtered == ["eldercare/v1/d-1/door"]
    assert general == ["eldercare/v1/b-1/alarm", "eldercare/v1/b-1/alarm"]


async def test_an_exception_in_on_message_is_raised_as_paho_would() -> None:
    client = aiomqtt.Client("127.0.0.1")
    paho = client._client
    deliver_directly(client)

    def broken(_c: Any, _u: Any, _m: MQTTMessage) -> None:
        raise ValueError("broken handler")

    paho.on_message = broken
    paho.suppress_exceptions = False
    try:
        paho._handle_on_message(message("eldercare/v1/b-1/alarm"))
    except ValueError as error:
        assert str(error) == "broken handler"
    else:
        raise AssertionError("the exception was swallowed")
    paho.suppress_exceptions = True
    paho._handle_on_message(message("eldercare/v1/b-1/alarm"))  # logged, not raised
