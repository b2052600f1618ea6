"""LIKE patterns: a name's ``%`` or ``_`` (or a backslash) is matched literally, never as a wildcard."""

from __future__ import annotations

from registry.area import Area
from registry.like import MATCHES_NOTHING, escape_like, like_contains, like_prefix, like_prefix_or_nothing


def test_wildcards_and_the_escape_character_are_taken_literally() -> None:
    assert escape_like(r"50%_off\x") == r"50\%\_off\\x"
    assert like_prefix("/410100/a_b/") == r"/410100/a\_b/%"
    assert like_contains("王_%") == r"%王\_\%%"
    assert like_prefix_or_nothing(None) == MATCHES_NOTHING
    assert like_prefix_or_nothing("/x%/") == r"/x\%/%"


def test_an_area_limits_queries_with_the_same_escaping() -> None:
    assert Area("/41_01/").where() == ("org_path LIKE %s", [r"/41\_01/%"])
    assert Area("/").where() == ("true", [])
    assert Area("/", resident_id="res-1").where() == ("id = %s", ["res-1"])
