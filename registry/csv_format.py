"""The registry's CSV conventions, read by the imports and written by the exports.

UTF-8 (a BOM is tolerated), a header row; lists are ``;``-separated (``languages``, ``conditions``,
``medications``); ``emergency_contacts`` are ``name|relation|phone|channel,channel`` separated by
``;`` in order of whom to call first; ``key_holders`` are ``name|phone|relation``; a resident's
``usual_wake`` and ``usual_bed`` are ``HH:MM`` and a ``night_exit_watch`` ``HH:MM-HH:MM``, local time.
Exported cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR) get a
leading ``'``; an import removes that quote again.
"""

from __future__ import annotations

from typing import Any

# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a ``'`` in front."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def unescape(text: str) -> str:
    """The inverse of :func:`neutralise`, so an exported file imports back unchanged."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def read_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(";") if item.strip()]


def read_contacts(value: str) -> list[dict[str, Any]]:
    contacts = []
    for item in read_list(value):
        parts = [part.strip() for part in item.split("|")]
        contact: dict[str, Any] = {"name": parts[0]}
        if len(parts) > 1:
            contact["relation"] = parts[1]
        if len(parts) > 2:
            contact["phone"] = parts[2]
        if len(parts) > 3 and parts[3]:
            contact["channels"] = [channel.strip() for channel in parts[3].split(",") if channel.strip()]
        contacts.append(contact)
    return contacts


def read_holders(value: str) -> list[dict[str, str]]:
    holders = []
    for item in read_list(value):
        parts = [part.strip() for part in item.split("|")] + ["", ""]
        holders.append({"name": parts[0], "phone": parts[1], "relation": parts[2]})
    return holders


def write_cell(name: str, value: Any) -> str:
    """A column's value as its cell (before :func:`neutralise`): the inverse of the readers above."""
    if value is None:
        return ""
    if name == "emergency_contacts":
        return ";".join(
            f"{c.get('name', '')}|{c.get('relation', '')}|{c.get('phone', '')}|{','.join(c.get('channels', []))}"
            for c in value
        )
    if name == "key_holders":
        return ";".join(f"{h.get('name', '')}|{h.get('phone', '')}|{h.get('relation', '')}" for h in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
