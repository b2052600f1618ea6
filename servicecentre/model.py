"""Service orders, their states and moves, calls, and the service centre's typed errors.

An order moves only along :data:`TRANSITIONS`; any other move raises :class:`IllegalMove` (HTTP 409,
with the reason). Money is in fen (1/100 yuan) throughout.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from alerting.context import PHONE_DEVICE
from registry import errors
from registry.area import ROOT, Area


class OrderState(StrEnum):
    REQUESTED = "requested"  # by phone, the family, a community worker, or spawned by a plan
    ACCEPTED = "accepted"  # the provider takes it
    ASSIGNED = "assigned"  # to one of the provider's workers
    CHECKED_IN = "checked_in"  # the worker is at the home
    COMPLETED = "completed"  # the service was delivered
    RATED = "rated"  # the resident (or the centre on their behalf) rated it
    CANCELLED = "cancelled"  # by the centre, the resident or the family, with a reason
    REFUSED = "refused"  # by the provider, with a reason


OPEN_ORDER_STATES = (OrderState.REQUESTED, OrderState.ACCEPTED, OrderState.ASSIGNED, OrderState.CHECKED_IN)
CLOSED_ORDER_STATES = (OrderState.COMPLETED, OrderState.RATED, OrderState.CANCELLED, OrderState.REFUSED)

TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.REQUESTED: frozenset({OrderState.ACCEPTED, OrderState.REFUSED, OrderState.CANCELLED}),
    OrderState.ACCEPTED: frozenset({OrderState.ASSIGNED, OrderState.CANCELLED}),
    # assigned again: another worker takes over
    OrderState.ASSIGNED: frozenset({OrderState.ASSIGNED, OrderState.CHECKED_IN, OrderState.CANCELLED}),
    OrderState.CHECKED_IN: frozenset({OrderState.COMPLETED}),
    OrderState.COMPLETED: frozenset({OrderState.RATED}),
    OrderState.RATED: frozenset(),
    OrderState.CANCELLED: frozenset(),
    OrderState.REFUSED: frozenset(),
}
"""The only moves an order can make."""

STATE_TIMES: dict[OrderState, str] = {
    OrderState.ACCEPTED: "accepted_at",
    OrderState.ASSIGNED: "assigned_at",
    OrderState.CHECKED_IN: "checked_in_at",
    OrderState.COMPLETED: "completed_at",
    OrderState.CANCELLED: "closed_at",
    OrderState.REFUSED: "closed_at",
}

DEADLINE_STEPS: dict[str, OrderState] = {
    "accept": OrderState.ACCEPTED,
    "check_in": OrderState.CHECKED_IN,
    "complete": OrderState.COMPLETED,
}
"""Each deadline and the state its step reaches: the deadline is missed if it passes first."""


class Channel(StrEnum):
    PHONE = "phone"
    FAMILY = "family"
    COMMUNITY = "community"
    PLAN = "plan"


class CallCategory(StrEnum):
    EMERGENCY = "emergency"
    SERVICE_REQUEST = "service_request"
    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    CARE_CALL = "care_call"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


PHONE_DEVICE_PREFIX = PHONE_DEVICE
"""The device id of an alert reported by telephone: ``phone:<call id>`` (no device to command)."""


class ServiceCentreError(errors.DomainError):
    """Base class of the service centre's domain errors (the platform's one hierarchy, mapped to HTTP
    answers in one place by the API)."""


class NotFound(ServiceCentreError, errors.NotFound):
    """Unknown, or outside the caller's reach (HTTP 404: ids do not leak)."""


class Conflict(ServiceCentreError, errors.Conflict):
    """Not possible in the object's current state (HTTP 409)."""


class IllegalMove(Conflict, errors.IllegalMove):
    current: OrderState
    wanted: OrderState

    def __init__(self, current: OrderState, wanted: OrderState) -> None:
        super().__init__("an order", current, wanted, TRANSITIONS[current])


class Invalid(ServiceCentreError, errors.Invalid):
    """Bad input, with the reason (HTTP 422)."""


class Forbidden(ServiceCentreError, errors.Forbidden):
    """The caller's role may not do this (HTTP 403)."""


class InvalidLink(Forbidden):
    """A worker's link that is forged, expired or no longer valid (HTTP 403)."""


@dataclass(frozen=True, slots=True)
class Reach:
    """What part of the service side a caller may touch.

    ``area`` is the caller's org subtree (or one resident, for a family); a provider's staff have
    ``provider_id`` and see that provider's orders only, wherever they are.
    """

    area: Area = field(default_factory=lambda: Area(ROOT))
    provider_id: str | None = None
    actor: str = "system"

    @property
    def is_provider(self) -> bool:
        return self.provider_id is not None


EVERYWHERE = Reach()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


@dataclass(frozen=True, slots=True)
class Order:
    id: uuid.UUID
    resident_id: str
    org_path: str
    item_id: str
    provider_id: str
    quantity: int
    unit_price_fen: int
    total_fen: int
    subsidy_fen: int
    resident_fen: int
    subsidy_note: str
    state: OrderState
    channel: str
    requested_by: str
    requested_at: datetime
    scheduled_at: datetime
    accepted_at: datetime | None = None
    assigned_at: datetime | None = None
    worker: str | None = None
    checked_in_at: datetime | None = None
    completed_at: datetime | None = None
    closed_at: datetime | None = None
    reason: str = ""
    rating: int | None = None
    rating_note: str = ""
    missed: list[str] = field(default_factory=list)
    plan_id: uuid.UUID | None = None
    plan_date: date | None = None
    call_id: uuid.UUID | None = None
    notes: str = ""

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ORDER_STATES

    def to_json(self) -> dict[str, Any]:
        return {name: _plain(value) for name, value in asdict(self).items()}


ORDER_COLUMNS = ", ".join(Order.__dataclass_fields__)


def order_from(row: dict[str, Any]) -> Order:
    return Order(**{**row, "state": OrderState(row["state"])})


def row_json(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in row.items()}


@dataclass(frozen=True, slots=True)
class Price:
    """An order's price, split into what the government pays and what the resident pays."""

    unit_fen: int
    total_fen: int
    subsidy_fen: int
    resident_fen: int
    note: str


def split_price(
    unit_fen: int, quantity: int, subsidised: bool, subsidy_per_unit_fen: int, min_age: int, age: int | None
) -> Price:
    """``total = unit × quantity``; the subsidy is ``subsidy_per_unit × quantity`` capped at the total,
    for a subsidised item and a resident of at least ``min_age`` years; the resident pays the rest."""
    total = unit_fen * quantity
    if not subsidised or subsidy_per_unit_fen <= 0:
        return Price(unit_fen, total, 0, total, "not subsidised")
    if age is None:
        return Price(unit_fen, total, 0, total, "no subsidy: the resident's birth date is not on record")
    if age < min_age:
        return Price(unit_fen, total, 0, total, f"no subsidy: the resident is {age}, under {min_age}")
    subsidy = min(total, subsidy_per_unit_fen * quantity)
    return Price(unit_fen, total, subsidy, total - subsidy, f"subsidised: {subsidy_per_unit_fen} fen per unit")
