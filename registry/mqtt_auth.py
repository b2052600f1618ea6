"""Device MQTT passwords in Mosquitto's own hash format, so the broker's password file is generated.

Mosquitto 2.0's ``sha512-pbkdf2`` form (what ``mosquitto_passwd`` writes by default)::

    $7$<iterations>$<base64 12-byte salt>$<base64 PBKDF2-HMAC-SHA512 digest (64 bytes)>

The registry stores only this hash. Device passwords are random 24-byte tokens (192 bits), so the
iteration count is not what protects them; Mosquitto's default (101) keeps bulk imports and broker
logins cheap.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ITERATIONS = 101
SALT_BYTES = 12


def hash_password(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, kind, iterations, salt, digest = stored.split("$")
        if kind != "7":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(expected, actual)
