"""Protected fields (ID numbers, key-safe codes): encrypted at rest, shown masked.

AES-256-GCM with a random 96-bit nonce per value; a stored value is ``v1.<key id>.<base64url(nonce ‖
ciphertext ‖ tag)>``, the key id being the first 8 hex digits of the key's SHA-256, so keys can be
rotated: the settings' ``field_key`` (``ELDERCARE_FIELD_KEY``) holds one or more comma-separated keys
(base64url of 32 bytes); the first encrypts, all decrypt. Unset, the key is ``<data_dir>/field.key``,
generated once (mode 0600). The composition root builds the cipher (:meth:`FieldCipher.for_site`) and
gives it to the registry; nothing here reads the environment.
A keyed digest (HMAC-SHA256 under a key derived from the first key) lets the registry find a resident
by ID number without storing it in the clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_FORMAT = re.compile(r"^\d{17}[\dX]$")


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


class FieldCipher:
    """Encrypts and decrypts protected fields (AES-256-GCM), and makes keyed digests for lookups."""

    def __init__(self, keys: str | bytes | list[str]) -> None:
        if isinstance(keys, bytes):
            keys = keys.decode("ascii")
        if isinstance(keys, str):
            keys = [part.strip() for part in keys.split(",") if part.strip()]
        raw = [base64.urlsafe_b64decode(key) for key in keys]
        if not raw or any(len(key) != 32 for key in raw):
            raise ValueError("field keys must be base64url-encoded 32-byte keys")
        self._keys = {_key_id(key): AESGCM(key) for key in raw}
        self._current = _key_id(raw[0])
        self._digest_key = hashlib.sha256(b"eldercare-field-digest:" + raw[0]).digest()

    @classmethod
    def generate(cls) -> FieldCipher:
        return cls(generate_key())

    @classmethod
    def for_site(cls, field_key: str | None, data_dir: Path) -> FieldCipher:
        """The site's cipher: ``field_key`` when set, else the key file in ``data_dir`` (made once)."""
        if field_key:
            return cls(field_key)
        path = Path(data_dir).expanduser() / "field.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(generate_key())
        return cls(path.read_text().strip())

    def encrypt(self, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, value.encode("utf-8"), None)
        return f"v1.{self._current}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str | None) -> str | None:
        if not token:
            return None
        try:
            version, key_id, body = token.split(".", 2)
            blob = base64.urlsafe_b64decode(body)
            if version != "v1" or key_id not in self._keys:
                raise ValueError
            return self._keys[key_id].decrypt(blob[:12], blob[12:], None).decode("utf-8")
        except (ValueError, InvalidTag):
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
