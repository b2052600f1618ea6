"""The normalised event: what every device message becomes once the gateway has decoded it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt


class Stream(StrEnum):
    """The ``<stream>`` part of ``eldercare/v1/<device_id>/<stream>``."""

    ALARM = "alarm"
    MOTION = "motion"
    CONTACT = "contact"
    BED = "bed"
    SEAT = "seat"
    PRESENCE = "presence"
    VIBRATION = "vibration"
    ENV = "env"
    VITALS = "vitals"
    IMU = "imu"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class ImuBlock:
    """A contiguous run of one device's accelerometer samples.

    ``t_ms``: sample times, epoch milliseconds (float64, non-decreasing; gaps allowed).
    ``acc``: accelerations in g, shape ``(n, 3)``, float32, device axes (any orientation).
    """

    t_ms: npt.NDArray[np.float64]
    acc: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.t_ms.shape[0])


@dataclass(frozen=True, slots=True)
class Event:
    """One decoded device message, resolved to its resident.

    ``values`` holds the normalised fields of the stream:

    - ``alarm``: ``{"kind": "sos" | "fall", "press": "single"|"double"|"hold"?}``; a radar's
      possible fall adds ``"warning": true``
    - ``motion``: ``{"occupancy": bool}`` (movement); ``contact``: ``{"open": bool}``
    - ``presence``: ``{"present": bool}`` (someone is there, moving or not: a radar)
    - ``vibration``: ``{"kind": "vibration" | "tilt" | "drop"}``
    - ``bed`` / ``seat``: ``{"occupied": bool}``
    - ``env``: any of ``{"smoke": bool, "gas": bool, "water_leak": bool}``
    - ``vitals``: any of ``hr`` (bpm), ``spo2`` (%), ``sbp``/``dbp`` (mmHg), ``temp`` (°C)
    - ``status``: any of ``{"online": bool, "battery": int (%), "battery_low": bool, "tamper": bool,
      "smoke_test": bool}``
    - ``imu``: empty; the samples are in ``imu``.

    ``device_type`` and ``location`` come from the registry (``door`` is the entrance door,
    ``contact`` any other door or cupboard, ``flush``, ``appliance``, ``pir``, ``bed``…).
    """

    device_id: str
    resident_id: str
    stream: Stream
    ts_ms: int
    received_ms: int
    values: Mapping[str, Any] = field(default_factory=dict)
    seq: int | None = None
    device_type: str = ""
    location: str = ""
    imu: ImuBlock | None = None
