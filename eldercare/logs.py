"""Structured logs: one line per record, ``key=value`` fields after the message (or JSON lines)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
_STANDARD |= {"message", "asctime", "taskName", "color_message"}


class KeyValueFormatter(logging.Formatter):
    def __init__(self, as_json: bool = False) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if self.as_json:
            line = {"ts": self.formatTime(record), "level": record.levelname, "logger": record.name}
            line |= {"msg": record.getMessage(), **fields}
            if record.exc_info:
                line["exc"] = self.formatException(record.exc_info)
            return json.dumps(line, default=str, ensure_ascii=False)
        extras = " ".join(f"{k}={_value(v)}" for k, v in fields.items())
        text = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            text = f"{text} {extras}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


def _value(value: object) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


def configure(level: str = "INFO", as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter(as_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
