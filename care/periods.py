"""Calendar months in the site's local time (China: UTC+8), as UTC instants for the database.

A visit at 2026-01-31 23:30 in Zhengzhou (15:30 UTC) belongs to January; one at 00:30 on 1 February
(16:30 UTC on 31 January) belongs to February. Every monthly figure uses :func:`month_bounds`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``"2026-01"`` → ``Month(2026, 1)``; raises ``ValueError`` with the reason otherwise."""
        match = _MONTH.match(text)
        if match is None or not 1 <= int(match.group(2)) <= 12 or not 1900 <= int(match.group(1)) <= 2200:
            raise ValueError(f"month must be YYYY-MM (1900–2200), got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: datetime, utc_offset_min: int) -> Month:
        local = moment.astimezone(timezone(timedelta(minutes=utc_offset_min)))
        return cls(local.year, local.month)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def month_bounds(month: Month, utc_offset_min: int) -> tuple[datetime, datetime]:
    """``[start, end)`` of ``month`` in local time, as UTC datetimes."""
    zone = timezone(timedelta(minutes=utc_offset_min))
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    following = month.next()
    end = datetime(following.year, following.month, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_date(moment: datetime, utc_offset_min: int) -> date:
    return moment.astimezone(timezone(timedelta(minutes=utc_offset_min))).date()
