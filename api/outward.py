"""What the pages people open from a message share: Chinese first, English second, plain words.

Family members and responders open these pages on a phone from a link; they are not operators. So:
the resident by name, the alert as words (紧急呼叫 / an emergency call, not ``sos``), the state as
what it means for them, times in the homes' time zone as ``YYYY-MM-DD HH:MM``, and, whenever the page
cannot help (a bad or expired link, a closed alert), the hotline number to call.
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime

from fastapi import Request, status
from fastapi.responses import HTMLResponse

from alerting import Alert, InvalidLink
from alerting.links import LinkClaims
from alerting.wording import KIND_WORDS, local_stamp, moving_words
from api.console import hotline
from api.services import Services
from registry.errors import DomainError

__all__ = [
    "KIND_WORDS",
    "alert_page",
    "both",
    "call_us",
    "closed_page",
    "error_page",
    "hotline",
    "local",
    "open_link",
    "page",
    "raised_sentence",
    "state_words",
    "words",
]

STATE_WORDS: dict[str, tuple[str, str]] = {
    "pending": ("设备等待确认中", "the device is waiting to confirm"),
    "raised": ("正在等待接线员接听", "waiting for an operator"),
    "escalated": ("正在等待接线员接听", "waiting for an operator"),
    "acknowledged": ("已有人接手处理", "someone has taken it in hand"),
    "dispatched": ("已派人前往", "someone is on the way"),
    "on_scene": ("工作人员已到达", "a helper is there"),
    "resolved": ("已处理完毕", "handled"),
    "cancelled": ("已取消", "cancelled"),
    "duplicate": ("与另一次呼叫合并", "merged with another call"),
}
OUTCOME_WORDS: dict[str, tuple[str, str]] = {
    "resident_fine": ("老人安好", "resident fine"),
    "emergency_handled": ("紧急情况已处理", "emergency handled"),
    "hospital": ("已送医", "taken to hospital"),
    "false_alarm": ("误报", "false alarm"),
    "device_fault": ("设备故障", "device fault"),
}


def words(table: dict[str, tuple[str, str]], key: str) -> tuple[str, str]:
    return table.get(key, (key.replace("_", " "), key.replace("_", " ")))


def both(zh: str, en: str, tag: str = "p") -> str:
    """One sentence in Chinese, then in English (both HTML-escaped)."""
    return f'<{tag} lang="zh">{html.escape(zh)}</{tag}><{tag} lang="en" class="en">{html.escape(en)}</{tag}>'


def local(at: datetime, offset_min: int) -> str:
    """``2026-12-02 16:05`` in the homes' time zone."""
    return local_stamp(at, offset_min)


def call_us(number: str) -> str:
    link = f'<a href="tel:{html.escape(number)}">{html.escape(number)}</a>'
    return (
        f'<p class="hotline" lang="zh">如有疑问，请拨打 {link}。</p>'
        f'<p class="hotline en" lang="en">Questions? Call {link}.</p>'
    )


def page(title_zh: str, title_en: str, body: str, status_code: int = 200) -> HTMLResponse:
    title = f"{title_zh} / {title_en}"
    document = f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<style>body{{font:18px/1.45 system-ui,"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;margin:0;
padding:1rem;max-width:32rem}}h1{{font-size:1.3rem;margin:.2rem 0}}h1 small{{display:block;font-size:1rem;color:#555}}
p{{margin:.3rem 0}}p.en,span.en{{color:#555;font-size:.92em}}p.en{{margin-bottom:.7rem}}
button{{display:block;width:100%;font-size:1.15rem;padding:.9rem;margin:.6rem 0;border-radius:.6rem;border:0;
background:#1a6b3c;color:#fff}}button.alt{{background:#555}}button small{{display:block;font-size:.85rem;opacity:.9}}
textarea,select{{width:100%;font-size:1rem;padding:.5rem;box-sizing:border-box}}.muted{{color:#666}}
.card{{background:#f3f5f8;border-radius:.6rem;padding:.6rem .8rem;margin:.6rem 0}}.hotline a{{font-weight:700}}
</style></head><body><h1 lang="zh">{html.escape(title_zh)}<small lang="en">{html.escape(title_en)}</small></h1>
{body}</body></html>"""
    return HTMLResponse(document, status_code=status_code, headers={"Content-Language": "zh, en"})


async def open_link(
    request: Request, platform: Services, token: str, audience: str
) -> tuple[LinkClaims, Alert] | HTMLResponse:
    """A link's claims and its alert while the alert is open; else the page to show instead: the bad
    or expired link's (:func:`error_page`) or the closed alert's outcome (:func:`closed_page`)."""
    try:
        claims = await platform.alerts.verify_link(token, audience)
        alert = await platform.alerts.get(uuid.UUID(claims.alert_id))
    except DomainError as error:
        return error_page(error, hotline(request))
    if not alert.is_open:
        return closed_page(alert, hotline(request))
    return claims, alert


def state_words(alert: Alert) -> tuple[str, str]:
    """What the alert's state means for the person reading, in Chinese and in English."""
    return words(STATE_WORDS, alert.state.value)


def raised_sentence(alert: Alert, who: str, platform: Services) -> str:
    """An open alert's page's first sentence: when (in the homes' time), who, and what; and when the
    resident was seen moving again after it, if they were."""
    offset = platform.alerts.config.utc_offset_min
    when = local(alert.raised_at, offset)
    kind_zh, kind_en = words(KIND_WORDS, alert.kind)
    sentence = both(f"{when}，{who} 发出了{kind_zh}。", f"{when}: {kind_en} from {who}.")
    moving = alert.details.get("moving_again")
    if isinstance(moving, dict) and isinstance(moving.get("at"), str):  # the resident alerted on moves again
        at = local(datetime.fromisoformat(moving["at"]), offset)
        seen_zh, seen_en = moving_words(alert.kind, who, at)
        sentence += both(
            f"{seen_zh}，但仍请确认老人是否安好。",
            f"{seen_en[0].upper()}{seen_en[1:]}; please still make sure all is well.",
        )
    return sentence


def alert_page(alert: Alert, who: str, body: str) -> HTMLResponse:
    """An open alert's page, titled with what it is and whose."""
    kind_zh, kind_en = words(KIND_WORDS, alert.kind)
    return page(f"{kind_zh}：{who}", f"{kind_en.capitalize()} from {who}", body)


def closed_page(alert: Alert, number: str, status_code: int = 200) -> HTMLResponse:
    """A link's page once its alert is closed: the outcome only, no name, address or phone."""
    state_zh, state_en = state_words(alert)
    if alert.outcome:
        outcome_zh, outcome_en = words(OUTCOME_WORDS, alert.outcome)
        state_zh, state_en = f"{state_zh}：{outcome_zh}", f"{state_en}: {outcome_en}"
    body = both(
        f"这次呼叫已经结束（{state_zh}），不需要您再做什么。谢谢！",
        f"This call is already closed ({state_en}). Nothing more is needed; thank you.",
    )
    return page("呼叫已结束", "Call closed", body + call_us(number), status_code)


def error_page(error: DomainError, number: str) -> HTMLResponse:
    """A bad or expired link (403), or an answer the alert cannot take (409): what happened, whom to call."""
    if isinstance(error, InvalidLink):
        body = both(
            "这个链接无效或已过期。",
            f"This link is not valid or has expired ({error}).",
        )
        return page("链接无效", "Link not valid", body + call_us(number), status.HTTP_403_FORBIDDEN)
    body = both("这一步无法完成。", f"That could not be done: {error}.")
    return page("无法完成", "Not done", body + call_us(number), status.HTTP_409_CONFLICT)
