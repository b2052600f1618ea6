"""The registry: the org tree, residents, devices and users. It owns their tables.

Everything that needs "who is this device for" or "who may see what" asks the registry.
"""

from registry.store import DeviceRecord, Registry, ResidentRecord

__all__ = ["DeviceRecord", "Registry", "ResidentRecord"]
