"""Device-supervision and safety-episode kernels: pure functions over columnar device state.

Device state is one ``int64`` row per device slot (columns ``D_*`` below); times are epoch
milliseconds, battery in percent (−1: unknown), limits in seconds (``params``, columns ``P_*``).

Math (all per device ``d``, per event in arrival order):

- ``last_seen[d] = max(last_seen[d], ts)`` for every message of ``d``.
- ``online`` goes 1 → 0 on a last-will ``{"online": false}`` (one DEVICE_OFFLINE at ``ts``) and back
  to 1 on any later message of the device.
- DEVICE_SILENT when ``now − last_seen[d] > limit[d]`` (ms; the device type's limit, or
  ``limit[class[d]]`` s → ms ×1000 when it has none), only for devices that have shown they send
  heartbeats (a ``status`` message), once per ``last_seen`` value.
- LOW_BATTERY when ``battery < low_pct``; re-armed only once ``battery ≥ clear_pct`` (hysteresis).
- A resident is *monitored* while it has no activity sensor at all, or at least one activity sensor
  that is online and (unsupervised or seen within its limit).

Safety: a (device, channel) episode starts on the first ``true`` after ``false``/unknown and ends on
``false``; only the start is reported.
"""

from __future__ import annotations

import numpy as np
from numba import njit

try:  # one place for Numba flags when the package defines it
    from stream.kernels import JIT
except ImportError:  # pragma: no cover - depends on the shared package
    JIT = {"cache": True}

# device state columns (int64)
D_RES = 0  # resident slot of the owner (caller's SlotMap)
D_LAST = 1  # last message, epoch ms (−1: never)
D_ONLINE = 2  # 1 online, 0 offline (last will)
D_OFF_SINCE = 3  # when it went offline, epoch ms
D_HEART = 4  # 1 once it sent a status message: its silence is supervised
D_CLASS = 5  # 0 battery-powered, 1 mains-powered
D_ACTIVITY = 6  # 1 for a home-activity sensor (PIR, contacts, pads, flush, appliance)
D_SILENT_FIRED = 7  # 1 once DEVICE_SILENT fired for the current D_LAST
D_BATTERY = 8  # battery %, −1 unknown
D_LOW_FIRED = 9  # 1 while a LOW_BATTERY episode is open
D_LIMIT_MS = 10  # this device's silence limit, ms (0: not set yet; −1: its class's limit from params)
N_DEV_COLS = 11

# params (float64)
P_SILENT_BATTERY_S = 0
P_SILENT_MAINS_S = 1
P_LOW_PCT = 2
P_CLEAR_PCT = 3
N_SUP_PARAMS = 4

# detection codes
K_OFFLINE = 0
K_SILENT = 1
K_LOW_BATTERY = 2

# per-event input flags
NO_VALUE = -1


def new_devices(capacity: int) -> np.ndarray:
    """Empty device rows: never seen, online, battery unknown."""
    dev = np.zeros((capacity, N_DEV_COLS), dtype=np.int64)
    dev[:, D_RES] = -1
    dev[:, D_LAST] = -1
    dev[:, D_ONLINE] = 1
    dev[:, D_OFF_SINCE] = -1
    dev[:, D_BATTERY] = -1
    return dev


@njit(**JIT)
def _limit_ms(dev: np.ndarray, d: int, params: np.ndarray) -> int:
    if dev[d, D_LIMIT_MS] > 0:
        return dev[d, D_LIMIT_MS]
    if dev[d, D_CLASS] == 1:
        return int(params[P_SILENT_MAINS_S] * 1000.0)
    return int(params[P_SILENT_BATTERY_S] * 1000.0)


