"""Structured logs: one line per record, ``key=value`` fields after the message (or JSON lines)."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
_STANDARD |= {"message", "asctime", "taskName", "color_message"}


# scheme://user:password@host → scheme://user:***@host (broker, database and notification URLs)
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s'\"]*):[^@/?#\s'\"]*@")
# ?token=… / &access_token=… / password=… in query strings (the console websocket's JWT)
_QUERY_SECRET = re.compile(r"([?&;](?:access_token|token|password|secret|key)=)[^&\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` without URL passwords and secret query parameters."""
    return _QUERY_SECRET.sub(r"\1***", _URL_PASSWORD.sub(r"\1:***@", text))


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and string fields so no password or token reaches a log line.

    Attached to the handler, so it sees every logger's records (ours, uvicorn's, libraries')."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the record, the formatter reports it
            return True
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, ()
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                record.__dict__[key] = redact(value)
        return True


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
                line["exc"] = redact(self.formatException(record.exc_info))
            return json.dumps(line, default=str, ensure_ascii=False)
        extras = " ".join(f"{k}={_value(v)}" for k, v in fields.items())
        text = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            text = f"{text} {extras}"
        if record.exc_info:
            text = f"{text}\n{redact(self.formatException(record.exc_info))}"
        return text


def _value(value: object) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


def configure(level: str = "INFO", as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter(as_json))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
