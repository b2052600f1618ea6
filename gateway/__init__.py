"""The gateway: device messages in over MQTT, batches of normalised events out to the stream core."""

from gateway.gateway import Batch, Gateway, GatewayConfig, Sink
from gateway.mqtt import BrokerAddress

__all__ = ["Batch", "BrokerAddress", "Gateway", "GatewayConfig", "Sink"]
