"""Protected fields: encrypted at rest, rotated keys still decrypt, masking, ID number checks."""

from __future__ import annotations

import pytest

from registry.crypto import FieldCipher, generate_key, id_number_check, id_number_problem, mask_id_number


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
