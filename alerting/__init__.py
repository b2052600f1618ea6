"""Alerting: the alert lifecycle, its audit trail and the live alert feed. It owns the alert tables.

The API and console use :class:`AlertService` and :class:`AlertBus` only, never the tables.
"""

from alerting.bus import AlertBus, Lagged
from alerting.history import EventHistory
from alerting.model import (
    Alert,
    AlertEvent,
    AlertEventType,
    AlertingError,
    AlertNotFound,
    AlertState,
    IllegalTransition,
)
from alerting.service import AlertService

__all__ = [
    "Alert",
    "AlertBus",
    "AlertEvent",
    "AlertEventType",
    "AlertNotFound",
    "AlertService",
    "AlertState",
    "AlertingError",
    "EventHistory",
    "IllegalTransition",
    "Lagged",
]
