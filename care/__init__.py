"""The care side of the 12349 centre: categories, visits, assessments, home care beds, indicators."""

from care.service import CareService

__all__ = ["CareService"]
