"""The IIN (ИИН / ЖСН), Kazakhstan's 12-digit individual identification number (domain.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import mul

from workflow.errors import RefusalCode, RuleViolation

_ASCII_DIGITS = frozenset("0123456789")
_FIRST_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
_FIRST_OFFSET = 48 * sum(_FIRST_WEIGHTS)
_SECOND_OFFSET = 48 * sum(_SECOND_WEIGHTS)
# Seventh digit: century of birth and sex (odd male, even female).
_CENTURY_BY_DIGIT = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}


@dataclass(frozen=True, slots=True)
class IinInfo:
    """What an IIN says about its holder. It proves neither citizenship nor age."""

    iin: str
    birth_date: date
    male: bool


def iin_check_digit(first_eleven: str) -> int | None:
    """Check digit for 11 digits, or None when both weighted passes give 10 (no valid IIN)."""
    if first_eleven.isascii():
        # Bytes and map(mul): the list import checks millions of IINs, and this is ~10x faster
        # than int() per character. Each byte is its digit plus 48, which the offset removes.
        codes = first_eleven.encode("ascii")
        passes = ((_FIRST_WEIGHTS, _FIRST_OFFSET), (_SECOND_WEIGHTS, _SECOND_OFFSET))
        for weights, offset in passes:
            check: int = (sum(map(mul, codes, weights)) - offset) % 11
            if check != 10:
                return check
        return None
    digits = [int(c) for c in first_eleven]
    for weights in (_FIRST_WEIGHTS, _SECOND_WEIGHTS):
        check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if check != 10:
            return check
    return None


def parse_iin(text: str) -> IinInfo:
    """Validate an IIN: 12 ASCII digits, a real birth date in the century digit's century, check.

    Raises RuleViolation(invalid_iin). Unicode digits other than ASCII 0-9 are refused.
    """
    if len(text) != 12 or not _ASCII_DIGITS.issuperset(text):
        raise RuleViolation(RefusalCode.INVALID_IIN, "An IIN is exactly 12 digits.")
    century_digit = int(text[6])
    century = _CENTURY_BY_DIGIT.get(century_digit)
    if century is None:
        raise RuleViolation(RefusalCode.INVALID_IIN, "The IIN's seventh digit must be 1 to 6.")
    try:
        born = date(century + int(text[0:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        raise RuleViolation(
            RefusalCode.INVALID_IIN, "The IIN's first six digits are not a real date."
        ) from None
    if iin_check_digit(text[:11]) != int(text[11]):
        raise RuleViolation(RefusalCode.INVALID_IIN, "The IIN's check digit does not match.")
    return IinInfo(iin=text, birth_date=born, male=century_digit % 2 == 1)


_CENTURY_PREFIX_BY_DIGIT = {"1": "18", "2": "18", "3": "19", "4": "19", "5": "20", "6": "20"}


def iin_encodes(iin: str, birth_date_iso: str) -> bool:
    """True when `parse_iin` accepts the IIN and its birth date is the ISO date `YYYY-MM-DD`.

    The voter-list import's fast path: a string comparison and one date check, without the
    exceptions and objects of `parse_iin` (whose messages explain a refusal).
    """
    if len(iin) != 12 or not iin.isascii() or not iin.isdigit() or len(birth_date_iso) != 10:
        return False
    century = _CENTURY_PREFIX_BY_DIGIT.get(iin[6])
    if (
        century is None
        or birth_date_iso[0:2] != century
        or birth_date_iso[2:4] != iin[0:2]
        or birth_date_iso[4] != "-"
        or birth_date_iso[5:7] != iin[2:4]
        or birth_date_iso[7] != "-"
        or birth_date_iso[8:10] != iin[4:6]
    ):
        return False
    try:
        date.fromisoformat(birth_date_iso)
    except ValueError:
        return False
    return iin_check_digit(iin[:11]) == ord(iin[11]) - 48


def is_valid_iin(text: str) -> bool:
    """True when `parse_iin` accepts the text."""
    try:
        parse_iin(text)
    except RuleViolation:
        return False
    return True


def mask_iin(iin: str) -> str:
    """Show the birth-date part and the last two digits, enough to match an identity document."""
    if len(iin) != 12:
        return "*" * len(iin)
    return f"{iin[:6]}••••{iin[10:]}"


def build_iin(birth_date: date, male: bool, serial: int) -> str | None:
    """Compose an IIN from its parts (demo data, tests); None when no check digit exists."""
    century_base = (birth_date.year // 100) * 100
    century_digit = {1800: 1, 1900: 3, 2000: 5}.get(century_base)
    if century_digit is None or not 0 <= serial <= 9999:
        raise ValueError("IINs cover births from 1800 to 2099 and serials 0000-9999")
    digit = century_digit if male else century_digit + 1
    first_eleven = f"{birth_date:%y%m%d}{digit}{serial:04d}"
    check = iin_check_digit(first_eleven)
    return None if check is None else first_eleven + str(check)
