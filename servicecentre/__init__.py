"""The service side of the 12349 centre: hotline calls, the service menu, orders, plans, complaints.

Owns its tables (``servicecentre/migrations``), reads the registry (residents, the org tree), raises
phone-reported emergencies through alerting's intake and shares alerting's timer scheduler.
"""

from servicecentre.context import ServiceConfig
from servicecentre.model import (
    CallCategory,
    Channel,
    Conflict,
    Forbidden,
    IllegalMove,
    Invalid,
    InvalidLink,
    NotFound,
    Order,
    OrderState,
    Reach,
    ServiceCentreError,
)
from servicecentre.orders import OrderRequest
from servicecentre.plans import PlanRequest
from servicecentre.service import ServiceCentre

__all__ = [
    "CallCategory",
    "Channel",
    "Conflict",
    "Forbidden",
    "IllegalMove",
    "Invalid",
    "InvalidLink",
    "NotFound",
    "Order",
    "OrderRequest",
    "OrderState",
    "PlanRequest",
    "Reach",
    "ServiceCentre",
    "ServiceCentreError",
    "ServiceConfig",
]
