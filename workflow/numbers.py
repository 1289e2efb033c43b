"""Certificate serial numbers, the election's number series, and the check digit.

The check digit is Damm's: one quasigroup of order 10, weak totally anti-symmetric, so it catches
every single-digit error and every swap of two neighbouring digits (the IIN's mod-11 scheme does
not).

Numbers restart in every election, so a number alone would name a certificate of each. Every
election but the first carries a **number series** of four digits, printed first and covered by
the check digit: `2603-00012345-7`. The same serial in two elections then differs in its series
(and, almost always, in its check digit), and a number typed at the desk of another election is
recognised as such, never mistaken for this election's certificate with the same serial. The
2022 referendum predates series: its numbers stay as printed then, `00012345-9`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflow.errors import RefusalCode, RuleViolation

SERIAL_DIGITS = 8
SERIES_DIGITS = 4
MAX_SERIAL = 10**SERIAL_DIGITS - 1
_SERIES = re.compile(rf"[0-9]{{{SERIES_DIGITS}}}")

_DAMM_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
# Separators a clerk or a scanner may put inside a number; they carry no meaning.
_SEPARATORS = re.compile(r"[\s\-–—./№#]+")
_ASCII_DIGITS = frozenset("0123456789")


def damm_digit(digits: str) -> int:
    """Interim digit of Damm's algorithm over ASCII digits; 0 means the string checks out."""
    interim = 0
    for char in digits:
        interim = _DAMM_TABLE[interim][ord(char) - 48]
    return interim


def is_number_series(text: str) -> bool:
    """Four ASCII digits: the form of an election's number series."""
    return bool(_SERIES.fullmatch(text))


@dataclass(frozen=True, slots=True)
class CertificateNumber:
    """What a number names: the election's series (None for the 2022 referendum) and a serial."""

    series: str | None
    serial: int


def format_certificate_number(serial: int, series: str | None = None) -> str:
    """The printed number: `00012345-9` without a series, `2603-00012345-7` with one."""
    if not 1 <= serial <= MAX_SERIAL:
        raise ValueError(f"serial out of range: {serial}")
    if series is not None and not is_number_series(series):
        raise ValueError(f"a number series is {SERIES_DIGITS} digits")
    body = f"{serial:0{SERIAL_DIGITS}d}"
    if series is None:
        return f"{body}-{damm_digit(body)}"
    return f"{series}-{body}-{damm_digit(series + body)}"


def parse_certificate_number(text: str) -> CertificateNumber:
    """The series and serial behind a typed or scanned number; RuleViolation when it is none.

    `not_found` when the text is not a number at all, `mistyped_number` when the digits are there
    but their count or the check digit disagrees (a typo caught at the desk). Which election the
    series belongs to is for the caller to say.
    """
    compact = _SEPARATORS.sub("", text.strip())
    if not compact or not _ASCII_DIGITS.issuperset(compact):
        raise RuleViolation(RefusalCode.NOT_FOUND, "A certificate number has only digits.")
    if len(compact) not in (SERIAL_DIGITS + 1, SERIES_DIGITS + SERIAL_DIGITS + 1):
        raise RuleViolation(
            RefusalCode.MISTYPED_NUMBER,
            f"A certificate number has {SERIES_DIGITS} digits of series, {SERIAL_DIGITS} digits "
            "and a check digit.",
        )
    if damm_digit(compact) != 0:
        raise RuleViolation(
            RefusalCode.MISTYPED_NUMBER, "The check digit does not match: the number is mistyped."
        )
    series = compact[:SERIES_DIGITS] if len(compact) > SERIAL_DIGITS + 1 else None
    serial = int(compact[-SERIAL_DIGITS - 1 : -1])
    if serial == 0:
        raise RuleViolation(RefusalCode.NOT_FOUND, "There is no certificate number zero.")
    return CertificateNumber(series, serial)


def check_number_series(number: CertificateNumber, series: str | None) -> None:
    """The number must carry this election's series (none for the 2022 referendum).

    `wrong_election` when it carries another (or lacks this election's): the caller, which knows
    the other elections, may say which one the number belongs to.
    """
    if number.series != series:
        raise RuleViolation(
            RefusalCode.WRONG_ELECTION,
            "This certificate number belongs to another election.",
            {"series": number.series or ""},
        )
