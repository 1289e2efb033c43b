"""The signed QR payload: round trips, tampering, wrong keys, scanner quirks and the QR's size."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from seal import (
    SCHEME,
    CertificatePayload,
    ForgedSeal,
    KeyPair,
    MalformedSeal,
    SealError,
    codec,
    generate_keypair,
    iin_digest,
    load_private_key,
    load_public_key,
    sign_payload,
    verify_qr_text,
)

SALT = bytes(range(32))
IIN = "900101300017"
# 12:00 in Almaty (UTC+6) on 25 May 2022, inside the issue window.
ISSUED = int(datetime(2022, 5, 25, 6, 0, tzinfo=UTC).timestamp())
QR_ALPHABET = string.digits + string.ascii_uppercase
ELECTION_CODE_CHARS = string.ascii_letters + string.digits + "_-"
# Hypothesis runs a test many times; a key made once keeps that loop on signing alone.
FIXED_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return generate_keypair()


@pytest.fixture(scope="module")
def other_keys() -> KeyPair:
    return generate_keypair()


def make_payload(**changes: object) -> CertificatePayload:
    fields: dict[str, object] = {
        "election_code": "ref2022",
        "serial": 12345,
        "precinct_id": 101,
        "iin_digest": iin_digest(SALT, IIN),
        "issued_at": ISSUED,
    }
    fields.update(changes)
    return CertificatePayload(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def qr_text(keys: KeyPair) -> str:
    return sign_payload(keys.private_pem, make_payload())


def test_round_trip_returns_the_signed_payload(keys: KeyPair, qr_text: str) -> None:
    payload = verify_qr_text(keys.public_pem, qr_text)
    assert payload == make_payload()
    assert payload.issued_at_utc == datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
    assert payload.matches_iin(SALT, IIN)
    assert not payload.matches_iin(SALT, "740315450128")


def test_loaded_key_objects_work_like_pem(keys: KeyPair) -> None:
    private_key = load_private_key(keys.private_pem)
    text = sign_payload(private_key, make_payload())
    assert verify_qr_text(load_public_key(keys.public_pem), text) == make_payload()


def test_qr_text_is_scheme_tag_then_uppercase_alphanumerics(qr_text: str) -> None:
    assert qr_text.startswith(SCHEME)
    assert set(qr_text[len(SCHEME) :]) <= set(QR_ALPHABET)
    assert qr_text.isascii()
    assert " " not in qr_text


def test_signing_is_deterministic(keys: KeyPair) -> None:
    # Ed25519 signatures carry no randomness: a reprint shows the very same QR code.
    assert sign_payload(keys.private_pem, make_payload()) == sign_payload(
        keys.private_pem, make_payload()
    )


def test_every_single_character_change_is_rejected(keys: KeyPair, qr_text: str) -> None:
    for index, char in enumerate(qr_text):
        # Another canonical character: a change that case and layout repair cannot undo.
        replacement = QR_ALPHABET[(QR_ALPHABET.find(char) + 1) % len(QR_ALPHABET)]
        tampered = qr_text[:index] + replacement + qr_text[index + 1 :]
        with pytest.raises((ForgedSeal, MalformedSeal)):
            verify_qr_text(keys.public_pem, tampered)


def test_every_bit_of_the_payload_is_covered_by_the_signature(keys: KeyPair, qr_text: str) -> None:
    blob = codec.decode(qr_text[len(SCHEME) :])
    message_bits = (len(blob) - 64) * 8
    for bit in range(message_bits):
        flipped = bytearray(blob)
        flipped[bit // 8] ^= 0x80 >> (bit % 8)
        with pytest.raises(ForgedSeal):
            verify_qr_text(keys.public_pem, SCHEME + codec.encode(bytes(flipped)))


def test_another_elections_key_says_forged(other_keys: KeyPair, qr_text: str) -> None:
    with pytest.raises(ForgedSeal):
        verify_qr_text(other_keys.public_pem, qr_text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "KU1:",
        "KU2:ABC",
        "https://example.org/",
        "00012345-9",
        "KU1:0ABC",  # a leading zero is not the canonical spelling
        "KU1:AB CD",
        "KU1:ÄBC",
    ],
)
def test_text_that_is_no_seal_is_malformed(keys: KeyPair, text: str) -> None:
    with pytest.raises(MalformedSeal):
        verify_qr_text(keys.public_pem, text)


def test_truncated_seal_is_rejected(keys: KeyPair, qr_text: str) -> None:
    for length in (len(SCHEME) + 1, 40, len(qr_text) - 1):
        with pytest.raises((ForgedSeal, MalformedSeal)):
            verify_qr_text(keys.public_pem, qr_text[:length])


def test_both_errors_are_seal_errors() -> None:
    assert issubclass(MalformedSeal, SealError)
    assert issubclass(ForgedSeal, SealError)


# How the keys of a US keyboard come out under other layouts, row by row, as printed on the keys.
US_ROWS = ("qwertyuiop", "asdfghjkl;", "zxcvbnm")
RUSSIAN_ROWS = ("йцукенгшщз", "фывапролдж", "ячсмить")
KAZAKH_DIGITS = {"1": '"', "2": "ә", "3": "і", "4": "ң", "5": "ғ", "6": ",", "7": ".", "8": "ү"}
KAZAKH_DIGITS |= {"9": "ұ", "0": "қ"}


def typed_under(text: str, *, kazakh: bool = False, caps_lock: bool = False) -> str:
    """What a wedge scanner's key presses produce on a Cyrillic layout."""
    letters = {
        us: ru
        for us_row, ru_row in zip(US_ROWS, RUSSIAN_ROWS, strict=True)
        for us, ru in zip(us_row, ru_row, strict=True)
    }
    out = []
    for char in text:
        if char == ":":
            typed = letters[";"].upper()  # Shift + the ';' key
        elif char.isdigit():
            typed = KAZAKH_DIGITS[char] if kazakh else char
        else:
            typed = letters[char.lower()].upper()  # the scanner holds Shift for capitals
        out.append(typed.swapcase() if caps_lock and typed.isalpha() else typed)
    return "".join(out)


