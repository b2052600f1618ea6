"""The service centre's page, ``/service``: the call panel, the order board, the provider directory
and the order reports; live through the console's websocket (``?orders=1``).

Server-rendered like the console (``{{key}}`` filled from ``api/static/service.i18n.<lang>.json``,
Chinese and English), with the console's words for alert kinds and states under ``alert.``; the data
from the service centre's API with the console's token.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.console import LANGUAGES, dictionary, pick_language, render_page

router = APIRouter(tags=["service centre"])


@functools.cache
def strings(lang: str) -> dict[str, str]:
    """The page's words, and the console's for the alerts a caller has open (``alert.kind.sos`` …)."""
    text = resources.files("api").joinpath("static", f"service.i18n.{lang}.json").read_text(encoding="utf-8")
    words: dict[str, str] = json.loads(text)
    console = dictionary(lang)
    words |= {f"alert.{key}": value for key, value in console.items() if key.startswith(("kind.", "state."))}
    return words


def render(lang: str) -> str:
    return render_page("service.html", lang, strings(lang))


@router.get("/service", response_class=HTMLResponse, include_in_schema=False)
async def service_page(request: Request) -> HTMLResponse:
    lang = pick_language(request)
    response = HTMLResponse(render(lang), headers={"Content-Language": lang})
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return response
