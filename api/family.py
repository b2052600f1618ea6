"""Family: one-tap answer links (``/f/{token}``) and the contacts alerting notifies.

A link in a family message opens a small phone page, Chinese first and English second (see
:mod:`api.outward`); the answer is a POST, so link previewers (which fetch GETs) never answer for
anyone. ``?do=going`` / ``?do=fine`` preselect the answer. Once the alert is closed the page shows
only its outcome and answers are refused (409); a bad or expired link shows the hotline number, and so
does the link of a contact no longer on the resident's list (it answers for nobody).
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator, Field

from alerting.family import ContactRemoved
from api.deps import PlatformDep
from api.hardening import StorableBody, storable
from api.outward import alert_page, both, call_us, error_page, hotline, open_link, page, raised_sentence, state_words
from api.scope import ConsoleScope, resident_path
from registry.errors import DomainError

router = APIRouter(tags=["family"])

ANSWERS: dict[str, tuple[str, str]] = {
    "going": ("我这就过去", "I am going over"),
    "fine": ("我已联系上，一切安好", "I called, all is fine"),
}


def removed_page(number: str) -> HTMLResponse:
    """The link of a contact taken off the resident's list: it no longer answers, for them or anyone."""
    body = both(
        "您已不在这位老人的通知联系人名单上，这个链接已停用，未作任何记录。",
        "You are no longer on this resident's contact list, so this link no longer works; nothing was recorded.",
    )
    return page("链接已停用", "Link no longer works", body + call_us(number), status.HTTP_403_FORBIDDEN)


@router.get("/f/{token}", response_class=HTMLResponse, include_in_schema=False)
async def family_page(token: str, request: Request, platform: PlatformDep, do: str | None = None) -> HTMLResponse:
    try:
        await platform.alerts.verify_link(token, "family")
    except ContactRemoved:
        return removed_page(hotline(request))
    except DomainError:
        pass  # open_link shows why
    opened = await open_link(request, platform, token, "family")
    if isinstance(opened, HTMLResponse):
        return opened
    _, alert = opened
    number = hotline(request)
    resident = await platform.registry.resident(alert.resident_id)
    who = resident.name if resident else alert.resident_id
    state_zh, state_en = state_words(alert)
    choices = [do] if do in ANSWERS else list(ANSWERS)
    buttons = "".join(
        f'<button name="do" value="{key}" class="{"" if i == 0 else "alt"}">{html.escape(ANSWERS[key][0])}'
        f'<small lang="en">{html.escape(ANSWERS[key][1])}</small></button>'
        for i, key in enumerate(choices)
    )
    body = (
        raised_sentence(alert, who, platform)
        + both(f"现在：{state_zh}。", f"Now: {state_en}.")
        + both("请告诉我们您能否过去看看：", "Please tell us whether you can go and see:")
        + f'<form method="post">{buttons}<p class="muted">备注（可不填） · Note (optional)</p>'
        '<textarea name="note" rows="2"></textarea></form>' + call_us(number)
    )
    return alert_page(alert, who, body)


@router.post("/f/{token}", response_class=HTMLResponse, include_in_schema=False)
async def family_answer(
    token: str,
    request: Request,
    platform: PlatformDep,
    do: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=500), AfterValidator(storable)] = "",
) -> HTMLResponse:
    number = hotline(request)
    try:
        alert = await platform.alerts.family_response(token, do, note)
    except ContactRemoved:
        return removed_page(number)
    except DomainError as error:
        return error_page(error, number)
    said_zh, said_en = ANSWERS.get(do, (do, do))
    state_zh, state_en = state_words(alert)
    body = both(f"已记录：{said_zh}。", f"Recorded: {said_en}.") + both(f"现在：{state_zh}。", f"Now: {state_en}.")
    return page("谢谢", "Thank you", body + call_us(number))


class ContactIn(StorableBody):
    name: str = Field(min_length=1, max_length=100)
    relation: str = Field("", max_length=50)
    phone: str = Field("", max_length=32, description="where the operator calls them")
    urls: list[str] = Field(min_length=1, max_length=5, description="Apprise URLs: mailto://, json://, wecombot://, …")
    quiet_start: str | None = Field(None, description="local time, e.g. 22:00")
    quiet_end: str | None = Field(None, description="local time, e.g. 07:00")
    kinds: list[str] = Field(default_factory=list, description="alert kinds wanted; empty: all")


@router.get("/api/v1/notify/contacts/{resident_id}", tags=["family"])
async def get_contacts(resident_id: str, platform: PlatformDep, scope: ConsoleScope) -> list[dict[str, Any]]:
    """Who is notified for this resident, in order."""
    await resident_path(platform.registry, scope, resident_id)
    return [c.to_json() for c in await platform.alerts.contacts(resident_id)]


@router.put("/api/v1/notify/contacts/{resident_id}", tags=["family"])
async def put_contacts(
    resident_id: str, contacts: list[ContactIn], platform: PlatformDep, scope: ConsoleScope
) -> list[dict[str, Any]]:
    """Replace the contacts (their order is the list's order). Each URL must be one Apprise knows."""
    if len(contacts) > 10:
        raise HTTPException(422, "at most 10 contacts")
    await resident_path(platform.registry, scope, resident_id)
    saved = await platform.alerts.set_contacts(resident_id, [c.model_dump() for c in contacts])
    return [c.to_json() for c in saved]
