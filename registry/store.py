"""The registry's service interface: org tree, homes, residents, devices and their audit trail.

Device lookups for the gateway's hot path and residents' org paths (for stamping alerts) are served
from memory, loaded at :meth:`Registry.load` and kept in step with every change made through here.
Every query that returns residents, homes or devices takes the caller's :class:`~registry.area.Area`.

:class:`Registry` is the one object the rest of the platform holds; its parts live one concept per
module: ``index.py`` (pool, cipher, the in-memory index), ``org_tree.py``, ``archive.py`` (residents
and homes), ``device_register.py``, with the records and shared helpers in ``records.py``.
"""

from __future__ import annotations

from registry.archive import ResidentArchive
from registry.device_register import DeviceRegister
from registry.records import (
    LIVE_STATUSES,
    DeviceRecord,
    ResidentRecord,
    new_device_password,
    new_id,
    zigbee_keys,
)

__all__ = [
    "LIVE_STATUSES",
    "DeviceRecord",
    "Registry",
    "ResidentRecord",
    "new_device_password",
    "new_id",
    "zigbee_keys",
]


class Registry(ResidentArchive, DeviceRegister):
    """The registry's service interface. Device lookups are served from memory (hot path)."""
