"""The care side of the API under ``/api/v1/care``: one router per resource, gathered here so the
application includes them in one line."""

from __future__ import annotations

from fastapi import APIRouter

from api import care_assessments, care_beds, care_categories, care_indicators, care_visits

router = APIRouter()
for module in (care_categories, care_visits, care_assessments, care_beds, care_indicators):
    router.include_router(module.router)
