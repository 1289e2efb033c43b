"""The IIN (ИИН / ЖСН), Kazakhstan's 12-digit individual identification number (domain.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from workflow.errors import RefusalCode, RuleViolation

_ASCII_DIGITS = frozenset("0123456789")
_FIRST_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
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
