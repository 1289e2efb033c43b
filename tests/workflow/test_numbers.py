"""Certificate serial numbers (domain.md §7): Damm check digit, tolerant parsing, typo detection."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.errors import RefusalCode, RuleViolation
from workflow.iin import iin_check_digit, is_valid_iin
from workflow.numbers import (
    MAX_SERIAL,
    SERIAL_DIGITS,
    SERIES_DIGITS,
    CertificateNumber,
    check_number_series,
    damm_digit,
    format_certificate_number,
    is_number_series,
    parse_certificate_number,
)

DIGITS = "0123456789"
serials = st.integers(min_value=1, max_value=MAX_SERIAL)

_rng = random.Random(20220605)
SAMPLE_SERIALS = sorted(
    {1, 9, 10, 12345, 10**7, MAX_SERIAL - 1, MAX_SERIAL}
    | set(_rng.sample(range(1, MAX_SERIAL + 1), 2000))
)


def refusal_code(text: str) -> RefusalCode:
    with pytest.raises(RuleViolation) as caught:
        parse_certificate_number(text)
    return caught.value.code


def compact(serial: int) -> str:
    return format_certificate_number(serial).replace("-", "")


def substitutions(digits: str) -> list[str]:
    """Every string that differs from `digits` in exactly one position."""
    return [
        digits[:i] + other + digits[i + 1 :]
        for i, original in enumerate(digits)
        for other in DIGITS
        if other != original
    ]


def adjacent_transpositions(digits: str) -> list[str]:
    """Every swap of two neighbouring, different digits."""
    return [
        digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        for i in range(len(digits) - 1)
        if digits[i] != digits[i + 1]
    ]


# --- format and parse ----------------------------------------------------------------------------


def test_damm_digit_matches_the_published_example() -> None:
    # The textbook example: 572 has check digit 4, and 5724 checks out to 0.
    assert damm_digit("572") == 4
    assert damm_digit("5724") == 0


def test_printed_form_is_zero_padded_serial_hyphen_check_digit() -> None:
    assert format_certificate_number(12345) == "00012345-9"
    assert format_certificate_number(1).startswith("00000001-")
    assert format_certificate_number(MAX_SERIAL).startswith("99999999-")


@pytest.mark.parametrize("serial", [0, -1, MAX_SERIAL + 1])
def test_format_rejects_serials_out_of_range(serial: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        format_certificate_number(serial)


@given(serials)
def test_format_then_parse_gives_the_serial_back(serial: int) -> None:
    printed = format_certificate_number(serial)
    assert re.fullmatch(rf"[0-9]{{{SERIAL_DIGITS}}}-[0-9]", printed)
    assert damm_digit(printed.replace("-", "")) == 0
    assert parse_certificate_number(printed) == CertificateNumber(None, serial)


@pytest.mark.parametrize(
    "text",
    [
        "00012345-9",
        "000123459",
        "00012345 9",
        "  00012345-9  ",
        "№ 00012345-9",
        "№00012345-9",
        "0001-2345-9",
        "0001 2345 9",
        "00012345–9",  # en dash, as word processors type it
        "00012345—9",
        "00012345\t9",
        "0001.2345.9",
    ],
)
def test_parse_tolerates_spaces_hyphens_and_number_sign(text: str) -> None:
    assert parse_certificate_number(text) == CertificateNumber(None, 12345)


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "№",
        "-",
        "abc",
        "0001234S-9",
        "00012345-X",
        "٠٠٠١٢٣٤٥-٩",  # Arabic-Indic digits of a valid number
        "０００１２３４５-９",  # fullwidth digits of a valid number
        "No. 00012345-9",
    ],
)
def test_text_that_is_not_a_number_is_not_found(text: str) -> None:
    assert refusal_code(text) == RefusalCode.NOT_FOUND


def test_serial_zero_is_not_found() -> None:
    assert damm_digit("00000000") == 0
    assert refusal_code("00000000-0") == RefusalCode.NOT_FOUND


@pytest.mark.parametrize(
    "text",
    [
        "12345-9",
        "0012345-9",
        "000012345-9",
        "00012345-90",
        "00012345",
        "1",
        "00000000000000",
        "260300012345",
    ],
)
def test_wrong_number_of_digits_is_mistyped_number(text: str) -> None:
    assert refusal_code(text) == RefusalCode.MISTYPED_NUMBER


def test_wrong_check_digit_is_mistyped_number() -> None:
    for last in DIGITS:
        if last != "9":
            assert refusal_code(f"00012345-{last}") == RefusalCode.MISTYPED_NUMBER


def test_every_single_digit_substitution_is_mistyped_number_on_a_sample() -> None:
    checked = 0
    for serial in SAMPLE_SERIALS:
        for typo in substitutions(compact(serial)):
            assert refusal_code(typo) == RefusalCode.MISTYPED_NUMBER, (serial, typo)
            checked += 1
    assert checked == len(SAMPLE_SERIALS) * (SERIAL_DIGITS + 1) * 9


def test_every_adjacent_transposition_is_mistyped_number_on_a_sample() -> None:
    checked = 0
    for serial in SAMPLE_SERIALS:
        for typo in adjacent_transpositions(compact(serial)):
            assert refusal_code(typo) == RefusalCode.MISTYPED_NUMBER, (serial, typo)
            checked += 1
    assert checked > len(SAMPLE_SERIALS) * 6


def test_typos_in_the_printed_form_with_its_hyphen_are_caught() -> None:
    printed = format_certificate_number(12345)
    body, check = printed.split("-")
    swapped_across_hyphen = f"{body[:-1]}{check}-{body[-1]}"
    assert refusal_code(swapped_across_hyphen) == RefusalCode.MISTYPED_NUMBER
    assert refusal_code(f"{body[:3]}{body[4]}{body[3]}{body[5:]}-{check}") == (
        RefusalCode.MISTYPED_NUMBER
    )


@given(serials, st.integers(0, SERIAL_DIGITS), st.integers(1, 9))
def test_any_single_digit_substitution_is_mistyped_number(
    serial: int, position: int, shift: int
) -> None:
    digits = compact(serial)
    wrong = str((int(digits[position]) + shift) % 10)
    typo = digits[:position] + wrong + digits[position + 1 :]
    assert refusal_code(typo) == RefusalCode.MISTYPED_NUMBER


@given(serials, st.integers(0, SERIAL_DIGITS - 1))
def test_any_adjacent_transposition_is_mistyped_number(serial: int, position: int) -> None:
    digits = compact(serial)
    typo = digits[:position] + digits[position + 1] + digits[position] + digits[position + 2 :]
    if typo == digits:
        assert parse_certificate_number(typo).serial == serial
    else:
        assert refusal_code(typo) == RefusalCode.MISTYPED_NUMBER


# --- number series: one election's numbers are never another's ---------------------------------

series_codes = st.text(alphabet=DIGITS, min_size=SERIES_DIGITS, max_size=SERIES_DIGITS)


def test_a_series_number_prints_series_serial_and_one_check_digit_over_both() -> None:
    printed = format_certificate_number(12345, "2603")
    assert re.fullmatch(r"2603-00012345-[0-9]", printed)
    assert damm_digit(printed.replace("-", "")) == 0
    assert parse_certificate_number(printed) == CertificateNumber("2603", 12345)


@given(serials, series_codes)
def test_format_then_parse_gives_series_and_serial_back(serial: int, series: str) -> None:
    assert parse_certificate_number(format_certificate_number(serial, series)) == (
        CertificateNumber(series, serial)
    )


@pytest.mark.parametrize("series", ["", "260", "26034", "26a3", "２６０３"])
def test_a_series_is_four_ascii_digits(series: str) -> None:
    assert not is_number_series(series)
    with pytest.raises(ValueError, match="series"):
        format_certificate_number(1, series)


def test_every_typo_in_a_series_number_is_caught_on_a_sample() -> None:
    """The check digit covers the series too: a mistyped series never names another election."""
    checked = 0
    for serial in SAMPLE_SERIALS[:300]:
        digits = format_certificate_number(serial, "2603").replace("-", "")
        for typo in substitutions(digits) + adjacent_transpositions(digits):
            assert refusal_code(typo) == RefusalCode.MISTYPED_NUMBER, (serial, typo)
            checked += 1
    assert checked > 300 * (SERIES_DIGITS + SERIAL_DIGITS + 1) * 9


def test_the_same_serial_in_two_elections_are_two_different_numbers() -> None:
    numbers = {format_certificate_number(1, series) for series in (None, "2211", "2303", "2603")}
    assert len(numbers) == 4
    assert len({parse_certificate_number(n) for n in numbers}) == 4


@pytest.mark.parametrize(
    ("printed_series", "election_series"),
    [("2603", None), (None, "2603"), ("2211", "2603")],
)
def test_a_number_of_another_election_is_wrong_election(
    printed_series: str | None, election_series: str | None
) -> None:
    number = parse_certificate_number(format_certificate_number(7, printed_series))
    with pytest.raises(RuleViolation) as caught:
        check_number_series(number, election_series)
    assert caught.value.code is RefusalCode.WRONG_ELECTION


def test_a_number_of_this_election_passes() -> None:
    number = parse_certificate_number(format_certificate_number(7, "2603"))
    check_number_series(number, "2603")
    check_number_series(parse_certificate_number(format_certificate_number(7)), None)


# --- why not the IIN's scheme --------------------------------------------------------------------


def _sample_valid_iins(count: int) -> list[str]:
    rng = random.Random(4)
    found: list[str] = []
    while len(found) < count:
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(30_000))
        digit = rng.choice("34") if born.year < 2000 else rng.choice("56")
        prefix = born.strftime("%y%m%d") + digit + f"{rng.randrange(10_000):04d}"
        check = iin_check_digit(prefix)
        if check is not None:
            found.append(prefix + str(check))
    return found


def test_iin_mod_11_scheme_misses_single_digit_typos_that_damm_catches() -> None:
    iins = _sample_valid_iins(300)
    assert all(is_valid_iin(iin) for iin in iins)
    typos = [typo for iin in iins for typo in substitutions(iin)]
    iin_missed = sum(map(is_valid_iin, typos)) / len(typos)

    damm_typos = [
        typo for serial in SAMPLE_SERIALS[:300] for typo in substitutions(compact(serial))
    ]
    damm_missed = sum(damm_digit(typo) == 0 for typo in damm_typos) / len(damm_typos)

    # The 11th digit has weight 11 = 0 (mod 11) in the first pass, so changing it goes unseen.
    assert iin_missed > 0.005, iin_missed
    assert damm_missed == 0


def test_iin_mod_11_scheme_misses_an_eleventh_digit_typo_in_a_domain_example() -> None:
    assert is_valid_iin("900101300017")
    assert is_valid_iin("900101300027")
