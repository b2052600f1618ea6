"""Why a device message was rejected. Every rejection has a reason code that is counted."""

from __future__ import annotations

from enum import StrEnum


class Reject(StrEnum):
    BAD_TOPIC = "bad_topic"
    UNKNOWN_STREAM = "unknown_stream"
    UNKNOWN_DEVICE = "unknown_device"
    OVERSIZED = "oversized"
    MALFORMED = "malformed"
    WRONG_TYPE = "wrong_type"
    MISSING_FIELD = "missing_field"
    OUT_OF_RANGE = "out_of_range"
    DUPLICATE = "duplicate"
    INTERNAL_ERROR = "internal_error"
    """Handling the message failed unexpectedly (a bug, not the device's fault); kept as a dead letter."""


class PayloadError(ValueError):
    """A device payload that cannot be accepted; ``reason`` is the counter's label."""

    def __init__(self, reason: Reject, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.message = message
