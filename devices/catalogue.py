"""Device types as data: what each registry device type is, publishes and means to supervision.

One row of :data:`CATALOGUE` per type the platform knows; :func:`device_type` looks one up and
answers any other name with a cautious default (battery-powered, not an activity sensor, announcing
nothing, the battery silence limit), as the registry accepts any well-formed type. The gateway reads
Zigbee2MQTT payloads by a type's :attr:`DeviceType.zigbee_role`, the registry stores a type's power
source when none is given, the stream core takes activity sensors and silence limits from here,
alerting finds the devices that speak or light up, the console's labels match its names, and the
firmware simulator finds its wearables.

Silence limits (heartbeat-based offline detection): a device that has sent a ``status`` message and
is then unheard for longer than its type's ``silence_limit_s`` is DEVICE_SILENT. Mains-powered
devices heartbeat often (the simulator's hub every 60 s, gas alarm and vitals monitor every 120 s),
so ten minutes of silence means power or link is lost; battery devices report rarely to save the
battery (hourly), so six hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from devices.events import Stream

Power = Literal["battery", "mains"]
Worn = Literal["", "neck", "wrist", "pocket"]

MAINS_SILENCE_S = 10 * 60.0
"""Default silence limit of a mains-powered device (s)."""
BATTERY_SILENCE_S = 6 * 3600.0
"""Default silence limit of a battery-powered device (s)."""

ACTIVITY_STREAMS = frozenset(
    {Stream.MOTION, Stream.CONTACT, Stream.BED, Stream.SEAT, Stream.PRESENCE, Stream.VIBRATION}
)
"""Streams whose events are the resident's activity in the home, whatever device sends them."""


class Role(StrEnum):
    """How a device type's Zigbee2MQTT payload fields are read (:mod:`devices.zigbee2mqtt`)."""

    CALL = "call"  # any non-empty action (not a release) is a call for help
    MOTION = "motion"  # occupancy = movement (PIR)
    PRESENCE = "presence"  # occupancy/presence = someone is there (mmWave radar); its movement reports = motion
    FALL_RADAR = "fall_radar"  # presence radar that also reports falls
    BED = "bed"  # occupancy / pressure / contact (pad pressed = contact closed) = lying on the bed
    SEAT = "seat"  # the same for a chair or sofa
    DOOR = "door"  # contact (true = closed)
    ENV = "env"  # smoke, gas, water_leak
    VIBRATION = "vibration"  # vibration / tilt / drop
    OTHER = "other"  # only the fields every device may carry (sos, battery, tamper…)


@dataclass(frozen=True, slots=True)
class DeviceType:
    """One device type.

    ``streams``: what it publishes (besides ``status``, which every device may send);
    ``activity``: its events count as the resident's activity (a home whose activity sensors are all
    offline or silent is unmonitored, never inactive), beyond :data:`ACTIVITY_STREAMS`, which count
    from any device; ``announces``: it speaks or lights up in the home (countdowns, "help is on the
    way"); ``silence_limit_s``: see the module docstring (s; 0 in a row: :data:`MAINS_SILENCE_S` or
    :data:`BATTERY_SILENCE_S` by its power source); ``worn``: where a wearable is worn
    (``""``: not worn); ``zigbee_role``: how its Zigbee2MQTT fields are read.
    """

    name: str
    label_en: str
    label_zh: str
    power: Power
    streams: frozenset[Stream]
    activity: bool = False
    announces: bool = False
    silence_limit_s: float = 0.0
    worn: Worn = ""
    zigbee_role: Role = Role.OTHER

    def __post_init__(self) -> None:
        if self.silence_limit_s == 0.0:
            default = MAINS_SILENCE_S if self.power == "mains" else BATTERY_SILENCE_S
            object.__setattr__(self, "silence_limit_s", default)
        if not self.silence_limit_s > 0:
            raise ValueError(f"{self.name}: the silence limit must be positive seconds")

    @property
    def mains(self) -> bool:
        return self.power == "mains"

    @property
    def wearable(self) -> bool:
        return self.worn != ""


def _types(*rows: DeviceType) -> dict[str, DeviceType]:
    return {row.name: row for row in rows}


