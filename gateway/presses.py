"""Presses already taken: an alarm's ``(device, seq)`` drops the broker's and the device's repeats.

A press is marked when it is decoded and unmarked when it was never handed over (its batch cut off at
shutdown, or refused by the sink and dead-lettered): the copy that comes again is then taken, not
rejected as a duplicate. The memory is bounded, least recently seen first out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from devices.events import Event, Stream


class SeenPresses:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()

    def repeat(self, device_id: str, seq: int) -> bool:
        """Whether this press was taken already; marks it taken otherwise."""
        key = (device_id, seq)
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return False

    def forget(self, events: Iterable[Event]) -> None:
        """Unmark the presses in ``events`` (never handed over), so a copy sent again is taken."""
        for event in events:
            if event.stream is Stream.ALARM and event.seq is not None:
                self._seen.pop((event.device_id, event.seq), None)
