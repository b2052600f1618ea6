"""Protected fields (ID numbers, key-safe codes): encrypted at rest, shown masked.

The key is ``ELDERCARE_FIELD_KEY`` (one or more comma-separated Fernet keys, the first encrypts, all
decrypt: that is how a key is rotated), else ``<data_dir>/field.key``, generated once with mode 0600.
A keyed digest (HMAC-SHA256 under a key derived from the first key) lets the registry find a resident
by ID number without storing it in the clear.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_ENV = "ELDERCARE_FIELD_KEY"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_FORMAT = re.compile(r"^\d{17}[\dX]$")


class FieldCipher:
    """Encrypts and decrypts protected fields with Fernet (AES-128-CBC + HMAC-SHA256)."""

    def __init__(self, keys: str | bytes | list[str | bytes]) -> None:
        if isinstance(keys, str | bytes):
            text = keys.decode() if isinstance(keys, bytes) else keys
            keys = [part.strip() for part in text.split(",") if part.strip()]
        if not keys:
            raise ValueError("at least one field key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        first = keys[0].encode() if isinstance(keys[0], str) else keys[0]
        self._digest_key = hashlib.sha256(b"eldercare-field-digest:" + first).digest()

    @classmethod
    def generate(cls) -> FieldCipher:
        return cls(Fernet.generate_key())

    @classmethod
    def from_environment(cls, data_dir: Path | None = None) -> FieldCipher:
        """The platform's cipher: ``ELDERCARE_FIELD_KEY``, else the key file in the data directory."""
        if os.environ.get(KEY_ENV):
            return cls(os.environ[KEY_ENV])
        if data_dir is None:
            from eldercare.settings import get_settings

            data_dir = Path(get_settings().data_dir)
        path = Path(data_dir).expanduser() / "field.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def encrypt(self, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError("protected field cannot be decrypted with the configured keys") from None

    def digest(self, value: str | None) -> str | None:
        if not value:
            return None
        return hmac.new(self._digest_key, value.upper().encode("utf-8"), hashlib.sha256).hexdigest()


def mask_id_number(value: str | None) -> str:
    """``410105194203081234`` → ``410***********1234`` (first 3 and last 4 shown)."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_secret(value: str | None) -> str:
    return "****" if value else ""


def id_number_problem(value: str) -> str | None:
    """Why ``value`` is not a valid 18-character resident ID number (GB 11643), or None."""
    value = value.upper()
    if not _ID_FORMAT.match(value):
        return "ID number must be 17 digits and a check character (digit or X)"
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != value[17]:
        return "ID number check character does not match"
    return None


def id_number_check(first17: str) -> str:
    """The check character for 17 digits (for generating valid test numbers)."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]
