"""The device protocol v1: topics, payload schemas and decoders into normalised events.

Pure code: no I/O. The gateway feeds raw MQTT messages in and gets :class:`Event` objects out.
"""

from devices.events import Event, ImuBlock, Stream

__all__ = ["Event", "ImuBlock", "Stream"]
