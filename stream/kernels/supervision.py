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
- Quiet beyond habit (an activity sensor that still checks in but no longer senses: a magnet knocked
  off a door, a PIR covered, a pad unplugged): per activity sensor ``d`` the faded longest *mute
  spell* ``g[d]`` (ms), where a mute spell is the time between two of its activity messages during
  which the home's other sensors went on reporting, ``min(t, other_last) − last_act[d]``
  (``other_last``: the resident's latest activity message from another sensor before ``t``), so a
  holiday, when every sensor is quiet, is no spell; on each spell ``g ← max(spell, g · decay^days)``
  with ``days`` the time since its previous activity in days (a spell already noticed is a fault,
  not a habit: only faded). Once ``d`` has ``quiet_min_n`` activity messages over at least
  ``quiet_learn_s``, DEVICE_SILENT (``K_QUIET``) when the home's other sensors have reported for
  longer than ``max(quiet_factor · g[d], quiet_floor_s)`` since ``d``'s last activity message: once
  per such silence.
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
D_FIRST_ACT = 11  # first activity message, epoch ms (−1: none yet)
D_LAST_ACT = 12  # last activity message, epoch ms (−1: none yet)
D_ACT_N = 13  # activity messages so far (capped)
D_MUTE_MAX = 14  # faded longest mute spell while the home's other sensors reported, ms
D_QUIET_FIRED = 15  # 1 once K_QUIET fired for the current D_LAST_ACT
N_DEV_COLS = 16

# per-resident activity columns (int64): whose activity was the latest, and the latest of any other sensor
H_LAST = 0  # latest activity message of any of the resident's sensors, epoch ms (−1: none)
H_LAST_DEV = 1  # the device slot that sent it
H_OTHER = 2  # latest activity message of a sensor other than H_LAST_DEV, epoch ms (−1: none)
N_HOME_COLS = 3

# params (float64)
P_SILENT_BATTERY_S = 0
P_SILENT_MAINS_S = 1
P_LOW_PCT = 2
P_CLEAR_PCT = 3
P_QUIET_FACTOR = 4  # K_QUIET after this many times the sensor's longest mute spell (0: off)
P_QUIET_FLOOR_S = 5  # and never before this long, s
P_QUIET_LEARN_S = 6  # only once its activity spans this long, s
P_QUIET_MIN_N = 7  # and it has sent this many activity messages
P_QUIET_DECAY = 8  # per-day fading of the longest mute spell
N_SUP_PARAMS = 9

# detection codes
K_OFFLINE = 0
K_SILENT = 1
K_LOW_BATTERY = 2
K_QUIET = 3

DAY_MS = 86_400_000
ACT_N_CAP = 1 << 40

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
    dev[:, D_FIRST_ACT] = -1
    dev[:, D_LAST_ACT] = -1
    return dev


def new_homes(capacity: int) -> np.ndarray:
    """Empty per-resident activity rows: nothing heard yet."""
    home = np.full((capacity, N_HOME_COLS), -1, dtype=np.int64)
    return home


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
    is_act: np.ndarray,
    home: np.ndarray,
    params: np.ndarray,
    out: np.ndarray,
) -> int:
    """Apply one batch of device messages; write detections to ``out`` rows ``(event, code, start_ms)``.

    ``slot``/``res``: device and resident slots (int64); ``ts``: epoch ms; ``online``: −1 absent,
    0 last will, 1 online; ``battery``: % or −1; ``is_status``: 1 for a ``status`` message;
    ``is_act``: 1 for an activity message of an activity sensor (learns its mute spells, ``home``:
    per-resident rows ``H_*``). Returns the number of detections written (at most two per event).
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
        if is_act[i] == 1:
            _learn_activity(dev, d, res[i], t, home, params)
    return n_out


@njit(**JIT)
def other_last(home: np.ndarray, r: int, d: int) -> int:
    """The latest activity message of resident ``r``'s sensors other than device ``d`` (ms; −1: none)."""
    if r < 0 or r >= home.shape[0]:
        return -1
    return home[r, H_OTHER] if home[r, H_LAST_DEV] == d else home[r, H_LAST]


