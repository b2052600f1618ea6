"""Map string ids (resident, device) to integer slots in columnar state arrays.

Detectors keep their state as a structure of NumPy arrays indexed by slot. Slots are handed out
densely, grown geometrically, and reused after :meth:`SlotMap.release`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt


class SlotMap:
    """A bidirectional id ↔ slot map with a free list and a capacity that doubles when full."""

    def __init__(self, capacity: int = 64) -> None:
        self._slot_of: dict[str, int] = {}
        self._id_of: list[str | None] = []
        self._free: list[int] = []
        self.capacity = max(1, capacity)

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, key: str) -> bool:
        return key in self._slot_of

    def get(self, key: str) -> int | None:
        return self._slot_of.get(key)

    def id_of(self, slot: int) -> str | None:
        return self._id_of[slot] if slot < len(self._id_of) else None

    def slot(self, key: str) -> tuple[int, bool]:
        """The slot for ``key``, allocating one if new. Returns ``(slot, created)``."""
        found = self._slot_of.get(key)
        if found is not None:
            return found, False
        if self._free:
            new = self._free.pop()
            self._id_of[new] = key
        else:
            new = len(self._id_of)
            self._id_of.append(key)
            while new >= self.capacity:
                self.capacity *= 2
        self._slot_of[key] = new
        return new, True

    def slots(self, keys: Iterable[str]) -> npt.NDArray[np.int64]:
        """Slots of ``keys`` in order, allocating any new ones."""
        keys = keys if isinstance(keys, list) else list(keys)
        slot_of = self._slot_of
        try:
            return np.array([slot_of[key] for key in keys], dtype=np.int64)
        except KeyError:  # some are new
            return np.array([self.slot(key)[0] for key in keys], dtype=np.int64)

    def release(self, key: str) -> int | None:
        slot = self._slot_of.pop(key, None)
        if slot is not None:
            self._id_of[slot] = None
            self._free.append(slot)
        return slot

    def items(self) -> list[tuple[str, int]]:
        return list(self._slot_of.items())

    def to_array(self) -> npt.NDArray[np.str_]:
        """Ids by slot ('' for a free slot), for snapshots."""
        return np.array([k if k is not None else "" for k in self._id_of], dtype=np.str_)

    @classmethod
    def from_snapshot(cls, state: Mapping[str, np.ndarray], key: str) -> SlotMap | None:
        """The map a detector saved as ``state[key]`` (:meth:`to_array`), with room for at least 64;
        None when the snapshot has none (an older layout, or the detector had not run)."""
        if key not in state:
            return None
        ids = np.asarray(state[key])
        return cls.from_array(ids, max(64, len(ids)))

    @classmethod
    def from_array(cls, ids: npt.NDArray[np.str_], capacity: int) -> SlotMap:
        slots = cls(capacity)
        for index, key in enumerate(ids.tolist()):
            slots._id_of.append(key or None)
            if key:
                slots._slot_of[key] = index
            else:
                slots._free.append(index)
        return slots


def grow(array: npt.NDArray, capacity: int, fill: float | int | bool = 0) -> npt.NDArray:
    """``array`` with its first axis grown to ``capacity`` (a copy only when it must grow)."""
    if array.shape[0] >= capacity:
        return array
    grown = np.full((capacity, *array.shape[1:]), fill, dtype=array.dtype)
    grown[: array.shape[0]] = array
    return grown
