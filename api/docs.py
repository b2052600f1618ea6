"""``/docs``: Swagger UI from files the app serves itself, so the API reference opens on a closed
network (a hotline centre's often is). The files come from the ``fastapi-offline`` package, which
ships the Swagger UI bundle; FastAPI's own page would load them from a CDN.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="eldercare API",
        swagger_js_url="/docs-assets/swagger-ui-bundle.js",
        swagger_css_url="/docs-assets/swagger-ui.css",
        swagger_favicon_url="/docs-assets/favicon.png",
    )


@router.get("/docs-assets/{name}")
async def swagger_asset(name: str) -> Response:
    if name not in ASSETS:
        return Response(status_code=404)
    body = resources.files("fastapi_offline").joinpath("static", name).read_bytes()
    return Response(body, media_type=ASSETS[name], headers={"Cache-Control": "max-age=86400"})
