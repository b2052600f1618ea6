"""Both languages are complete: the same keys, every key the page and its script use, no English left
on the Chinese page."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from importlib import resources

import httpx
from fastapi import FastAPI

from api import console

STATIC = resources.files("api").joinpath("static")
# keys the script builds at run time (t(`status.${name}`) and the like)
DYNAMIC_PREFIXES = (
    "status.", "done.", "sla.", "devstate.", "contact.", "why.", "basis.", "context.", "placement.", "gap.",
    "gap_short.",
)  # fmt: skip


def load(lang: str) -> dict[str, str]:
    return json.loads(STATIC.joinpath(f"i18n.{lang}.json").read_text(encoding="utf-8"))


def test_both_dictionaries_have_the_same_keys_and_no_empty_strings() -> None:
    en, zh = load("en"), load("zh")
    assert set(en) == set(zh), f"only en: {sorted(set(en) - set(zh))}; only zh: {sorted(set(zh) - set(en))}"
    assert all(value.strip() for value in [*en.values(), *zh.values()])
    for key in en:  # the same placeholders in both
        assert sorted(re.findall(r"\{\w+\}", en[key])) == sorted(re.findall(r"\{\w+\}", zh[key])), key


def test_every_key_used_by_the_page_and_script_exists() -> None:
    en = load("en")
    html = STATIC.joinpath("console.html").read_text(encoding="utf-8")
    used = set(re.findall(r"\{\{([a-z0-9_.]+)\}\}", html)) - {"lang", "i18n_json"}
    script = STATIC.joinpath("console.js").read_text(encoding="utf-8")
    prefixes = {key.split(".")[0] for key in en}
    literals = set(re.findall(r"""["']([a-z_]+\.[a-z0-9_]+)["']""", script))
    used |= {key for key in literals if key.split(".")[0] in prefixes}
    missing = sorted(key for key in used if key not in en)
    assert not missing, missing
    for prefix in DYNAMIC_PREFIXES:
        assert any(key.startswith(prefix) for key in en), prefix


def test_every_home_alert_rule_basis_and_context_is_worded_in_both_languages() -> None:
    """The console words an inactivity alert's ``details`` (rule, basis, context), a fall's placement
    and a home's sensing gaps from the dictionary: each value the platform can send has its words in
    both languages."""
    from stream.coverage import GAPS
    from stream.falls import PLACEMENTS
    from stream.home_reasons import BASIS_NAMES, RULE_REASONS
    from stream.kernels.home import CTX_NAMES

    for lang in ("en", "zh"):
        words = load(lang)
        wanted = [f"why.{r}" for r in RULE_REASONS] + [f"basis.{b}" for b in BASIS_NAMES]
        wanted += [f"context.{c}" for c in CTX_NAMES] + [f"placement.{p}" for p in PLACEMENTS]
        wanted += ["placement_basis.motion", "placement_basis.default"]  # a placement the registry did not name
        wanted += [f"gap.{g}" for g in GAPS]  # what a home's sensors cannot see (the resident's card)
        wanted += [f"gap_short.{g}" for g in GAPS]  # ... and in the overview's list of such homes
        assert not [key for key in wanted if key not in words], lang


class _Text(HTMLParser):
    """Visible text and attribute text of a page, without <script> and <style> contents and without
    text marked as another language (the language switcher names each language in its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style") or (tag == "a" and dict(attrs).get("lang") == "en"):
            self._skip += 1
            self._skipping.append(tag)
        for name, value in attrs:
            if name in ("placeholder", "aria-label", "title", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def english_leftovers(text: str, en: dict[str, str], zh: dict[str, str]) -> list[str]:
    """English UI strings (whole strings or their words between placeholders) found in ``text``."""
    found = []
    for key, value in en.items():
        if value == zh[key]:
            continue  # language names, symbols: the same in both
        for fragment in re.split(r"\{\w+\}", value):
            fragment = fragment.strip(" .,:;()…·")
            if (
                len(fragment) >= 3
                and re.search(r"[A-Za-z]{3}", fragment)
                and re.search(rf"(?<![A-Za-z]){re.escape(fragment)}(?![A-Za-z])", text)
            ):
                found.append(f"{key}: {fragment!r}")
    return found


def client() -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(console.router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")


async def test_chinese_page_has_no_english_ui_strings() -> None:
    en, zh = load("en"), load("zh")
    async with client() as http:
        response = await http.get("/?lang=zh")
    assert response.status_code == 200
    assert '<html lang="zh">' in response.text
    assert response.cookies.get("lang") == "zh"
    assert "{{" not in response.text
    parser = _Text()
    parser.feed(response.text)
    text = "\n".join(parser.parts)
    assert "12349 调度台" in text
    assert english_leftovers(text, en, zh) == []
    # and the dictionary handed to the script is the Chinese one
    blob = re.search(r'<script id="i18n-data" type="application/json">(.*?)</script>', response.text, re.S)
    assert blob is not None and json.loads(blob.group(1)) == zh


async def test_language_choice_query_cookie_header() -> None:
    async with client() as http:
        assert '<html lang="en">' in (await http.get("/")).text
        assert '<html lang="zh">' in (await http.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})).text
        http.cookies.set("lang", "zh")
        assert '<html lang="zh">' in (await http.get("/", headers={"Accept-Language": "en"})).text
        assert '<html lang="en">' in (await http.get("/?lang=en")).text
        assert (await http.get("/api/v1/console/i18n/zh")).json()["app.title"] == "12349 调度台"
        assert (await http.get("/api/v1/console/i18n/fr")).status_code == 404
        for name in ("common.css", "console.css", "i18n.js", "charts.js", "console.js", "i18n.en.json"):
            assert (await http.get(f"/static/{name}")).status_code == 200, name
        assert (await http.get("/static/..%2Fconsole.py")).status_code == 404
