"""The service centre's page, ``/service``: the call panel, the order board, the provider directory.

Server-rendered like the console (``{{key}}`` filled from ``api/static/service.i18n.<lang>.json``,
Chinese and English), the data from the service centre's API with the console's token.
"""

from __future__ import annotations

import functools
import html
import json
import re
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.console import LANGUAGES, pick_language

router = APIRouter(tags=["service centre"])
_PLACEHOLDER = re.compile(r"\{\{([a-z0-9_.]+)\}\}")


def _static(name: str) -> str:
    return resources.files("api").joinpath("static", name).read_text(encoding="utf-8")


@functools.cache
def strings(lang: str) -> dict[str, str]:
    return json.loads(_static(f"service.i18n.{lang}.json"))  # type: ignore[no-any-return]


def render(lang: str) -> str:
    words = strings(lang)
    blob = json.dumps(words, ensure_ascii=False).replace("</", "<\\/")

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "lang":
            return lang
        if key == "i18n_json":
            return blob
        return html.escape(words[key])

    return _PLACEHOLDER.sub(fill, _static("service.html"))


@router.get("/service", response_class=HTMLResponse, include_in_schema=False)
async def service_page(request: Request) -> HTMLResponse:
    lang = pick_language(request)
    response = HTMLResponse(render(lang), headers={"Content-Language": lang})
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return response
