"""What the registry hands out and shares between its parts: device and resident records, ids,
the device statuses the gateway accepts, column values for psycopg, the SET clauses of an update and
unique-violation answers.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from registry.errors import Conflict, Invalid

LIVE_STATUSES = ("active", "failed")  # devices the gateway accepts messages from


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    id: str
    resident_id: str | None
    type: str
    model: str = ""
    location: str = ""
    power: str = "battery"
    z2m_name: str | None = None
    ieee: str | None = None

    @property
    def zigbee_keys(self) -> frozenset[str]:
        """The names a ``zigbee2mqtt/<name>`` topic finds this device by: friendly name and IEEE address."""
        return zigbee_keys(self.z2m_name, self.ieee)


def zigbee_keys(*names: str | None) -> frozenset[str]:
    """One case-insensitive namespace for Zigbee friendly names and IEEE addresses (as the database's)."""
    return frozenset(name.lower() for name in names if name)


@dataclass(frozen=True, slots=True)
class ResidentRecord:
    id: str
    name: str
    address: str = ""
    phone: str = ""
    birth_date: date | None = None
    org_node: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    usual_wake: str | None = None  # HH:MM local, as the archive records it (the home detector's first days)
    usual_bed: str | None = None
    night_exit_watch: str | None = None  # HH:MM-HH:MM local: watched for going out at night (NIGHT_EXIT)


DEVICE_COLUMNS = (
    "d.id, d.type, d.model, d.location, d.power, d.z2m_name, d.ieee, d.resident_id, r.name AS resident_name,"
    " d.home_id, d.org_node, d.org_path, d.status, d.replaces, d.replaced_by,"
    " d.mqtt_password_hash IS NOT NULL AS has_credentials, d.created_at, d.updated_at"
)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def new_device_password() -> str:
    return secrets.token_urlsafe(24)


JSONB_COLUMNS = frozenset({"emergency_contacts", "key_holders"})


def column_value(column: str, value: Any) -> Any:
    """A column's value for psycopg: JSON columns wrapped, text[] lists passed as lists."""
    return Jsonb(value) if column in JSONB_COLUMNS else value


def assignments(
    changes: Mapping[str, Any], settable: Sequence[str], not_null: Collection[str]
) -> tuple[list[str], list[Any]]:
    """The ``column = %s`` clauses of an UPDATE and their values, for the ``settable`` columns present in
    ``changes`` (in ``settable``'s order); a ``not_null`` column sent as null is :class:`Invalid`."""
    sets: list[str] = []
    values: list[Any] = []
    for name in settable:
        if name in changes:
            if name in not_null and changes[name] is None:
                raise Invalid(f"{name} cannot be null")
            sets.append(f"{name} = %s")
            values.append(column_value(name, changes[name]))
    return sets, values


def conflict_from(error: psycopg.errors.UniqueViolation) -> Conflict:
    constraint = getattr(error.diag, "constraint_name", None) or ""
    detail = getattr(error.diag, "message_detail", None) or str(error)
    if constraint in ("zigbee_keys_pkey", "devices_z2m_name_key", "devices_ieee_key"):
        taken = detail.partition("=(")[2].rpartition(")")[0] or "the Zigbee name or IEEE address"
        return Conflict(
            f"Zigbee name or IEEE address {taken!r} is already held by another device"
            " (friendly names and IEEE addresses share one namespace, without case)"
        )
    return Conflict(f"already exists ({constraint}): {detail}")
