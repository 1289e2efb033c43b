"""The IIN (domain.md §4): shape, century digit, birth date, both check-digit passes, masking."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from workflow.errors import RefusalCode, RuleViolation
from workflow.iin import (
    build_iin,
    iin_check_digit,
    iin_encodes,
    is_valid_iin,
    mask_iin,
    parse_iin,
)

VALID_EXAMPLES = ("900101300017", "740315450128", "850808301804")
# 1900-01-01, male: the first pass gives 10 and so does the second, so no 12th digit fits.
BOTH_PASSES_TEN = "00010130188"


# An independent reading of domain.md §4, written differently on purpose: explicit loops over
# characters, strptime for the date, weights computed rather than tabulated.
def reference_check_digit(first_eleven: str) -> int | None:
    digits = [ord(ch) - ord("0") for ch in first_eleven]
    total = 0
    for position in range(11):
        total += digits[position] * (position + 1)
    if total % 11 != 10:
        return total % 11
    total = 0
    for position in range(11):
        total += digits[position] * ((position + 2) % 11 + 1)
    if total % 11 != 10:
        return total % 11
    return None


def reference_is_valid_iin(text: str) -> bool:
    if len(text) != 12:
        return False
    for ch in text:
        if ch not in "0123456789":
            return False
    seventh = text[6]
    if seventh in "12":
        century = "18"
    elif seventh in "34":
        century = "19"
    elif seventh in "56":
        century = "20"
    else:
        return False
    try:
        datetime.strptime(century + text[:6], "%Y%m%d")  # noqa: DTZ007 - a date, not an instant
    except ValueError:
        return False
    return reference_check_digit(text[:11]) == ord(text[11]) - ord("0")


def complete(first_eleven: str) -> str:
    """Append the check digit the reference computes; the prefix must admit one."""
    check = reference_check_digit(first_eleven)
    assert check is not None, first_eleven
    return first_eleven + str(check)


def refusal_code(text: str) -> RefusalCode:
    with pytest.raises(RuleViolation) as caught:
        parse_iin(text)
    return caught.value.code


# --- the examples of domain.md §4 ---------------------------------------------------------------


@pytest.mark.parametrize("iin", VALID_EXAMPLES)
def test_domain_examples_are_valid(iin: str) -> None:
    assert is_valid_iin(iin)
    assert parse_iin(iin).iin == iin


def test_domain_invalid_example_is_refused_with_invalid_iin() -> None:
    assert not is_valid_iin("123456789012")
    assert refusal_code("123456789012") == RefusalCode.INVALID_IIN


def test_850808301804_needs_the_second_pass() -> None:
    first_pass = sum(int(d) * w for d, w in zip("85080830180", range(1, 12), strict=True)) % 11
    assert first_pass == 10
    assert iin_check_digit("85080830180") == 4


def test_reference_agrees_with_the_domain_examples() -> None:
    assert all(reference_is_valid_iin(iin) for iin in VALID_EXAMPLES)
    assert not reference_is_valid_iin("123456789012")


# --- failure classes; each input is wrong in exactly one way ------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "90010130001", "9001013000170", " 900101300017", "900101300017 ", "9001-0130-0017"],
)
def test_wrong_length_or_padding_is_invalid(text: str) -> None:
    assert refusal_code(text) == RefusalCode.INVALID_IIN


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


@pytest.mark.parametrize(
    "table", [ARABIC_INDIC, FULLWIDTH, DEVANAGARI], ids=["arabic", "full", "dev"]
)
def test_non_ascii_digits_are_invalid_even_when_their_values_would_check(table: dict) -> None:
    translated = "900101300017".translate(table)
    assert [int(ch) for ch in translated] == [int(ch) for ch in "900101300017"]
    assert refusal_code(translated) == RefusalCode.INVALID_IIN


def test_one_non_ascii_zero_among_ascii_digits_is_invalid() -> None:
    text = "900101300017".replace("0", "٠", 1)
    assert text == "9٠0101300017"
    assert refusal_code(text) == RefusalCode.INVALID_IIN


@pytest.mark.parametrize("text", ["90010130001²", "9001013000l7", "90010130001a", "9001013000.7"])
def test_other_characters_are_invalid(text: str) -> None:
    assert refusal_code(text) == RefusalCode.INVALID_IIN


@pytest.mark.parametrize("century_digit", "0789")
def test_century_digit_outside_1_to_6_is_invalid(century_digit: str) -> None:
    prefix = f"900101{century_digit}0001"
    assert reference_check_digit(prefix) is not None
    assert refusal_code(complete(prefix)) == RefusalCode.INVALID_IIN


@pytest.mark.parametrize(
    ("birth", "century_digit"),
    [
        ("000229", "3"),  # 1900 is not a leap year
        ("000229", "4"),
        ("000229", "1"),  # nor is 1800
        ("010229", "5"),  # nor 2001
        ("900230", "3"),
        ("900431", "4"),
        ("901301", "3"),
        ("900001", "3"),
        ("900100", "3"),
        ("900132", "3"),
    ],
)
def test_impossible_birth_date_in_the_centurys_calendar_is_invalid(
    birth: str, century_digit: str
) -> None:
    prefix = f"{birth}{century_digit}0001"
    assert reference_check_digit(prefix) is not None
    assert refusal_code(complete(prefix)) == RefusalCode.INVALID_IIN


def test_29_february_2000_is_a_real_date() -> None:
    iin = complete("0002295" + "0000")
    info = parse_iin(iin)
    assert info.birth_date == date(2000, 2, 29)
    assert info.male is True


def test_29_february_1900_is_refused_whatever_the_check_digit() -> None:
    assert not any(is_valid_iin(f"0002293000{d}{c}") for d in range(10) for c in range(10))


def test_wrong_check_digit_is_invalid() -> None:
    for wrong in "0123456789":
        if wrong != "7":
            assert refusal_code("90010130001" + wrong) == RefusalCode.INVALID_IIN


def test_both_passes_giving_ten_make_every_twelfth_digit_invalid() -> None:
    assert reference_check_digit(BOTH_PASSES_TEN) is None
    assert iin_check_digit(BOTH_PASSES_TEN) is None
    for last in "0123456789":
        assert refusal_code(BOTH_PASSES_TEN + last) == RefusalCode.INVALID_IIN


def test_second_pass_result_is_used_when_the_first_gives_ten() -> None:
    prefix = next(
        f"9001013{n:04d}"
        for n in range(10_000)
        if sum(int(d) * w for d, w in zip(f"9001013{n:04d}", range(1, 12), strict=True)) % 11 == 10
        and reference_check_digit(f"9001013{n:04d}") is not None
    )
    check = reference_check_digit(prefix)
    assert is_valid_iin(prefix + str(check))
    # The first pass's 10 is never a digit; its last digit (0) must not be accepted instead.
    if check != 0:
        assert not is_valid_iin(prefix + "0")


# --- what the IIN says about its holder ----------------------------------------------------------


@pytest.mark.parametrize(
    ("iin", "born", "male"),
    [
        ("900101300017", date(1990, 1, 1), True),
        ("740315450128", date(1974, 3, 15), False),
        ("850808301804", date(1985, 8, 8), True),
    ],
)
def test_iin_info_gives_birth_date_and_sex(iin: str, born: date, male: bool) -> None:
    info = parse_iin(iin)
    assert info.birth_date == born
    assert info.male is male


@pytest.mark.parametrize(
    ("century_digit", "year", "male"),
    [
        ("1", 1851, True),
        ("2", 1851, False),
        ("3", 1951, True),
        ("4", 1951, False),
        ("5", 2051, True),
        ("6", 2051, False),
    ],
)
def test_century_digit_gives_century_and_sex(century_digit: str, year: int, male: bool) -> None:
    prefix = next(
        f"510704{century_digit}{n:04d}"
        for n in range(10_000)
        if reference_check_digit(f"510704{century_digit}{n:04d}") is not None
    )
    info = parse_iin(complete(prefix))
    assert info.birth_date == date(year, 7, 4)
    assert info.male is male


def test_mask_shows_birth_date_and_last_two_digits_only() -> None:
    masked = mask_iin("900101300017")
    assert masked == "900101••••17"
    assert "3000" not in masked
    assert len(masked) == 12


@pytest.mark.parametrize("text", ["", "9001", "9001013000171"])
def test_mask_of_a_non_iin_hides_everything(text: str) -> None:
    assert mask_iin(text) == "*" * len(text)


# --- building an IIN from its parts -------------------------------------------------------------


def test_build_iin_reproduces_the_domain_examples() -> None:
    assert build_iin(date(1990, 1, 1), male=True, serial=1) == "900101300017"
    assert build_iin(date(1974, 3, 15), male=False, serial=5012) == "740315450128"
    assert build_iin(date(1985, 8, 8), male=True, serial=180) == "850808301804"


def test_build_iin_gives_none_when_both_passes_give_ten() -> None:
    assert build_iin(date(1900, 1, 1), male=True, serial=188) is None


@pytest.mark.parametrize(
    ("born", "serial"),
    [
        (date(1799, 12, 31), 1),
        (date(2100, 1, 1), 1),
        (date(1990, 1, 1), -1),
        (date(1990, 1, 1), 10_000),
    ],
)
def test_build_iin_refuses_parts_no_iin_can_carry(born: date, serial: int) -> None:
    with pytest.raises(ValueError, match="1800 to 2099"):
        build_iin(born, male=True, serial=serial)


@given(
    st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)),
    st.booleans(),
    st.integers(0, 9999),
)
def test_build_iin_round_trips_through_parse(born: date, male: bool, serial: int) -> None:
    iin = build_iin(born, male=male, serial=serial)
    digit = {18: 1, 19: 3, 20: 5}[born.year // 100] + (0 if male else 1)
    prefix = f"{born:%y%m%d}{digit}{serial:04d}"
    if iin is None:
        assert reference_check_digit(prefix) is None
        return
    assert iin == complete(prefix)
    assert reference_is_valid_iin(iin)
    info = parse_iin(iin)
    assert (info.birth_date, info.male) == (born, male)
    assert iin[7:11] == f"{serial:04d}"


# --- property: the validator agrees with the independent reference ------------------------------


@st.composite
def mostly_valid_iins(draw: st.DrawFn) -> str:
    """Real dates with a matching century and a computed check digit, then maybe one defect."""
    born = draw(st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)))
    offset = {18: 0, 19: 2, 20: 4}[born.year // 100]
    century_digit = str(1 + offset + draw(st.integers(0, 1)))
    prefix = born.strftime("%y%m%d") + century_digit + f"{draw(st.integers(0, 9999)):04d}"
    check = reference_check_digit(prefix)
    iin = prefix + str(check if check is not None else draw(st.integers(0, 9)))
    defect = draw(st.sampled_from(["none", "none", "none", "digit", "swap", "century"]))
    if defect == "digit":
        position = draw(st.integers(0, 11))
        iin = iin[:position] + draw(st.sampled_from("0123456789")) + iin[position + 1 :]
    elif defect == "swap":
        position = draw(st.integers(0, 10))
        iin = iin[:position] + iin[position + 1] + iin[position] + iin[position + 2 :]
    elif defect == "century":
        iin = iin[:6] + draw(st.sampled_from("0123456789")) + iin[7:]
    return iin


@given(st.text(max_size=16))
@example("900101300017")
@example("９００１０１３０００１７")
@example("00022950000" + "8")
def test_is_valid_iin_matches_reference_on_any_text(text: str) -> None:
    assert is_valid_iin(text) is reference_is_valid_iin(text)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_is_valid_iin_matches_reference_on_twelve_ascii_digits(text: str) -> None:
    assert is_valid_iin(text) is reference_is_valid_iin(text)


@given(mostly_valid_iins())
def test_is_valid_iin_matches_reference_on_near_valid_numbers(text: str) -> None:
    assert is_valid_iin(text) is reference_is_valid_iin(text)
    if is_valid_iin(text):
        info = parse_iin(text)
        assert info.birth_date.strftime("%y%m%d") == text[:6]
        assert info.male is (int(text[6]) % 2 == 1)


@given(mostly_valid_iins())
def test_check_digit_function_matches_reference(text: str) -> None:
    assert iin_check_digit(text[:11]) == reference_check_digit(text[:11])


def test_near_valid_generator_yields_a_good_share_of_valid_numbers() -> None:
    samples: list[str] = []

    @given(mostly_valid_iins())
    def collect(text: str) -> None:
        samples.append(text)

    collect()
    share = sum(map(reference_is_valid_iin, samples)) / len(samples)
    assert share > 0.3, share


def reference_encodes(iin: str, birth_date_iso: str) -> bool:
    """What `iin_encodes` promises, said with `parse_iin`."""
    if not is_valid_iin(iin):
        return False
    return parse_iin(iin).birth_date.isoformat() == birth_date_iso


@given(mostly_valid_iins(), st.integers(min_value=-3, max_value=3))
def test_iin_encodes_agrees_with_parse_iin_on_its_date_and_nearby_ones(
    iin: str, shift_days: int
) -> None:
    # The date the digits spell, as text, whether or not it is real or the IIN valid.
    century = {"1": "18", "2": "18", "3": "19", "4": "19", "5": "20", "6": "20"}.get(iin[6], "19")
    spelled = f"{century}{iin[0:2]}-{iin[2:4]}-{iin[4:6]}"
    candidates = [spelled]
    if is_valid_iin(iin):
        candidates.append((parse_iin(iin).birth_date + timedelta(days=shift_days)).isoformat())
    for born in candidates:
        assert iin_encodes(iin, born) is reference_encodes(iin, born)


@given(st.text(max_size=14), st.text(max_size=12))
def test_iin_encodes_accepts_no_text_that_parse_iin_refuses(iin: str, born: str) -> None:
    assert iin_encodes(iin, born) is reference_encodes(iin, born)


@pytest.mark.parametrize(
    "born",
    [
        "19850808",
        "1985-8-08",
        "1985-08-8 ",
        "1985/08/08",
        "1985-08-08T",
        "+985-08-08",
        "1985-08-08",
    ],
)
def test_iin_encodes_takes_only_the_strict_iso_form(born: str) -> None:
    assert iin_encodes("850808301804", born) is (born == "1985-08-08")
