"""Numba kernels of the stream core: pure functions over arrays (no I/O, no clock reads)."""

from typing import Any

JIT: dict[str, Any] = dict(cache=True, nogil=True, fastmath=False)
"""The one set of Numba flags every ``@njit`` kernel uses."""
