"""Protected fields: encrypted at rest, rotated keys still decrypt, masking, ID number checks."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from psycopg_pool import AsyncConnectionPool

from registry.crypto import FieldCipher, generate_key, id_number_check, id_number_problem, mask_id_number
from registry.store import Registry


def test_round_trip_rotation_and_tamper() -> None:
    old, new = generate_key(), generate_key()
    token = FieldCipher(old).encrypt("410105194203081236")
    assert token is not None and "410105" not in token
    rotated = FieldCipher(f"{new},{old}")
    assert rotated.decrypt(token) == "410105194203081236"
    assert rotated.encrypt("x") != rotated.encrypt("x")  # a fresh nonce each time
    with pytest.raises(ValueError):
        FieldCipher(new).decrypt(token)
    with pytest.raises(ValueError):
        rotated.decrypt(token[:-4] + "AAAA")
    assert rotated.digest("41010519420308123x") == rotated.digest("41010519420308123X")


def test_masking_and_id_number_checks() -> None:
    assert mask_id_number("410105194203081236") == "410***********1236"
    first17 = "41010519420308123"
    assert id_number_problem(first17 + id_number_check(first17)) is None
    assert "check character" in (id_number_problem(first17 + "0") or "")
    assert id_number_problem("12345") is not None


def test_site_cipher_comes_from_the_settings_not_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The composition root passes the key (or the data directory); the environment is not read here."""
    monkeypatch.setenv("ELDERCARE_FIELD_KEY", generate_key())
    given = generate_key()
    token = FieldCipher.for_site(given, tmp_path).encrypt("x")
    assert FieldCipher(given).decrypt(token) == "x"
    assert not (tmp_path / "field.key").exists()
    from_file = FieldCipher.for_site(None, tmp_path)  # the key file, made once, not the variable
    key_file = (tmp_path / "field.key").read_text().strip()
    assert FieldCipher(key_file).decrypt(from_file.encrypt("y")) == "y"
    assert (tmp_path / "field.key").stat().st_mode & 0o777 == 0o600


def test_a_registry_without_a_cipher_refuses_protected_fields() -> None:
    """No silent fallback to a key file in the working directory: protected fields need the given cipher."""
    registry = Registry(cast(AsyncConnectionPool, None))
    with pytest.raises(RuntimeError, match="without a FieldCipher"):
        _ = registry.cipher
    given = FieldCipher.generate()
    assert Registry(cast(AsyncConnectionPool, None), given).cipher is given
