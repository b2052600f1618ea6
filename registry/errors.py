"""The platform's domain errors: one base class, one subclass per HTTP-visible outcome.

Both the registry and alerting raise these (alerting's own errors derive from them), and the API maps
them to HTTP answers in one place (``api/app.py``): :class:`NotFound` 404, :class:`Conflict` 409,
:class:`Invalid` 422, :class:`Forbidden` 403, each with the error's text as its reason. This module
imports nothing of the platform, so any package may depend on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class DomainError(Exception):
    """Base class of the domain errors; its text is the reason a person reads."""


class NotFound(DomainError):
    """No such object in the caller's area (whether it exists elsewhere is not said)."""


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate id, name or address; an alert's state)."""


class IllegalMove(Conflict):
    """A move a state machine's transition table does not allow (an alert's, an order's)."""

    def __init__(self, what: str, current: StrEnum, wanted: StrEnum, allowed: Iterable[StrEnum]) -> None:
        names = ", ".join(sorted(s.value for s in allowed)) or "nothing (it is closed)"
        super().__init__(f"{what} that is {current.value} cannot become {wanted.value} (allowed: {names})")
        self.current = current
        self.wanted = wanted


class Invalid(DomainError):
    """The request refers to something that does not exist or breaks a rule."""


class Forbidden(DomainError):
    """The caller may not do this."""


class OutOfScope(Forbidden):
    """The change would place something outside the caller's area."""
