"""Care records as the API takes and gives them: Create / Public models, validated strictly."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from care.categories import BY_CODE
from registry.dates import Day, Moment
from registry.models import Code, Long, Short, Username, _printable


def _known_category(code: str) -> str:
    if code not in BY_CODE:
        raise ValueError(f"unknown category {code!r}; known: {', '.join(BY_CODE)}")
    return code


CategoryCode = Annotated[str, StringConstraints(max_length=32), AfterValidator(_known_category)]
Mode = Literal["in_person", "phone", "video"]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_printable)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MembershipCreate(Strict):
    category: CategoryCode
    source: Long = ""
    valid_from: Day
    valid_to: Day | None = None
    note: Long = ""


class MembershipEnd(Strict):
    valid_to: Day


class Membership(BaseModel):
    id: int
    resident_id: str
    category: str
    source: str
    valid_from: date
    valid_to: date | None
    note: str
    created_by: str
    created_at: datetime
    resident_name: str | None = None


class VisitRuleSet(Strict):
    org_node: Code | None = Field(None, description="the area the rule applies to; default: your area")
    category: CategoryCode
    interval_days: int = Field(ge=1, le=366)
    modes: list[Mode] = Field(["in_person", "phone", "video"], min_length=1, max_length=3)


class VisitorAssign(Strict):
    visitor: Username


class Findings(Strict):
    health: Note = ""
    home_safety: Note = ""
    needs: Note = ""


class Contact(Strict):
    """What a visit or a reached call found, and whether it cannot wait."""

    findings: Findings = Field(default_factory=Findings)
    concern: bool = False
    raise_alert: bool = Field(False, description="raise a care_concern alert for the console now")


class VisitCreate(Contact):
    at: Moment
    mode: Mode
    visitor: Short = Field("", description="who visited; default: you")


class Visit(BaseModel):
    id: int
    resident_id: str
    at: datetime
    mode: str
    visitor: str
    org_path: str
    findings: dict[str, Any]
    concern: bool
    alert_id: Any | None
    recorded_by: str
    recorded_at: datetime


ItemCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]


class AssessmentCreate(Strict):
    instrument: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.-]{1,40}$")] = "gbt42195-2022"
    assessor: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_printable)
    ]
    assessed_on: Day
    valid_until: Day | None = None
    answers: dict[ItemCode, int] = Field(max_length=200, description="item code → score (see the instrument)")
    modifiers: dict[ItemCode, bool] = Field(
        default_factory=dict, max_length=20, description="coma, dementia, mental_disorder, care_risk_events"
    )


class Assessment(BaseModel):
    id: int
    resident_id: str
    instrument: str
    assessed_on: date
    valid_until: date
    assessor: str
    answers: dict[str, Any]
    domain_scores: dict[str, int]
    total: int
    level: str
    recorded_by: str
    recorded_at: datetime


DeviceTypeCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]


class BedCreate(Strict):
    provider: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_printable)
    ]
    level: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")] = Field(
        description="care level of the contract (e.g. the assessment level: mild, moderate, severe, total)"
    )
    start_date: Day
    end_date: Day | None = None
    kit: list[DeviceTypeCode] = Field(default_factory=list, max_length=20, description="required device types")
    visits_per_month: int = Field(0, ge=0, le=100)
    services_per_month: int = Field(0, ge=0, le=200)


class Bed(BaseModel):
    id: str
    resident_id: str
    provider: str
    level: str
    start_date: date
    end_date: date | None
    kit: list[str]
    visits_per_month: int
    services_per_month: int
    created_by: str
    created_at: datetime


class BedServiceCreate(Strict):
    at: Moment
    service: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_printable)
    ]
    provider: Short = ""
    note: Long = ""


class PopulationRow(Strict):
    org_node: Code
    year: int = Field(ge=1900, le=2200)
    age_band: Literal["60-69", "70-79", "80+", "all"]
    category: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")] = "all"
    people: int = Field(ge=0, le=100_000_000)


class CallFinish(Contact):
    """The outcome of a care call; the findings count when the resident was reached."""

    outcome: Literal["reached", "no_answer", "busy", "wrong_number"]
    note: Long = ""


class CareCall(BaseModel):
    id: int
    resident_id: str
    operator: str
    org_path: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    retry_at: datetime | None
    note: str
    visit_id: int | None
