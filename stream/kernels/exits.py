"""Night-exit watch kernel: a resident known to wander who is out through the entrance door at night.

State is one ``int64`` row per resident slot (columns ``X_*`` below); times are epoch milliseconds,
the watch window in minutes after local midnight, the home's clock as minutes east of UTC.

Math (per resident ``r``, per event in arrival order):

- The local minute of ``t`` is ``m(t) = (⌊t / 60 000⌋ + offset) mod 1440``; ``t`` is *in the watch*
  ``[from, to)`` when ``from ≤ m(t) < to``, or, for a watch across midnight (``from > to``), when
  ``m(t) ≥ from`` or ``m(t) < to``. No watch (``from = −1``): nothing is due.
- ``door`` is the latest entrance-door event (opened or closed), ``inside`` the latest activity inside
  the home (motion, a cupboard or inner door, the flush, a pad becoming occupied). The resident is
  *out* while ``door ≥ inside``: the door was the last thing the home saw. ``exit`` is the first door
  event of that spell (the first at or after ``inside``); activity inside after ``door`` ends the spell
  (they only opened the door, or came back in).
- An out spell is due at ``due = door + grace`` when ``exit`` or ``door`` is in the watch (gone out at
  night); otherwise at the first moment from ``door + grace`` that is in the watch (out since before
  the watch began: ``door + grace`` itself if in the watch, else the next ``from`` after it,
  ``(⌊(door + grace) / 60 000⌋ + ((from − m(door + grace)) mod 1440)) · 60 000``).
- When ``now ≥ due`` and the spell has not been told, one NIGHT_EXIT ``(r, exit, due, door, inside)``;
  the spell is then *told*: more door events of it (coming back through the door with nothing seen
  inside yet) are not told again. The due time is worked out when checked, so a watch changed while the
  resident is out applies at once.
- Activity inside at ``t`` that ends a told spell is the resident back inside: one row
  ``(r, exit, BACK, door, t)`` (``BACK`` in the due column), the notice on that NIGHT_EXIT.

Events out of order: a door event before ``inside`` belongs to no out spell and moves nothing but
``door``; activity inside not after ``door`` does not end one. A door and activity inside at the same
millisecond leave the resident out (their order is no evidence of who is where: the safe reading).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from stream.kernels import JIT

X_FROM = 0  # watch from, minutes after local midnight (−1: not watched)
X_TO = 1  # watch until (exclusive), minutes after local midnight
X_OFFSET = 2  # the home's clock, minutes east of UTC
X_DOOR = 3  # the latest entrance-door event, epoch ms (−1: none yet)
X_INSIDE = 4  # the latest activity inside, epoch ms (−1: none yet)
X_EXIT = 5  # the first door event of the current out spell, epoch ms (−1: not out)
X_TOLD = 6  # 1 once the current out spell was told
N_X = 7

XE_NONE = 0  # not evidence either way (a status, a motion sensor clearing, a pad letting go, a radar)
XE_DOOR = 1  # the entrance door opened or closed
XE_INSIDE = 2  # someone moved inside the home

BACK = -1  # the due column of a row saying the resident is back inside after a NIGHT_EXIT

NEVER = np.iinfo(np.int64).max
MINUTE_MS = 60_000
DAY_MIN = 1440


def new_exit_state(n: int, offset_min: int = 0) -> np.ndarray:
    """``n`` unwatched rows, nothing seen, with the homes' clock ``offset_min`` (minutes east of UTC)."""
    st = np.full((n, N_X), -1, dtype=np.int64)
    st[:, X_OFFSET] = offset_min
    st[:, X_TOLD] = 0
    return st


@njit(**JIT)
def in_watch(t: int, offset_min: int, start: int, end: int) -> bool:
    """Whether the local minute of epoch ms ``t`` lies in ``[start, end)`` (across midnight when
    ``start > end``); never for no watch (``start < 0``) or an empty one."""
    if start < 0 or start == end:
        return False
    m = (t // MINUTE_MS + offset_min) % DAY_MIN
    if start < end:
        return start <= m < end
    return m >= start or m < end


@njit(**JIT)
def due_ms(st: np.ndarray, r: int, grace_ms: int) -> int:
    """When row ``r``'s current out spell is due (``NEVER``: not out, told, or not watched)."""
    start, end, offset = st[r, X_FROM], st[r, X_TO], st[r, X_OFFSET]
    if st[r, X_EXIT] < 0 or st[r, X_TOLD] == 1 or start < 0 or start == end:
        return NEVER
    door = st[r, X_DOOR]
    t0 = door + grace_ms
    if in_watch(st[r, X_EXIT], offset, start, end) or in_watch(door, offset, start, end):
        return t0
    if in_watch(t0, offset, start, end):
        return t0
    m0 = (t0 // MINUTE_MS + offset) % DAY_MIN
    return (t0 // MINUTE_MS + (start - m0) % DAY_MIN) * MINUTE_MS


@njit(**JIT)
def _fire(st: np.ndarray, r: int, now: int, grace_ms: int, out: np.ndarray, n: int) -> int:
    """NIGHT_EXIT of row ``r`` into ``out[n]`` if its out spell is due by ``now``; the new count."""
    due = due_ms(st, r, grace_ms)
    if due > now:
        return n
    out[n, 0] = r
    out[n, 1] = st[r, X_EXIT]
    out[n, 2] = due
    out[n, 3] = st[r, X_DOOR]
    out[n, 4] = st[r, X_INSIDE]
    st[r, X_TOLD] = 1
    return n + 1


@njit(**JIT)
def exits_process(
    st: np.ndarray,
    res: np.ndarray,
    ts: np.ndarray,
    code: np.ndarray,
    grace_ms: int,
    out: np.ndarray,
) -> int:
    """Events (``res`` slot, ``ts`` epoch ms, ``code`` ``XE_*``) in arrival order; NIGHT_EXITs due
    before an event of their resident, and the back-inside rows of those told, into ``out`` (rows
    ``(r, exit, due, door, inside)``, at least ``2·len(res)`` rows); returns how many."""
    n = 0
    for i in range(res.shape[0]):
        r = res[i]
        t = ts[i]
        c = code[i]
        n = _fire(st, r, t, grace_ms, out, n)
        if c == XE_DOOR:
            if t >= st[r, X_INSIDE] and st[r, X_EXIT] < 0:
                st[r, X_EXIT] = t
                st[r, X_TOLD] = 0
            if t > st[r, X_DOOR]:
                st[r, X_DOOR] = t
        elif c == XE_INSIDE:
            if t > st[r, X_INSIDE]:
                st[r, X_INSIDE] = t
            if t > st[r, X_DOOR]:
                if st[r, X_TOLD] == 1 and st[r, X_EXIT] >= 0:  # back inside after a NIGHT_EXIT
                    out[n, 0] = r
                    out[n, 1] = st[r, X_EXIT]
                    out[n, 2] = BACK
                    out[n, 3] = st[r, X_DOOR]
                    out[n, 4] = t
                    n += 1
                st[r, X_EXIT] = -1
                st[r, X_TOLD] = 0
    return n


@njit(**JIT)
def exits_advance(st: np.ndarray, n_res: int, now: int, grace_ms: int, out: np.ndarray) -> int:
    """Fire every NIGHT_EXIT of the first ``n_res`` rows due by ``now`` (epoch ms) into ``out``."""
    n = 0
    for r in range(n_res):
        n = _fire(st, r, now, grace_ms, out, n)
    return n