@njit(**JIT)
def _learn_activity(dev: np.ndarray, d: int, r: int, t: int, home: np.ndarray, params: np.ndarray) -> None:
    """An activity message of device ``d`` (resident ``r``) at ``t``: its mute spell, then the home's rows."""
    last = dev[d, D_LAST_ACT]
    if t <= last:
        return  # a late or repeated message: no new spell
    if last >= 0:
        spell = min(t, other_last(home, r, d)) - last
        faded = int(dev[d, D_MUTE_MAX] * params[P_QUIET_DECAY] ** ((t - last) / DAY_MS))
        # a spell that was noticed was a fault (or is already said): not the sensor's habit
        dev[d, D_MUTE_MAX] = faded if dev[d, D_QUIET_FIRED] == 1 else max(spell, faded)
    else:
        dev[d, D_FIRST_ACT] = t
    dev[d, D_LAST_ACT] = t
    dev[d, D_ACT_N] = min(dev[d, D_ACT_N] + 1, ACT_N_CAP)
    dev[d, D_QUIET_FIRED] = 0
    if 0 <= r < home.shape[0] and t >= home[r, H_LAST]:
        if home[r, H_LAST_DEV] != d:
            home[r, H_OTHER] = home[r, H_LAST]
            home[r, H_LAST_DEV] = d
        home[r, H_LAST] = t


@njit(**JIT)
def quiet_limit_ms(dev: np.ndarray, d: int, params: np.ndarray) -> int:
    """How long the home's other sensors may report while ``d`` stays mute (ms; −1: not yet learned or off)."""
    factor = params[P_QUIET_FACTOR]
    if factor <= 0.0 or dev[d, D_LAST_ACT] < 0 or dev[d, D_ACT_N] < params[P_QUIET_MIN_N]:
        return -1
    if dev[d, D_LAST_ACT] - dev[d, D_FIRST_ACT] < params[P_QUIET_LEARN_S] * 1000.0:
        return -1
    return int(max(factor * dev[d, D_MUTE_MAX], params[P_QUIET_FLOOR_S] * 1000.0))


@njit(**JIT)
def supervise_advance(
    dev: np.ndarray, n_dev: int, now_ms: int, home: np.ndarray, params: np.ndarray, out: np.ndarray
) -> int:
    """DEVICE_SILENT for supervised, online devices silent longer than their class limit (``K_SILENT``)
    and for activity sensors mute beyond their habit while the home's others report (``K_QUIET``).

    Writes rows ``(device slot, code, last_seen_ms)`` (``K_QUIET``: its last activity message);
    returns how many (at most two per device).
    """
    n_out = 0
    for d in range(n_dev):
        if dev[d, D_LAST] < 0 or dev[d, D_ONLINE] == 0:
            continue
        if dev[d, D_HEART] == 1 and dev[d, D_SILENT_FIRED] == 0 and now_ms - dev[d, D_LAST] > _limit_ms(dev, d, params):
            dev[d, D_SILENT_FIRED] = 1
            out[n_out, 0] = d
            out[n_out, 1] = K_SILENT
            out[n_out, 2] = dev[d, D_LAST]
            n_out += 1
        if dev[d, D_ACTIVITY] == 0 or dev[d, D_QUIET_FIRED] == 1:
            continue
        if dev[d, D_HEART] == 1 and dev[d, D_SILENT_FIRED] == 1:
            continue  # unheard altogether: DEVICE_SILENT by its type's limit says it already
        limit = quiet_limit_ms(dev, d, params)
        if limit >= 0 and other_last(home, dev[d, D_RES], d) - dev[d, D_LAST_ACT] > limit:
            dev[d, D_QUIET_FIRED] = 1
            out[n_out, 0] = d
            out[n_out, 1] = K_QUIET
            out[n_out, 2] = dev[d, D_LAST_ACT]
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
