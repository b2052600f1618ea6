"""The registry's errors: one base class, one subclass per HTTP-visible outcome."""

from __future__ import annotations


class RegistryError(Exception):
    """Base class of the registry's domain errors."""


class NotFound(RegistryError):
    """No such object in the caller's area (whether it exists elsewhere is not said)."""


class Conflict(RegistryError):
    """The change clashes with existing data (a duplicate id, name or address)."""


class Invalid(RegistryError):
    """The change refers to something that does not exist or breaks a rule."""


class OutOfScope(RegistryError):
    """The change would place something outside the caller's area."""
