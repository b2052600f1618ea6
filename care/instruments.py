"""Ability assessment instruments as data, and the scoring: answers → domain scores → total → level.

Shipped: **GB/T 42195-2022 老年人能力评估规范** (Specification for ability assessment of older adults),
Appendix B: 26 items in four domains (一级指标), each item scored on the standard's ordinal scale
(higher = more able):

============================  =====  ==========================================================
domain                        items  range
============================  =====  ==========================================================
自理能力 self-care               8   0–32: eating, grooming, bathing, upper-body dressing, lower-body
                                     dressing and shoes, bladder, bowel, toileting (each 0–4)
基础运动能力 basic motor         4   0–15: bed mobility, bed–chair transfer, walking on level ground
                                     (each 0–4), stairs (0–3)
精神状态 mental state            9   0–28: orientation to time, place and person, memory,
                                     understanding, expression (each 0–4), aggression (0–1),
                                     depressive symptoms (0–1), consciousness (0–2)
感知觉与社会参与 perception      5   0–15: vision (0–2), hearing (0–2), daily affairs (0–4),
  and social participation           going out by transport (0–3), social interaction (0–4)
============================  =====  ==========================================================

Total 0–90. Level (能力等级) by total: 能力完好 90; 轻度失能 66–89; 中度失能 46–65; 重度失能 30–45;
完全失能 0–29. Then the standard's change rules (能力等级变更依据): a resident in a coma is rated
完全失能 directly; a diagnosis of dementia or another mental and behavioural disorder by a
psychiatrist, or two or more care-risk events (falls, choking, self-harm, wandering off …) in the last
30 days, raises the level by one (once, however many apply: "有以下情况之一者").

**Source and confidence.** Item lists and per-item ranges: high confidence (they match the standard's
Appendix B as transcribed in public implementations; the maxima add up to the standard's total of 90).
Level cut-offs and the change rules: from memory of the standard's clause on ability levels, medium
confidence; in particular whether a coma gives 完全失能 (this standard's five levels) or 重度失能 (as in
MZ/T 039-2013, its predecessor), and whether the raising rules stack. They are therefore data here
(:class:`Instrument` ``levels``, ``coma_level``, ``raise_stacks``): a site corrects them with its own
instrument file (:func:`Instrument.from_dict`) without touching code. The national instrument itself
ships as such a file, ``care/data/gbt42195-2022.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any


class ScoringError(ValueError):
    """The answers do not fit the instrument (unknown item, missing item, score out of range)."""


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    domain: str
    zh: str
    en: str
    max_score: int


@dataclass(frozen=True, slots=True)
class Level:
    code: str
    zh: str
    en: str
    min_total: int
    """The lowest total that reaches this level (levels are listed from most able to least)."""


@dataclass(frozen=True, slots=True)
class Instrument:
    code: str
    zh: str
    en: str
    domains: dict[str, tuple[str, str]]
    """Domain code → (Chinese, English)."""
    items: tuple[Item, ...]
    levels: tuple[Level, ...]
    modifiers: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Conditions that raise the level by one (code → (Chinese, English))."""
    coma_level: str | None = None
    """The level given directly to a resident in a coma (``None``: no such rule)."""
    raise_stacks: bool = False
    """Whether each modifier raises one level (True) or any number of them raise one (False)."""
    validity_days: int = 365

    @property
    def max_total(self) -> int:
        return sum(item.max_score for item in self.items)

    def domain_max(self, domain: str) -> int:
        return sum(item.max_score for item in self.items if item.domain == domain)

    def score(self, answers: Mapping[str, Any], modifiers: Mapping[str, bool] | None = None) -> Scored:
        """Score ``answers`` (item code → integer score); every item must be answered, in range."""
        known = {item.code: item for item in self.items}
        unknown = sorted(set(answers) - set(known))
        if unknown:
            raise ScoringError(f"unknown items: {', '.join(unknown)}")
        missing = [code for code in known if code not in answers]
        if missing:
            raise ScoringError(f"unanswered items: {', '.join(missing)}")
        domains = dict.fromkeys(self.domains, 0)
        for code, value in answers.items():
            item = known[code]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= item.max_score:
                raise ScoringError(f"{code} must be an integer 0–{item.max_score}, got {value!r}")
            domains[item.domain] += value
        flags = {code: bool(on) for code, on in (modifiers or {}).items() if on}
        unknown_flags = sorted(set(flags) - set(self.modifiers) - {"coma"})
        if unknown_flags:
            raise ScoringError(f"unknown modifiers: {', '.join(unknown_flags)}")
        total = sum(domains.values())
        base = self.level_of(total)
        index = [level.code for level in self.levels].index(base.code)
        reasons: list[str] = []
        if flags.get("coma") and self.coma_level is not None:
            index = [level.code for level in self.levels].index(self.coma_level)
            reasons.append("coma")
        else:
            raising = [code for code in self.modifiers if flags.get(code)]
            steps = len(raising) if self.raise_stacks else min(1, len(raising))
            index = min(index + steps, len(self.levels) - 1)
            reasons += raising
        return Scored(domains, total, base.code, self.levels[index].code, reasons)

    def level_of(self, total: int) -> Level:
        for level in self.levels:
            if total >= level.min_total:
                return level
        return self.levels[-1]

    def describe(self) -> dict[str, Any]:
        """The instrument as JSON (for forms, and as the format of a site's own instrument file)."""
        return {
            "code": self.code, "zh": self.zh, "en": self.en, "validity_days": self.validity_days,
            "domains": [{"code": code, "zh": zh, "en": en, "max": self.domain_max(code)}
                        for code, (zh, en) in self.domains.items()],
            "items": [{"code": i.code, "domain": i.domain, "zh": i.zh, "en": i.en, "max": i.max_score}
                      for i in self.items],
            "levels": [{"code": lv.code, "zh": lv.zh, "en": lv.en, "min_total": lv.min_total} for lv in self.levels],
            "modifiers": [{"code": code, "zh": zh, "en": en} for code, (zh, en) in self.modifiers.items()],
            "coma_level": self.coma_level, "raise_stacks": self.raise_stacks, "max_total": self.max_total,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Instrument:
        """The inverse of :meth:`describe` (a site's corrected or own instrument)."""
        levels = tuple(Level(lv["code"], lv["zh"], lv["en"], int(lv["min_total"])) for lv in data["levels"])
        if [lv.min_total for lv in levels] != sorted((lv.min_total for lv in levels), reverse=True):
            raise ScoringError("levels must be listed from the highest min_total down")
        instrument = cls(
            code=data["code"], zh=data["zh"], en=data["en"],
            domains={d["code"]: (d["zh"], d["en"]) for d in data["domains"]},
            items=tuple(Item(i["code"], i["domain"], i["zh"], i["en"], int(i["max"])) for i in data["items"]),
            levels=levels,
            modifiers={m["code"]: (m["zh"], m["en"]) for m in data.get("modifiers", [])},
            coma_level=data.get("coma_level"), raise_stacks=bool(data.get("raise_stacks", False)),
            validity_days=int(data.get("validity_days", 365)),
        )  # fmt: skip
        if any(item.domain not in instrument.domains for item in instrument.items):
            raise ScoringError("every item must belong to a listed domain")
        if instrument.coma_level is not None and instrument.coma_level not in {lv.code for lv in levels}:
            raise ScoringError(f"coma_level {instrument.coma_level!r} is not a level")
        return instrument


@dataclass(frozen=True, slots=True)
class Scored:
    domain_scores: dict[str, int]
    total: int
    base_level: str
    """The level by total alone."""
    level: str
    """After the change rules (coma, diagnoses, care-risk events)."""
    reasons: list[str]


def shipped(name: str) -> Instrument:
    """An instrument file shipped in ``care/data/`` (the format of :meth:`Instrument.describe`)."""
    text = resources.files("care").joinpath("data", f"{name}.json").read_text(encoding="utf-8")
    return Instrument.from_dict(json.loads(text))


GBT_42195_2022 = shipped("gbt42195-2022")
INSTRUMENTS: dict[str, Instrument] = {GBT_42195_2022.code: GBT_42195_2022}
