"""The platform's own signals about residents, for the overdue list: who showed no sign of life today,
whose devices went quiet. Read from alerting's open alerts (the stream core's inactivity and device
supervision detections become alerts), through alerting's public query interface.

Hook: a site with another source (a daily activity summary, the device catalogue's online state) passes
its own :data:`care.context.Signals` to :class:`care.CareService`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from care.context import Signals
from stream.detections import DetectionKind

SIGNAL_OF_KIND: dict[str, str] = {
    DetectionKind.INACTIVITY: "no_activity_today",
    DetectionKind.NOT_UP: "no_activity_today",
    DetectionKind.UNMONITORED: "device_offline",
    DetectionKind.DEVICE_OFFLINE: "device_offline",
    DetectionKind.DEVICE_SILENT: "device_offline",
}


class _Alert(Protocol):
    @property
    def resident_id(self) -> str: ...

    @property
    def device_id(self) -> str: ...

    @property
    def kind(self) -> str: ...


class OpenAlerts(Protocol):
    async def open_alerts(self, limit: int = ...) -> Sequence[_Alert]: ...


def platform_signals(alerts: OpenAlerts) -> Signals:
    """Signals from the open alerts: inactivity / not up → ``no_activity_today``; device offline,
    silent or unmonitored → ``device_offline``."""

    async def signals(resident_ids: Sequence[str]) -> Mapping[str, Sequence[str]]:
        wanted = set(resident_ids)
        found: dict[str, set[str]] = {}
        for alert in await alerts.open_alerts(limit=10_000):
            signal = SIGNAL_OF_KIND.get(alert.kind)
            if signal is not None and alert.resident_id in wanted:
                found.setdefault(alert.resident_id, set()).add(signal)
        return {resident: sorted(names) for resident, names in found.items()}

    return signals


OFFLINE_KINDS = frozenset({DetectionKind.DEVICE_OFFLINE, DetectionKind.DEVICE_SILENT, DetectionKind.UNMONITORED})


def platform_offline_devices(alerts: OpenAlerts) -> Callable[[Sequence[str]], Awaitable[set[str]]]:
    """Devices with an open device-offline, device-silent or unmonitored alert."""

    async def offline(device_ids: Sequence[str]) -> set[str]:
        wanted = set(device_ids)
        found = await alerts.open_alerts(limit=10_000)
        return {a.device_id for a in found if a.kind in OFFLINE_KINDS and a.device_id in wanted}

    return offline