@pytest.mark.parametrize(
    ("kazakh", "caps_lock"), [(False, False), (False, True), (True, False), (True, True)]
)
def test_text_typed_on_a_cyrillic_layout_still_verifies(
    keys: KeyPair, qr_text: str, kazakh: bool, caps_lock: bool
) -> None:
    typed = typed_under(qr_text, kazakh=kazakh, caps_lock=caps_lock)
    assert typed != qr_text
    assert verify_qr_text(keys.public_pem, typed) == make_payload()


def test_case_and_the_scanners_enter_key_are_forgiven(keys: KeyPair, qr_text: str) -> None:
    assert verify_qr_text(keys.public_pem, qr_text.lower() + "\r\n") == make_payload()


@pytest.mark.parametrize("code", ["ref2022", "REF-2022", "PRES_2026_R2", "A"])
def test_qr_stays_within_version_6_at_level_m(keys: KeyPair, code: str) -> None:
    # Largest values of every field: the longest text a code of this length can give.
    payload = make_payload(
        election_code=code, serial=2**32 - 1, precinct_id=2**32 - 1, issued_at=2**32 - 1
    )
    qr = segno.make(sign_payload(keys.private_pem, payload), error="m")
    assert qr.mode == "alphanumeric"
    assert qr.version <= 6


@pytest.mark.parametrize(
    "changes",
    [
        {"election_code": ""},
        {"election_code": "x" * 41},
        {"election_code": "ref 2022"},
        {"election_code": "../ref"},
        {"serial": 0},
        {"serial": 2**32},
        {"precinct_id": 0},
        {"issued_at": -1},
        {"issued_at": 2**32},
        {"iin_digest": b"short"},
    ],
)
def test_out_of_range_fields_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        make_payload(**changes)


def test_iin_digest_is_keyed_and_short() -> None:
    digest = iin_digest(SALT, IIN)
    assert len(digest) == 8
    assert digest == iin_digest(SALT, IIN)
    assert digest != iin_digest(bytes(32), IIN)
    assert digest != iin_digest(SALT, "740315450128")
    assert IIN.encode() not in digest


@pytest.mark.parametrize(
    ("salt", "iin"), [(b"short", IIN), (SALT, "90010130001"), (SALT, "९" * 12)]
)
def test_iin_digest_refuses_weak_salt_or_non_iin(salt: bytes, iin: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        iin_digest(salt, iin)


def test_a_non_ed25519_key_is_refused() -> None:
    with pytest.raises(SealError):
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(SealError):
        load_public_key(b"garbage")


@given(
    election_code=st.text(ELECTION_CODE_CHARS, min_size=1, max_size=40),
    serial=st.integers(1, 2**32 - 1),
    precinct_id=st.integers(1, 2**32 - 1),
    digest=st.binary(min_size=8, max_size=8),
    issued_at=st.integers(0, 2**32 - 1),
)
def test_any_payload_round_trips(
    election_code: str, serial: int, precinct_id: int, digest: bytes, issued_at: int
) -> None:
    payload = CertificatePayload(election_code, serial, precinct_id, digest, issued_at)
    text = sign_payload(FIXED_KEY, payload)
    assert verify_qr_text(FIXED_KEY.public_key(), text) == payload


@given(st.binary(max_size=120))
def test_codec_round_trips_any_bytes(data: bytes) -> None:
    assert codec.decode(codec.encode(data)) == data
