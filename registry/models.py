"""The registry's records as the outside sees them: Create / Update / Public models.

Validation is strict (operator input): text may not carry NUL or other control characters, codes and
ids have fixed alphabets, enumerations are closed. The same models validate API bodies and CSV rows.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from devices.catalogue import Power
from devices.zigbee2mqtt import IGNORED_NAMES
from registry.crypto import id_number_problem
from registry.roles import Role

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


def _check_z2m_name(name: str) -> str:
    """A Zigbee2MQTT friendly name the gateway hears: it takes a device's state on ``<base>/<name>``, one
    topic level (``<base>/+``), and leaves ``<base>/bridge`` to Zigbee2MQTT's bridge."""
    if not 1 <= len(name) <= 64:
        raise ValueError("a Zigbee2MQTT friendly name has 1 to 64 characters")
    if name.lower() in IGNORED_NAMES:  # names are one namespace without case
        raise ValueError(f"{name!r} is reserved: the gateway reads <base>/{name} as Zigbee2MQTT's own, never a device")
    if "/" in name:
        raise ValueError("'/' is not allowed: the gateway hears a device on <base>/<name>, one topic level")
    if "+" in name or "#" in name:
        raise ValueError("'+' and '#' are not allowed: they are MQTT wildcards")
    if any(_refused_in_topics(ord(char)) for char in name):
        raise ValueError("control characters, surrogates and noncharacters are not allowed: the broker refuses them")
    return name


def _refused_in_topics(code: int) -> bool:
    """Code points a broker refuses in a topic (MQTT 3.1.1 §1.5.3; Mosquitto closes the connection): C0
    and C1 controls, UTF-16 surrogates (no UTF-8 at all) and the Unicode noncharacters."""
    return (
        code < 0x20
        or 0x7F <= code <= 0x9F
        or 0xD800 <= code <= 0xDFFF
        or 0xFDD0 <= code <= 0xFDEF
        or code & 0xFFFE == 0xFFFE
    )


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_printable)
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(_printable)]
Long = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), AfterValidator(_printable)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,32}$")]
ObjectId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
DeviceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_:-]{1,64}$")]
DeviceType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^(\+?[0-9][0-9 -]{2,19})?$")]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{3,64}$")]
Password = Annotated[str, StringConstraints(min_length=10, max_length=128), AfterValidator(_printable)]
Ieee = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{16}$")]
Z2mName = Annotated[str, AfterValidator(_check_z2m_name)]
KeySafeCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z#*]{1,16}$")]

Sex = Literal["female", "male", "unknown"]
Mobility = Literal["independent", "walking_aid", "wheelchair", "bedridden"]
CareLevel = Literal["standard", "enhanced", "intensive"]
Channel = Literal["phone", "sms", "wechat", "email", "app"]
Level = Literal["city", "district", "street", "community"]
ORG_LEVELS: tuple[str, ...] = get_args(Level)
DeviceStatus = Literal["active", "failed", "replaced", "retired"]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- org tree --


class OrgNodeCreate(_Strict):
    code: Code
    name: Name
    level: Level
    parent: Code | None = None


class OrgNodePublic(BaseModel):
    code: str
    name: str
    level: str
    parent: str | None
    path: str


# -- homes --


class KeyHolder(_Strict):
    name: Name
    phone: Phone = ""
    relation: Short = ""


class HomeCreate(_Strict):
    external_id: ObjectId | None = None
    org_node: Code
    address: Long = ""
    key_holders: list[KeyHolder] = Field(default_factory=list, max_length=10)
    key_safe_code: KeySafeCode | None = None
    notes: Long = ""


class HomeUpdate(_Strict):
    org_node: Code | None = None
    address: Long | None = None
    key_holders: list[KeyHolder] | None = Field(None, max_length=10)
    key_safe_code: KeySafeCode | None = None
    notes: Long | None = None


class HomePublic(BaseModel):
    id: str
    external_id: str | None
    org_node: str | None
    org_path: str
    address: str
    key_holders: list[KeyHolder]
    key_safe_set: bool
    notes: str
    created_at: datetime
    updated_at: datetime


class KeySafe(BaseModel):
    home_id: str
    key_safe_code: str | None


# -- residents --


class EmergencyContact(_Strict):
    """In order of whom to call first."""

    name: Name
    relation: Short = ""
    phone: Phone = ""
    channels: list[Channel] = Field(default_factory=lambda: list[Channel](["phone"]), max_length=5)


def _check_id_number(value: str | None) -> str | None:
    if value is None:
        return None
    problem = id_number_problem(value)
    if problem:
        raise ValueError(problem)
    return value.upper()


