"""What a 422 says: the field it names and what a good value is."""

from __future__ import annotations

from typing import Any


def names_field(answer: dict[str, Any], field: str, says: str) -> bool:
    """Whether a 422's ``detail`` names ``field`` with a message that contains ``says``."""
    return any(problem["loc"][-1] == field and says in problem["msg"] for problem in answer["detail"])
