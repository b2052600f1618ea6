"""The care side of the API under ``/api/v1/care``: one router per resource, gathered here so the
application includes them in one line."""

from __future__ import annotations

from fastapi import APIRouter

from api import (
    care_assessments,
    care_beds,
    care_calls,
    care_categories,
    care_dashboard,
    care_indicators,
    care_visits,
)

router = APIRouter()
for module in (care_categories, care_visits, care_calls, care_assessments, care_beds, care_indicators, care_dashboard):
    router.include_router(module.router)
