"""The dates and times a request may carry: 1900–2200, for every model and query parameter that takes one.

Python and PostgreSQL both end at years 1 and 9999, so a moment at either edge with an offset
(``0001-01-01T00:00:00+14:00``) overflows once it is moved to UTC or to local time, and the database
refuses it. Bounding what comes in answers such a value with a 422 naming it, never a 500 further on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AwareDatetime, Field

Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2200, 12, 31))]
Moment = Annotated[
    AwareDatetime, Field(ge=datetime(1900, 1, 1, tzinfo=UTC), le=datetime(2200, 12, 31, 23, 59, 59, tzinfo=UTC))
]
"""A date-time with its offset, within the years :data:`Day` allows."""
