"""Certificate serial numbers and their check digit.

The check digit is Damm's: one quasigroup of order 10, weak totally anti-symmetric, so it catches
every single-digit error and every swap of two neighbouring digits (the IIN's mod-11 scheme does
not). The printed form is the zero-padded serial, a hyphen, then the check digit: `00012345-9`.
"""

from __future__ import annotations

import re

from workflow.errors import RefusalCode, RuleViolation

SERIAL_DIGITS = 8
MAX_SERIAL = 10**SERIAL_DIGITS - 1

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


def format_certificate_number(serial: int) -> str:
    """The printed number with its check digit, e.g. 12345 -> '00012345-9'."""
    if not 1 <= serial <= MAX_SERIAL:
        raise ValueError(f"serial out of range: {serial}")
    body = f"{serial:0{SERIAL_DIGITS}d}"
    return f"{body}-{damm_digit(body)}"


def parse_certificate_number(text: str) -> int:
    """The serial behind a typed or scanned number; RuleViolation when it cannot be one.

    `not_found` when the text is not a number at all, `mistyped_number` when the digits are there
    but the check digit disagrees (a typo caught at the desk).
    """
    compact = _SEPARATORS.sub("", text.strip())
    if not compact or not _ASCII_DIGITS.issuperset(compact):
        raise RuleViolation(RefusalCode.NOT_FOUND, "A certificate number has only digits.")
    if len(compact) != SERIAL_DIGITS + 1:
        raise RuleViolation(
            RefusalCode.MISTYPED_NUMBER,
            f"A certificate number has {SERIAL_DIGITS} digits and a check digit.",
        )
    if damm_digit(compact) != 0:
        raise RuleViolation(
            RefusalCode.MISTYPED_NUMBER, "The check digit does not match: the number is mistyped."
        )
    serial = int(compact[:SERIAL_DIGITS])
    if serial == 0:
        raise RuleViolation(RefusalCode.NOT_FOUND, "There is no certificate number zero.")
    return serial