@njit(**JIT)
def supervise_process(
    dev: np.ndarray,
    slot: np.ndarray,
    res: np.ndarray,
    ts: np.ndarray,
    online: np.ndarray,
    battery: np.ndarray,
    is_status: np.ndarray,
    params: np.ndarray,
    out: np.ndarray,
) -> int:
    """Apply one batch of device messages; write detections to ``out`` rows ``(event, code, start_ms)``.

    ``slot``/``res``: device and resident slots (int64); ``ts``: epoch ms; ``online``: −1 absent,
    0 last will, 1 online; ``battery``: % or −1; ``is_status``: 1 for a ``status`` message.
    Returns the number of detections written (at most two per event).
    """
    n_out = 0
    low = params[P_LOW_PCT]
    clear = params[P_CLEAR_PCT]
    for i in range(slot.shape[0]):
        d = slot[i]
        t = ts[i]
        dev[d, D_RES] = res[i]
        if is_status[i] == 1:
            dev[d, D_HEART] = 1
        if t > dev[d, D_LAST]:
            dev[d, D_LAST] = t
            dev[d, D_SILENT_FIRED] = 0
        if online[i] == 0:
            if dev[d, D_ONLINE] == 1:
                dev[d, D_ONLINE] = 0
                dev[d, D_OFF_SINCE] = t
                out[n_out, 0] = i
                out[n_out, 1] = K_OFFLINE
                out[n_out, 2] = t
                n_out += 1
        elif dev[d, D_ONLINE] == 0 and t >= dev[d, D_OFF_SINCE]:
            dev[d, D_ONLINE] = 1
        b = battery[i]
        if b >= 0:
            dev[d, D_BATTERY] = b
            if b < low and dev[d, D_LOW_FIRED] == 0:
                dev[d, D_LOW_FIRED] = 1
                out[n_out, 0] = i
                out[n_out, 1] = K_LOW_BATTERY
                out[n_out, 2] = t
                n_out += 1
            elif b >= clear:
                dev[d, D_LOW_FIRED] = 0
    return n_out


@njit(**JIT)
def supervise_advance(dev: np.ndarray, n_dev: int, now_ms: int, params: np.ndarray, out: np.ndarray) -> int:
    """DEVICE_SILENT for supervised, online devices silent longer than their class limit.

    Writes rows ``(device slot, K_SILENT, last_seen_ms)``; returns how many.
    """
    n_out = 0
    for d in range(n_dev):
        if dev[d, D_LAST] < 0 or dev[d, D_HEART] == 0 or dev[d, D_ONLINE] == 0:
            continue
        if dev[d, D_SILENT_FIRED] == 1:
            continue
        if now_ms - dev[d, D_LAST] > _limit_ms(dev, d, params):
            dev[d, D_SILENT_FIRED] = 1
            out[n_out, 0] = d
            out[n_out, 1] = K_SILENT
            out[n_out, 2] = dev[d, D_LAST]
            n_out += 1
    return n_out


@njit(**JIT)
def home_health(
    dev: np.ndarray, n_dev: int, n_res: int, now_ms: int, params: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per resident slot: ``monitored`` (uint8) and ``since_ms`` (int64).

    ``monitored[r] = 1`` when resident ``r`` has no activity sensor or at least one healthy one;
    a sensor is healthy while online and, if heartbeat-supervised, seen within its silence limit.
    ``since_ms[r]``: when the last activity sensor became unhealthy (−1 while monitored).
    """
    n_act = np.zeros(n_res, dtype=np.int64)
    n_ok = np.zeros(n_res, dtype=np.int64)
    since = np.full(n_res, -1, dtype=np.int64)
    for d in range(n_dev):
        r = dev[d, D_RES]
        if r < 0 or r >= n_res or dev[d, D_ACTIVITY] == 0 or dev[d, D_LAST] < 0:
            continue
        n_act[r] += 1
        if dev[d, D_ONLINE] == 0:
            bad = dev[d, D_OFF_SINCE]
        elif dev[d, D_HEART] == 1 and now_ms - dev[d, D_LAST] > _limit_ms(dev, d, params):
            bad = dev[d, D_LAST] + _limit_ms(dev, d, params)
        else:
            n_ok[r] += 1
            continue
        if bad > since[r]:
            since[r] = bad
    monitored = np.ones(n_res, dtype=np.uint8)
    for r in range(n_res):
        if n_act[r] > 0 and n_ok[r] == 0:
            monitored[r] = 0
        else:
            since[r] = -1
    return monitored, since


@njit(**JIT)
def episode_starts(active: np.ndarray, slot: np.ndarray, flags: np.ndarray, out: np.ndarray) -> int:
    """Rising edges of boolean channels: ``active[d, c]`` is 1 while an episode is open.

    ``flags[i, c]``: −1 channel absent in event ``i``, 0 cleared, 1 raised. Writes ``(i, c)`` for each
    event that opens an episode; returns how many.
    """
    n_out = 0
    for i in range(slot.shape[0]):
        d = slot[i]
        for c in range(flags.shape[1]):
            f = flags[i, c]
            if f == 1 and active[d, c] == 0:
                active[d, c] = 1
                out[n_out, 0] = i
                out[n_out, 1] = c
                n_out += 1
            elif f == 0:
                active[d, c] = 0
    return n_out