def _check_birth(value: date | None) -> date | None:
    if value is not None and not date(1890, 1, 1) <= value <= date.today():
        raise ValueError("date of birth must be between 1890-01-01 and today")
    return value


TIME_OF_DAY = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
"""A time of day ``HH:MM``, 24-hour, two digits each (as the database's CHECK on ``residents``)."""


def _check_time_of_day(value: object, info: ValidationInfo) -> object:
    """Only a string ``HH:MM`` (00:00–23:59): not a number, ``7:30``, ``24:00`` or an empty string."""
    if not isinstance(value, str) or not TIME_OF_DAY.fullmatch(value):
        raise ValueError(f"{info.field_name or 'time'} must be a time of day HH:MM (00:00–23:59), local time")
    return value


def minutes_of_day(value: str) -> int:
    """``"07:30"`` → 450: minutes after local midnight of a :data:`TimeOfDay`."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def time_of_day(minutes: int) -> str:
    """450 → ``"07:30"``: the :data:`TimeOfDay` of minutes after local midnight (the inverse of
    :func:`minutes_of_day`; taken modulo a day)."""
    minutes %= 24 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


NIGHT_WATCH = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$")
"""A night-exit watch ``HH:MM-HH:MM`` (as the database's CHECK on ``residents``)."""


def _check_night_watch(value: object) -> object:
    """Only a string ``HH:MM-HH:MM`` whose start and end differ (``22:00-06:00`` crosses midnight)."""
    if not isinstance(value, str) or not NIGHT_WATCH.fullmatch(value):
        raise ValueError("night_exit_watch must be local times HH:MM-HH:MM, e.g. 22:00-06:00")
    start, end = value.split("-")
    if start == end:
        raise ValueError("night_exit_watch must start and end at different times")
    return value


IdNumber = Annotated[str, StringConstraints(max_length=18), AfterValidator(_check_id_number)]
BirthDate = Annotated[date, AfterValidator(_check_birth)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), AfterValidator(_printable)]
TimeOfDay = Annotated[str, StringConstraints(pattern=TIME_OF_DAY.pattern), BeforeValidator(_check_time_of_day)]
NightWatch = Annotated[str, StringConstraints(pattern=NIGHT_WATCH.pattern), BeforeValidator(_check_night_watch)]
NIGHT_EXIT_WATCH = (
    "watch this resident for going out at night (dementia, known to wander): HH:MM-HH:MM local time; the"
    " entrance door opening in these hours with nothing moving inside for 10 minutes after raises a night-exit"
    " alert"
)
USUAL_WAKE = (
    "the resident's usual time of getting up, HH:MM local time; the home detector uses it in a home's first"
    " days, before it has learned the resident's own"
)
USUAL_BED = (
    "the resident's usual time of going to bed, HH:MM local time; the home detector uses it in a home's first"
    " days, before it has learned the resident's own"
)


class _ResidentFields(_Strict):
    @field_validator("languages", "conditions", "medications", check_fields=False)
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return list(dict.fromkeys(value)) if value is not None else None


class ResidentCreate(_ResidentFields):
    external_id: ObjectId | None = None
    name: Name
    id_number: IdNumber | None = None
    birth_date: BirthDate | None = None
    sex: Sex = "unknown"
    org_node: Code
    home_id: ObjectId | None = None
    address: Long = ""
    phone: Phone = ""
    languages: list[Tag] = Field(default_factory=list, max_length=10)
    living_alone: bool = False
    mobility: Mobility = "independent"
    conditions: list[Tag] = Field(default_factory=list, max_length=50)
    medications: list[Tag] = Field(default_factory=list, max_length=50)
    care_level: CareLevel = "standard"
    emergency_contacts: list[EmergencyContact] = Field(default_factory=list, max_length=10)
    consent_monitoring: bool = False
    consent_data_sharing: bool = False
    photo_url: Annotated[str, StringConstraints(pattern=r"^(https?://|/)[^\s\x00-\x1f]{0,490}$")] | None = None
    usual_wake: TimeOfDay | None = Field(None, description=USUAL_WAKE, examples=["07:30"])
    usual_bed: TimeOfDay | None = Field(None, description=USUAL_BED, examples=["22:00"])
    night_exit_watch: NightWatch | None = Field(None, description=NIGHT_EXIT_WATCH, examples=["22:00-06:00"])