S = Stream
CATALOGUE: dict[str, DeviceType] = _types(
    # calls for help
    DeviceType("sos_button", "SOS button", "一键呼叫按钮", "battery", frozenset({S.ALARM}), announces=True,
               zigbee_role=Role.CALL),
    DeviceType("button", "call button", "呼叫按钮", "battery", frozenset({S.ALARM}), zigbee_role=Role.CALL),
    DeviceType("pendant", "fall pendant", "跌倒挂件", "battery", frozenset({S.ALARM, S.IMU}), announces=True,
               worn="neck", zigbee_role=Role.CALL),
    DeviceType("wristband", "wristband", "手环", "battery", frozenset({S.ALARM, S.IMU}), worn="wrist"),
    DeviceType("phone", "phone (fall app)", "手机（跌倒检测应用）", "battery", frozenset({S.ALARM, S.IMU}),
               worn="pocket"),
    DeviceType("hub", "hub", "网关", "mains", frozenset({S.ALARM}), announces=True),
    DeviceType("gateway", "home gateway", "家庭网关", "mains", frozenset()),
    # activity in the home
    DeviceType("pir", "motion sensor", "人体感应", "battery", frozenset({S.MOTION}), activity=True,
               zigbee_role=Role.MOTION),
    DeviceType("motion", "motion sensor", "人体感应", "battery", frozenset({S.MOTION}), activity=True,
               zigbee_role=Role.MOTION),
    DeviceType("presence", "presence radar", "存在雷达", "mains", frozenset({S.PRESENCE, S.MOTION}), activity=True,
               zigbee_role=Role.PRESENCE),
    DeviceType("radar", "presence radar", "存在雷达", "mains", frozenset({S.PRESENCE, S.MOTION}), activity=True,
               zigbee_role=Role.PRESENCE),
    DeviceType("fall_radar", "fall radar", "跌倒雷达", "mains", frozenset({S.PRESENCE, S.MOTION, S.ALARM}),
               activity=True, zigbee_role=Role.FALL_RADAR),
    DeviceType("door", "door sensor", "门磁", "battery", frozenset({S.CONTACT}), activity=True,
               zigbee_role=Role.DOOR),
    DeviceType("contact", "contact sensor", "门窗磁", "battery", frozenset({S.CONTACT}), activity=True,
               zigbee_role=Role.DOOR),
    DeviceType("bed", "bed pad", "床垫传感器", "battery", frozenset({S.BED}), activity=True, zigbee_role=Role.BED),
    DeviceType("seat", "seat pad", "坐垫传感器", "battery", frozenset({S.SEAT}), activity=True,
               zigbee_role=Role.SEAT),
    DeviceType("vibration", "vibration sensor", "振动传感器", "battery", frozenset({S.VIBRATION}), activity=True,
               zigbee_role=Role.VIBRATION),
    DeviceType("flush", "toilet flush sensor", "冲水传感器", "battery", frozenset({S.CONTACT}), activity=True),
    DeviceType("appliance", "appliance", "电器", "mains", frozenset({S.CONTACT}), activity=True),
    # safety and health
    DeviceType("smoke", "smoke alarm", "烟感", "battery", frozenset({S.ENV}), zigbee_role=Role.ENV),
    DeviceType("gas", "gas alarm", "燃气报警器", "mains", frozenset({S.ENV}), zigbee_role=Role.ENV),
    DeviceType("water", "water sensor", "水浸传感器", "battery", frozenset({S.ENV}), zigbee_role=Role.ENV),
    DeviceType("water_leak", "water sensor", "水浸传感器", "battery", frozenset({S.ENV}), zigbee_role=Role.ENV),
    DeviceType("vitals", "vital-signs monitor", "生命体征监测仪", "mains", frozenset({S.VITALS})),
    # power and cameras
    DeviceType("plug", "smart plug", "智能插座", "mains", frozenset()),
    DeviceType("camera", "camera", "摄像头", "mains", frozenset()),
)  # fmt: skip
del S


def device_type(name: str) -> DeviceType:
    """The catalogue row of ``name``; any other type is battery-powered, no activity sensor, announces nothing."""
    found = CATALOGUE.get(name)
    if found is not None:
        return found
    return DeviceType(name, name, name, "battery", frozenset())
