"""Alerting: the alert lifecycle, SLA timers, escalation, dispatch, notifications and the live feed.

It owns the alert tables. The API and console use :class:`AlertService` and :class:`AlertBus` only.
"""

from alerting.bus import AlertBus, Lagged
from alerting.history import EventHistory
from alerting.model import (
    Alert,
    AlertEvent,
    AlertEventType,
    AlertNotFound,
    AlertState,
    Conflict,
    IllegalTransition,
    InvalidLink,
    InvalidRequest,
    NoResponderAvailable,
    Outcome,
)
from alerting.policy import EscalationPolicy
from alerting.service import AlertingConfig, AlertService

__all__ = [
    "Alert",
    "AlertBus",
    "AlertEvent",
    "AlertEventType",
    "AlertNotFound",
    "AlertService",
    "AlertState",
    "AlertingConfig",
    "Conflict",
    "EscalationPolicy",
    "EventHistory",
    "IllegalTransition",
    "InvalidLink",
    "InvalidRequest",
    "Lagged",
    "NoResponderAvailable",
    "Outcome",
]