class ResidentUpdate(_ResidentFields):
    name: Name | None = None
    id_number: IdNumber | None = None
    birth_date: BirthDate | None = None
    sex: Sex | None = None
    org_node: Code | None = None
    home_id: ObjectId | None = None
    address: Long | None = None
    phone: Phone | None = None
    languages: list[Tag] | None = Field(None, max_length=10)
    living_alone: bool | None = None
    mobility: Mobility | None = None
    conditions: list[Tag] | None = Field(None, max_length=50)
    medications: list[Tag] | None = Field(None, max_length=50)
    care_level: CareLevel | None = None
    emergency_contacts: list[EmergencyContact] | None = Field(None, max_length=10)
    consent_monitoring: bool | None = None
    consent_data_sharing: bool | None = None
    photo_url: Annotated[str, StringConstraints(pattern=r"^(https?://|/)[^\s\x00-\x1f]{0,490}$")] | None = None
    usual_wake: TimeOfDay | None = Field(None, description=USUAL_WAKE + "; null clears it", examples=["07:30"])
    usual_bed: TimeOfDay | None = Field(None, description=USUAL_BED + "; null clears it", examples=["22:00"])
    night_exit_watch: NightWatch | None = Field(
        None, description=NIGHT_EXIT_WATCH + "; null clears it", examples=["22:00-06:00"]
    )


class ResidentSummary(BaseModel):
    id: str
    external_id: str | None
    name: str
    id_number_masked: str
    birth_date: date | None
    sex: str
    org_node: str | None
    org_path: str
    address: str
    phone: str
    living_alone: bool
    care_level: str


# -- devices --


class DeviceCreate(_Strict):
    id: DeviceId
    type: DeviceType
    model: Short = ""
    resident_id: ObjectId | None = None
    org_node: Code | None = Field(None, description="for a device not bound to a resident (stock)")
    location: Short = ""
    power: Power | None = Field(None, description="default: the device type's (devices/catalogue.py)")
    z2m_name: Z2mName | None = None
    ieee: Ieee | None = None
    issue_credentials: bool = Field(True, description="generate MQTT credentials, returned once")


class DeviceUpdate(_Strict):
    resident_id: ObjectId | None = Field(None, description="bind to a resident; null unbinds")
    org_node: Code | None = None
    model: Short | None = None
    location: Short | None = None
    power: Power | None = None
    z2m_name: Z2mName | None = None
    ieee: Ieee | None = None
    status: Literal["active", "failed", "retired"] | None = None


class DeviceReplace(_Strict):
    new_id: DeviceId
    model: Short | None = None
    issue_credentials: bool = True


class DevicePublic(BaseModel):
    id: str
    type: str
    model: str
    location: str
    power: str
    z2m_name: str | None
    ieee: str | None
    resident_id: str | None
    resident_name: str | None = None
    home_id: str | None
    org_node: str | None
    org_path: str
    status: str
    replaces: str | None
    replaced_by: str | None
    has_credentials: bool
    created_at: datetime
    updated_at: datetime


class DeviceCredentials(BaseModel):
    device_id: str
    mqtt_username: str
    mqtt_password: str = Field(description="shown once; only its PBKDF2 hash is stored")


class DeviceCreated(DevicePublic):
    credentials: DeviceCredentials | None = None


class DeviceHistoryEntry(BaseModel):
    id: int
    device_id: str
    at: datetime
    actor: str
    action: str
    details: dict[str, object]


class ResidentPublic(ResidentSummary):
    languages: list[str]
    mobility: str
    conditions: list[str]
    medications: list[str]
    emergency_contacts: list[EmergencyContact]
    consent_monitoring: bool
    consent_data_sharing: bool
    photo_url: str | None
    usual_wake: str | None = Field(None, description=USUAL_WAKE)
    usual_bed: str | None = Field(None, description=USUAL_BED)
    night_exit_watch: str | None = Field(None, description=NIGHT_EXIT_WATCH)
    home: HomePublic | None
    devices: list[DevicePublic]
    alerts: list[dict[str, Any]] = []
    """The resident's alert history, newest first (from alerting)."""
    created_at: datetime
    updated_at: datetime


# -- users --


class UserCreate(_Strict):
    username: Username
    password: Password
    role: Role
    org_node: Code | None = None
    resident_id: ObjectId | None = None
    display_name: Short = ""


class UserUpdate(_Strict):
    password: Password | None = None
    role: Role | None = None
    org_node: Code | None = None
    resident_id: ObjectId | None = None
    display_name: Short | None = None
    active: bool | None = None


class UserPublic(BaseModel):
    username: str
    role: str
    org_node: str | None
    org_path: str
    resident_id: str | None
    display_name: str
    active: bool
    created_at: datetime


# -- audit --


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    object_type: str
    object_id: str
    org_path: str
    details: dict[str, object]
