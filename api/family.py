"""Family: one-tap answer links (``/f/{token}``) and the contacts alerting notifies.

A link in a family message opens a small phone page; the answer is a POST, so link previewers
(which fetch GETs) never answer for anyone. ``?do=going`` / ``?do=fine`` preselect the answer.
Once the alert is closed the page shows only its outcome and answers are refused (409).
"""

from __future__ import annotations

import html
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from alerting import Alert, AlertingError, InvalidLink
from alerting.model import closed_summary
from api.alerts import ConsoleScope, domain_errors, resident_path
from api.deps import PlatformDep

router = APIRouter(tags=["family"])

ANSWERS = {"going": "I am going over", "fine": "I called her/him, all is fine"}


def page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    document = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>
<style>body{{font:18px/1.4 system-ui,sans-serif;margin:0;padding:1rem;max-width:32rem}}
h1{{font-size:1.3rem}}button{{display:block;width:100%;font-size:1.2rem;padding:1rem;margin:.6rem 0;
border-radius:.6rem;border:0;background:#1a6b3c;color:#fff}}button.alt{{background:#555}}
textarea,select{{width:100%;font-size:1rem;padding:.5rem;box-sizing:border-box}}.muted{{color:#666}}</style>
</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"""
    return HTMLResponse(document, status_code=status_code)


def closed_page(alert: Alert) -> HTMLResponse:
    """A link's page once its alert is closed: the outcome only, no name, address or phone."""
    return page(
        "12349",
        f"<p>This alert is closed ({html.escape(closed_summary(alert))}). Nothing more is needed; thank you.</p>",
    )


def _error_page(error: AlertingError) -> HTMLResponse:
    code = status.HTTP_403_FORBIDDEN if isinstance(error, InvalidLink) else status.HTTP_409_CONFLICT
    return page("12349", f"<p>{html.escape(str(error))}</p>", code)


@router.get("/f/{token}", response_class=HTMLResponse, include_in_schema=False)
async def family_page(token: str, platform: PlatformDep, do: str | None = None) -> HTMLResponse:
    try:
        claims = await platform.alerts.verify_link(token, "family")
        alert = await platform.alerts.get(uuid.UUID(claims.alert_id))
    except AlertingError as error:
        return _error_page(error)
    if not alert.is_open:
        return closed_page(alert)
    resident = await platform.registry.resident(alert.resident_id)
    who = html.escape(resident.name if resident else alert.resident_id)
    choices = [do] if do in ANSWERS else list(ANSWERS)
    buttons = "".join(
        f'<button name="do" value="{key}" class="{"" if i == 0 else "alt"}">{html.escape(ANSWERS[key])}</button>'
        for i, key in enumerate(choices)
    )
    body = (
        f"<p>A <b>{html.escape(alert.kind.replace('_', ' '))}</b> alert for <b>{who}</b>"
        f" (status: {html.escape(alert.state.value)}).</p>"
        f'<form method="post">{buttons}<p class="muted">Optional note</p><textarea name="note" rows="2"></textarea>'
        "</form>"
    )
    return page("12349 elderly-care alert", body)


@router.post("/f/{token}", response_class=HTMLResponse, include_in_schema=False)
async def family_answer(
    token: str, platform: PlatformDep, do: Annotated[str, Form()], note: Annotated[str, Form(max_length=500)] = ""
) -> HTMLResponse:
    try:
        alert = await platform.alerts.family_response(token, do, note)
    except AlertingError as error:
        return _error_page(error)
    return page(
        "Thank you", f"<p>Recorded: {html.escape(ANSWERS.get(do, do))}.</p><p>Alert status: {alert.state.value}.</p>"
    )


class ContactIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    relation: str = Field("", max_length=50)
    urls: list[str] = Field(min_length=1, max_length=5, description="Apprise URLs: mailto://, json://, wecombot://, …")
    quiet_start: str | None = Field(None, description="local time, e.g. 22:00")
    quiet_end: str | None = Field(None, description="local time, e.g. 07:00")
    kinds: list[str] = Field(default_factory=list, description="alert kinds wanted; empty: all")


@router.get("/api/v1/notify/contacts/{resident_id}", tags=["family"])
async def get_contacts(resident_id: str, platform: PlatformDep, scope: ConsoleScope) -> list[dict[str, Any]]:
    """Who is notified for this resident, in order."""
    await resident_path(platform, scope, resident_id)
    return [c.to_json() for c in await platform.alerts.contacts(resident_id)]


@router.put("/api/v1/notify/contacts/{resident_id}", tags=["family"])
async def put_contacts(
    resident_id: str, contacts: list[ContactIn], platform: PlatformDep, scope: ConsoleScope
) -> list[dict[str, Any]]:
    """Replace the contacts (their order is the list's order). Each URL must be one Apprise knows."""
    if len(contacts) > 10:
        raise HTTPException(422, "at most 10 contacts")
    await resident_path(platform, scope, resident_id)
    with domain_errors():
        saved = await platform.alerts.set_contacts(resident_id, [c.model_dump() for c in contacts])
    return [c.to_json() for c in saved]
