"""The service centre's page, ``/service``: the call panel, the order board, the provider directory.

Server-rendered like the console (``{{key}}`` filled from ``api/static/service.i18n.<lang>.json``,
Chinese and English), the data from the service centre's API with the console's token.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.console import language_page, render_page

router = APIRouter(tags=["service centre"])


def _static(name: str) -> str:
    return resources.files("api").joinpath("static", name).read_text(encoding="utf-8")


@functools.cache
def strings(lang: str) -> dict[str, str]:
    return json.loads(_static(f"service.i18n.{lang}.json"))  # type: ignore[no-any-return]


def render(lang: str) -> str:
    return render_page("service.html", lang, strings(lang))


@router.get("/service", response_class=HTMLResponse, include_in_schema=False)
async def service_page(request: Request) -> HTMLResponse:
    return language_page(request, render)
