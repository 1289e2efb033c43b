"""Password hashing (scrypt above Werkzeug's default cost) and the strength rule."""

from __future__ import annotations

import pytest

from services.passwords import (
    HASH_METHOD,
    MIN_PASSWORD_LENGTH,
    check_password_strength,
    hash_password,
    password_needs_rehash,
    verify_password,
)

# Werkzeug 3's default: scrypt with N = 2**15, r = 8, p = 1.
WERKZEUG_DEFAULT_N = 2**15


@pytest.fixture(scope="module")
def stored() -> str:
    # One hash for the module: each costs about 0.2 s on purpose.
    return hash_password("correct horse battery")


def test_hash_is_scrypt_with_a_cost_above_werkzeugs_default(stored: str) -> None:
    method, salt, digest = stored.split("$")
    name, n, r, p = method.split(":")
    assert name == "scrypt"
    assert int(n) > WERKZEUG_DEFAULT_N
    assert (int(r), int(p)) == (8, 1)
    assert method == HASH_METHOD
    assert len(salt) >= 16
    assert len(digest) == 128


def test_the_right_password_verifies(stored: str) -> None:
    assert verify_password(stored, "correct horse battery")


@pytest.mark.parametrize(
    "attempt", ["correct horse batter", "Correct horse battery", "correct horse battery ", ""]
)
def test_any_other_password_is_refused(stored: str, attempt: str) -> None:
    assert not verify_password(stored, attempt)


def test_the_hash_never_contains_the_password(stored: str) -> None:
    assert "correct horse battery" not in stored


def test_two_hashes_of_one_password_differ_by_their_salt(stored: str) -> None:
    again = hash_password("correct horse battery")
    assert again != stored
    assert verify_password(again, "correct horse battery")


@pytest.mark.parametrize("malformed", ["x", "!", "", "scrypt:1:1:1$salt", "plain$text$here"])
def test_a_malformed_stored_hash_refuses_without_raising(malformed: str) -> None:
    assert verify_password(malformed, "anything at all") is False


def test_hashes_of_todays_method_need_no_rehash_older_ones_do(stored: str) -> None:
    assert not password_needs_rehash(stored)
    assert password_needs_rehash("scrypt:32768:8:1$abc$def")
    assert password_needs_rehash("pbkdf2:sha256:600000$abc$def")


@pytest.mark.parametrize(
    "password",
    [
        "a1b2c3d4e5",  # exactly the minimum length
        "correct horse battery",
        "Қазақстан2022",
        "x" * 9 + "yzw",
    ],
)
def test_strong_enough_passwords_pass(password: str) -> None:
    assert check_password_strength(password) is None


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("", "at least 10 characters"),
        ("a1b2c3d4e", "at least 10 characters"),  # one short of the minimum
        ("aaaaaaaaaaaa", "different characters"),
        ("121212121212", "different characters"),
        (" a1b2c3d4e5", "space"),
        ("a1b2c3d4e5 ", "space"),
        ("a1b2" * 300, "at most"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, fragment: str) -> None:
    reason = check_password_strength(password)
    assert reason is not None
    assert fragment in reason


def test_the_minimum_length_is_ten() -> None:
    assert MIN_PASSWORD_LENGTH == 10
