"""The escalation ladder: defaults, overridden per area (org path prefix) and per resident.

Overrides are partial JSON objects merged over the defaults: the areas from the widest to the
narrowest (city, district, street, community), then the resident's own. Validated strictly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from alerting.model import InvalidRequest


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """Seconds are counted from when the alert starts ringing (after any cancel window)."""

    cancel_window_s: int = 60
    """Sensor alerts (falls, inactivity) wait this long for the resident's "I'm fine" press; 0: off."""
    ring_again_s: tuple[int, ...] = (60, 120)
    """Not acknowledged after each of these: ring again and raise the urgency by one."""
    supervisor_s: int | None = 180
    """Not acknowledged after this: notify the area supervisor (``supervisor_urls``)."""
    supervisor_urls: tuple[str, ...] = ()
    family_s: int | None = 120
    """Not acknowledged after this: notify the first family contact, then the next every interval."""
    family_interval_s: int = 120
    emergency_s: int | None = 600
    """Still nobody on the way (no accepted responder, no family going over) after this: prompt 120."""
    responder_accept_s: int = 300
    """A responder who has not accepted after this is passed over for the next nearest one."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ring_again_s"] = list(self.ring_again_s)
        data["supervisor_urls"] = list(self.supervisor_urls)
        return data


_FIELDS = {f.name for f in fields(EscalationPolicy)}
_OPTIONAL = {"supervisor_s", "family_s", "emergency_s"}
MAX_S = 7 * 24 * 3600


def _seconds(name: str, value: Any, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_S:
        raise InvalidRequest(f"{name} must be whole seconds between 0 and {MAX_S}" + (" or null" if optional else ""))
    return value


def validate_override(config: Mapping[str, Any]) -> dict[str, Any]:
    """A partial policy as stored: only known keys, right types. Raises :class:`InvalidRequest`."""
    if not isinstance(config, Mapping):
        raise InvalidRequest("an escalation policy is a JSON object")
    unknown = set(config) - _FIELDS
    if unknown:
        raise InvalidRequest(f"unknown escalation settings: {', '.join(sorted(unknown))}")
    clean: dict[str, Any] = {}
    for name, value in config.items():
        if name == "ring_again_s":
            if not isinstance(value, list | tuple) or len(value) > 10:
                raise InvalidRequest("ring_again_s is a list of at most 10 delays")
            steps = [_seconds(name, v) for v in value]
            clean[name] = sorted(s for s in steps if s is not None)
        elif name == "supervisor_urls":
            # printable: no NUL or lone surrogate, which the stored JSON cannot hold
            if not isinstance(value, list | tuple) or not all(
                isinstance(u, str) and "://" in u and u.isprintable() for u in value
            ):
                raise InvalidRequest("supervisor_urls is a list of Apprise URLs")
            clean[name] = list(value)
        elif name in ("responder_accept_s", "family_interval_s") and value == 0:
            raise InvalidRequest(f"{name} must be at least 1 second")
        else:
            clean[name] = _seconds(name, value, optional=name in _OPTIONAL)
    return clean


def merge(base: EscalationPolicy, overrides: Iterable[Mapping[str, Any]]) -> EscalationPolicy:
    policy = base
    for override in overrides:
        changes = dict(override)
        for name in ("ring_again_s", "supervisor_urls"):
            if name in changes:
                changes[name] = tuple(changes[name])
        policy = replace(policy, **changes)
    return policy


class PolicyBook:
    """The overrides in memory (loaded at start, updated on every change), resolved per alert."""

    def __init__(self, default: EscalationPolicy | None = None) -> None:
        self.default = default or EscalationPolicy()
        self.areas: dict[str, dict[str, Any]] = {}
        self.residents: dict[str, dict[str, Any]] = {}

    def set(self, scope: str, key: str, config: Mapping[str, Any] | None) -> None:
        table = self.areas if scope == "area" else self.residents
        if config is None:
            table.pop(key, None)
        else:
            table[key] = dict(config)

    def resolve(self, resident_id: str, org_path: str | None) -> EscalationPolicy:
        path = org_path or ""
        areas = sorted((key for key in self.areas if path.startswith(key)), key=len)
        overrides = [self.areas[key] for key in areas]
        if resident_id in self.residents:
            overrides.append(self.residents[resident_id])
        return merge(self.default, overrides)


def ringing_steps(policy: EscalationPolicy, now: datetime) -> list[tuple[str, datetime, dict[str, Any]]]:
    """The ladder's timers (kind, due, data) for an alert that starts ringing at ``now``."""

    def at(seconds: int) -> datetime:
        return now + timedelta(seconds=seconds)

    steps: list[tuple[str, datetime, dict[str, Any]]] = [
        ("ring_again", at(seconds), {"step": step}) for step, seconds in enumerate(policy.ring_again_s, start=1)
    ]
    if policy.supervisor_s is not None:
        steps.append(("supervisor", at(policy.supervisor_s), {}))
    if policy.family_s is not None:
        steps.append(("family", at(policy.family_s), {"index": 0}))
    if policy.emergency_s is not None:
        steps.append(("emergency", at(policy.emergency_s), {}))
    return steps
