"""Localities and KATO codes (domain.md §5): republican cities are one locality each."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.workflow.factories import (
    AKTOBE_KATO,
    ALMATY_ALMALY_KATO,
    ALMATY_AUEZOV_KATO,
    ALMATY_BOSTANDYK_KATO,
    NUR_SULTAN_YESIL_KATO,
    ORAL_KATO,
    SHYMKENT_ABAI_KATO,
)
from workflow.locality import normalise_kato, region_code, same_locality

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


@pytest.mark.parametrize(
    ("district", "city"),
    [
        (ALMATY_ALMALY_KATO, "750000000"),
        (ALMATY_AUEZOV_KATO, "750000000"),
        (ALMATY_BOSTANDYK_KATO, "750000000"),
        ("750000000", "750000000"),
        ("711110000", "710000000"),
        (NUR_SULTAN_YESIL_KATO, "710000000"),
        ("711410000", "710000000"),
        (SHYMKENT_ABAI_KATO, "790000000"),
        ("791710000", "790000000"),
    ],
)
def test_republican_city_districts_collapse_to_the_city(district: str, city: str) -> None:
    assert normalise_kato(district) == city


@pytest.mark.parametrize(
    "code",
    [ORAL_KATO, AKTOBE_KATO, "351610000", "431010000", "196035100", "471010000"],
)
def test_codes_outside_republican_cities_are_unchanged(code: str) -> None:
    assert normalise_kato(code) == code


@pytest.mark.parametrize(
    ("written", "compact"),
    [
        ("27 10 10 000", ORAL_KATO),
        ("27-10-10-000", ORAL_KATO),
        ("27.10.10.000", ORAL_KATO),
        (" 271010000\n", ORAL_KATO),
        ("27 - 10 - 10 - 000", ORAL_KATO),
        ("75 11 10 000", "750000000"),
    ],
)
def test_separators_are_stripped(written: str, compact: str) -> None:
    assert normalise_kato(written) == compact


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "27101000",
        "2710100000",
        "27101000A",
        "27_10_10_000",
        "٢٧١٠١٠٠٠٠",  # Arabic-Indic digits
        "２７１０１０００００",  # fullwidth digits
        "+271010000",
    ],
)
def test_text_that_is_not_nine_ascii_digits_raises_value_error(code: str) -> None:
    with pytest.raises(ValueError, match="9 digits"):
        normalise_kato(code)


def test_region_code_is_the_first_two_digits() -> None:
    assert region_code(ORAL_KATO) == "27"
    assert region_code("75 12 10 000") == "75"


def test_two_almaty_districts_are_one_locality() -> None:
    assert same_locality(ALMATY_ALMALY_KATO, ALMATY_AUEZOV_KATO)
    assert same_locality(ALMATY_BOSTANDYK_KATO, "75-00-00-000")


def test_different_republican_cities_are_different_localities() -> None:
    assert not same_locality(ALMATY_ALMALY_KATO, NUR_SULTAN_YESIL_KATO)
    assert not same_locality(NUR_SULTAN_YESIL_KATO, SHYMKENT_ABAI_KATO)


def test_same_settlement_written_differently_is_one_locality() -> None:
    assert same_locality(ORAL_KATO, "27 10 10 000")


def test_different_settlements_are_different_localities() -> None:
    assert not same_locality(ORAL_KATO, AKTOBE_KATO)
    assert not same_locality(ORAL_KATO, "271010001")


def test_same_locality_rejects_a_malformed_code() -> None:
    with pytest.raises(ValueError, match="9 digits"):
        same_locality(ORAL_KATO, "2710")


@given(nine_digits)
def test_normalising_is_idempotent(code: str) -> None:
    once = normalise_kato(code)
    assert normalise_kato(once) == once
    assert len(once) == 9


@given(st.sampled_from(["71", "75", "79"]), st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_every_code_in_a_republican_city_is_that_city(region: str, rest: str) -> None:
    assert normalise_kato(region + rest) == region + "0000000"
    assert same_locality(region + rest, region + "1110000")


@given(nine_digits, nine_digits)
def test_same_locality_is_symmetric(first: str, second: str) -> None:
    assert same_locality(first, second) is same_locality(second, first)
    assert same_locality(first, first)


@given(nine_digits.filter(lambda c: c[:2] not in {"71", "75", "79"}))
def test_other_regions_keep_the_code(code: str) -> None:
    assert normalise_kato(code) == code
