"""The categories of elders the civil-affairs plans single out, as data: a code, Chinese and English.

A resident belongs to a category from a source (民政 records, a survey, a visit) for a period
(``valid_from`` … ``valid_to``, open-ended when ``None``). ``visit_interval_days`` is the network-wide
default of how often an elder in that category is visited; an area may set its own (``care_visit_rules``).
The defaults follow the common municipal practice: those living alone, in special poverty (特困), or
disabled are visited at least weekly; the others at least monthly, which is what the plans'
"特殊困难老年人月探访率达到100%" measures. A category with no interval has no visit obligation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    zh: str
    en: str
    visit_interval_days: int | None


CATEGORIES: tuple[Category, ...] = (
    Category("tekun", "特困", "extreme poverty (te kun)", 7),
    Category("dibao", "低保", "minimum living allowance (di bao)", 30),
    Category("disabled", "失能", "disabled in daily living", 7),
    Category("severe_disability", "重残", "severe disability", 7),
    Category("living_alone", "独居", "living alone", 7),
    Category("empty_nest", "空巢", "empty-nest", 30),
    Category("left_behind", "留守", "left behind", 30),
    Category("one_child_loss", "计生特殊家庭", "family bereaved or disabled under the one-child policy", 30),
    Category("very_old", "高龄", "very old (80 and over)", 30),
    Category("no_guardian", "无监护人", "without a guardian", 7),
)
BY_CODE: dict[str, Category] = {category.code: category for category in CATEGORIES}
VISIT_MODES = ("in_person", "phone", "video")
VISIT_MODE_LABELS = {"in_person": ("上门", "in person"), "phone": ("电话", "phone"), "video": ("视频", "video")}
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (("60-69", 60, 69), ("70-79", 70, 79), ("80+", 80, None))
"""The population statistics' age bands: code, lowest and highest age (``None``: no upper bound)."""
ASSESSED_CATEGORIES = ("disabled", "severe_disability")
"""Categories whose care depends on the ability level: their members need a valid assessment."""


def category(code: str) -> Category:
    """The category with ``code``; raises ``KeyError`` naming the known codes."""
    try:
        return BY_CODE[code]
    except KeyError:
        raise KeyError(f"unknown category {code!r}; known: {', '.join(BY_CODE)}") from None
