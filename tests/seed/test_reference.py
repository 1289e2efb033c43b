"""Consistency of the 2022 reference data: regions, zones, localities, precincts, names."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from seed.reference import (
    DEMO_LOCALITIES,
    DEMO_PRECINCTS,
    KAZAKH_FEMALE_GIVEN,
    KAZAKH_MALE_GIVEN,
    KAZAKH_PATRONYMIC_BASES,
    KAZAKH_SURNAMES,
    KAZAKH_SURNAMES_FEMALE,
    KAZAKH_SURNAMES_MALE,
    REGIONS_2022,
    RUSSIAN_FEMALE_GIVEN,
    RUSSIAN_MALE_GIVEN,
    RUSSIAN_PATRONYMICS,
    RUSSIAN_SURNAMES,
    STREETS_KK_RU,
    LocalityData,
    RegionData,
    region_for_kato,
)

NINE_DIGITS = re.compile(r"[0-9]{9}")
# Aktobe, Atyrau, West Kazakhstan, Kyzylorda, Mangystau: UTC+5 in 2022.
WESTERN_PREFIXES = frozenset({"15", "23", "27", "43", "47"})
# Abai (10), Zhetysu (33) and Ulytau (62) were created after the referendum.
POST_2022_PREFIXES = frozenset({"10", "33", "62"})
UTC5 = timedelta(hours=5)
UTC6 = timedelta(hours=6)

REGION_BY_PREFIX = {region.kato[:2]: region for region in REGIONS_2022}
LOCALITY_BY_KATO = {locality.kato: locality for locality in DEMO_LOCALITIES}


def _duplicates(items: Sequence[object]) -> list[object]:
    return [item for item, count in Counter(items).items() if count > 1]


def _offset(region: RegionData, moment: datetime) -> timedelta | None:
    return moment.astimezone(ZoneInfo(region.time_zone)).utcoffset()


# ----------------------------------------------------------------------------- regions


def test_exactly_17_regions() -> None:
    assert len(REGIONS_2022) == 17


def test_region_codes_are_unique_nine_digit_region_codes() -> None:
    codes = [region.kato for region in REGIONS_2022]
    assert _duplicates(codes) == []
    assert _duplicates([code[:2] for code in codes]) == []
    for code in codes:
        assert NINE_DIGITS.fullmatch(code), code
        assert code.endswith("0000000"), code


def test_no_region_created_after_the_referendum() -> None:
    assert POST_2022_PREFIXES.isdisjoint(REGION_BY_PREFIX)
    names = " ".join(f"{r.name_en} {r.name_ru} {r.name_kk}" for r in REGIONS_2022)
    for later in ("Abai", "Zhetysu", "Ulytau", "Астана"):
        assert later not in names


def test_expected_region_codes() -> None:
    expected = {
        "11": "Akmola Region",
        "15": "Aktobe Region",
        "19": "Almaty Region",
        "23": "Atyrau Region",
        "27": "West Kazakhstan Region",
        "31": "Zhambyl Region",
        "35": "Karaganda Region",
        "39": "Kostanay Region",
        "43": "Kyzylorda Region",
        "47": "Mangystau Region",
        "55": "Pavlodar Region",
        "59": "North Kazakhstan Region",
        "61": "Turkistan Region",
        "63": "East Kazakhstan Region",
        "71": "Nur-Sultan",
        "75": "Almaty",
        "79": "Shymkent",
    }
    assert {prefix: r.name_en for prefix, r in REGION_BY_PREFIX.items()} == expected


@pytest.mark.parametrize(
    ("name_en", "prefix"), [("Nur-Sultan", "71"), ("Almaty", "75"), ("Shymkent", "79")]
)
def test_republican_cities_codes(name_en: str, prefix: str) -> None:
    (region,) = [r for r in REGIONS_2022 if r.name_en == name_en]
    assert region.kato.startswith(prefix)
    assert region.kato == prefix + "0000000"


def test_capital_has_its_2022_name() -> None:
    capital = REGION_BY_PREFIX["71"]
    assert capital.name_ru == "город Нур-Султан"
    assert capital.name_kk == "Нұр-Сұлтан қаласы"


def test_region_names_are_filled_in_three_languages() -> None:
    for region in REGIONS_2022:
        assert region.name_kk.strip()
        assert region.name_ru.strip()
        assert region.name_en.strip()
        assert region.name_en.isascii()


def test_region_for_kato_matches_by_first_two_digits() -> None:
    assert region_for_kato("751110000").name_en == "Almaty"
    assert region_for_kato("271035100").name_en == "West Kazakhstan Region"
    assert region_for_kato("190000000").name_en == "Almaty Region"
    for region in REGIONS_2022:
        assert region_for_kato(region.kato) is region


@pytest.mark.parametrize("kato", ["100000000", "331010000", "621010000", "000000000", ""])
def test_region_for_kato_unknown_raises_key_error(kato: str) -> None:
    with pytest.raises(KeyError):
        region_for_kato(kato)


# ----------------------------------------------------------------------------- time zones


@pytest.mark.parametrize("region", REGIONS_2022, ids=lambda r: r.name_en)
def test_zone_loads(region: RegionData) -> None:
    assert ZoneInfo(region.time_zone).key == region.time_zone


@pytest.mark.parametrize("region", REGIONS_2022, ids=lambda r: r.name_en)
def test_offset_on_referendum_eve_2022(region: RegionData) -> None:
    moment = datetime(2022, 6, 4, 12, 0, tzinfo=UTC)
    expected = UTC5 if region.kato[:2] in WESTERN_PREFIXES else UTC6
    assert _offset(region, moment) == expected


def test_exactly_five_regions_were_utc5_in_2022() -> None:
    moment = datetime(2022, 6, 4, 12, 0, tzinfo=UTC)
    western = {r.kato[:2] for r in REGIONS_2022 if _offset(r, moment) == UTC5}
    assert western == WESTERN_PREFIXES


@pytest.mark.parametrize("region", REGIONS_2022, ids=lambda r: r.name_en)
def test_offset_in_2024_is_utc5_everywhere(region: RegionData) -> None:
    assert _offset(region, datetime(2024, 6, 4, 12, 0, tzinfo=UTC)) == UTC5


def test_deadline_is_local_time_of_the_region() -> None:
    # 18:00 local on 4 June 2022 is 12:00 UTC in Almaty but 13:00 UTC in Oral.
    almaty = ZoneInfo(REGION_BY_PREFIX["75"].time_zone)
    oral = ZoneInfo(REGION_BY_PREFIX["27"].time_zone)
    assert datetime(2022, 6, 4, 18, tzinfo=almaty).astimezone(UTC).hour == 12
    assert datetime(2022, 6, 4, 18, tzinfo=oral).astimezone(UTC).hour == 13


# ----------------------------------------------------------------------------- localities


def test_locality_codes_are_unique_and_nine_digits() -> None:
    codes = [locality.kato for locality in DEMO_LOCALITIES]
    assert _duplicates(codes) == []
    for code in codes:
        assert NINE_DIGITS.fullmatch(code), code


@pytest.mark.parametrize("locality", DEMO_LOCALITIES, ids=lambda loc: loc.kato)
def test_locality_belongs_to_an_existing_region(locality: LocalityData) -> None:
    region = REGION_BY_PREFIX.get(locality.region_kato[:2])
    assert region is not None
    assert region.kato == locality.region_kato
    assert locality.kato[:2] == region.kato[:2]
    assert region_for_kato(locality.kato) is region


@pytest.mark.parametrize("locality", DEMO_LOCALITIES, ids=lambda loc: loc.kato)
def test_locality_fields(locality: LocalityData) -> None:
    assert locality.kind in {"city", "town", "village"}
    assert locality.name_kk.strip()
    assert locality.name_ru.strip()
    for district in locality.districts:
        assert NINE_DIGITS.fullmatch(district.kato), district.kato
        assert district.kato[:2] == locality.kato[:2]
        assert district.kato != locality.kato
        assert district.name_kk.strip()
        assert district.name_ru.strip()


def test_district_codes_are_unique_and_distinct_from_localities() -> None:
    districts = [d.kato for locality in DEMO_LOCALITIES for d in locality.districts]
    assert _duplicates(districts) == []
    assert set(districts).isdisjoint(LOCALITY_BY_KATO)


def test_republican_cities_are_one_locality_each() -> None:
    for prefix in ("71", "75", "79"):
        in_city = [loc for loc in DEMO_LOCALITIES if loc.kato[:2] == prefix]
        assert len(in_city) == 1
        (city,) = in_city
        assert city.kato == prefix + "0000000"
        assert city.kind == "city"
        assert city.districts


def test_almaty_nur_sultan_and_oblast_cities_have_their_districts() -> None:
    def district_names(kato: str) -> set[str]:
        return {d.name_ru for d in LOCALITY_BY_KATO[kato].districts}

    assert {
        "Алмалинский район",
        "Ауэзовский район",
        "Бостандыкский район",
        "Медеуский район",
    } <= district_names("750000000")
    assert district_names("710000000") >= {
        "район Алматы",
        "район Есиль",
        "район Сарыарка",
        "район Байконур",
    }
    assert len(district_names("151010000")) == 2
    assert len(district_names("351010000")) == 2


def test_west_kazakhstan_has_oral_and_three_villages() -> None:
    west = [loc for loc in DEMO_LOCALITIES if loc.region_kato == "270000000"]
    assert [loc.name_ru for loc in west if loc.kind == "city"] == ["Уральск"]
    assert len([loc for loc in west if loc.kind == "village"]) == 3


# ----------------------------------------------------------------------------- precincts


def test_precinct_points_to_existing_locality_and_district() -> None:
    for precinct in DEMO_PRECINCTS:
        locality = LOCALITY_BY_KATO.get(precinct.locality_kato)
        assert locality is not None, precinct
        if precinct.district_kato is not None:
            assert precinct.district_kato in {d.kato for d in locality.districts}, precinct
        elif locality.districts:
            pytest.fail(f"precinct {precinct.number} in a districted city has no district")


def test_precinct_numbers_unique_per_region() -> None:
    keys = [(p.locality_kato[:2], p.number) for p in DEMO_PRECINCTS]
    assert _duplicates(keys) == []


def test_precinct_fields() -> None:
    for precinct in DEMO_PRECINCTS:
        assert 1 <= precinct.number <= 999
        assert precinct.address_kk.strip()
        assert precinct.address_ru.strip()
        assert "комиссия" in precinct.territorial_commission


def test_precinct_counts() -> None:
    per_locality = Counter(p.locality_kato for p in DEMO_PRECINCTS)
    assert 25 <= len(DEMO_PRECINCTS) <= 45
    assert per_locality["750000000"] == 8
    assert per_locality["710000000"] == 6
    assert per_locality["271010000"] == 4
    almaty_districts = {p.district_kato for p in DEMO_PRECINCTS if p.locality_kato == "750000000"}
    assert len(almaty_districts) == 4
    # Every demo locality can be used: it has at least one precinct.
    assert set(LOCALITY_BY_KATO) == set(per_locality)


# ----------------------------------------------------------------------------- names

SINGLE_NAME_LISTS: dict[str, tuple[str, ...]] = {
    "KAZAKH_MALE_GIVEN": KAZAKH_MALE_GIVEN,
    "KAZAKH_FEMALE_GIVEN": KAZAKH_FEMALE_GIVEN,
    "KAZAKH_SURNAMES_MALE": KAZAKH_SURNAMES_MALE,
    "KAZAKH_SURNAMES_FEMALE": KAZAKH_SURNAMES_FEMALE,
    "RUSSIAN_MALE_GIVEN": RUSSIAN_MALE_GIVEN,
    "RUSSIAN_FEMALE_GIVEN": RUSSIAN_FEMALE_GIVEN,
}
PAIR_LISTS: dict[str, tuple[tuple[str, str], ...]] = {
    "KAZAKH_SURNAMES": KAZAKH_SURNAMES,
    "KAZAKH_PATRONYMIC_BASES": KAZAKH_PATRONYMIC_BASES,
    "RUSSIAN_SURNAMES": RUSSIAN_SURNAMES,
    "RUSSIAN_PATRONYMICS": RUSSIAN_PATRONYMICS,
}
CYRILLIC_NAME = re.compile(r"[А-ЯЁӘҒҚҢӨҰҮҺІ][а-яёәғқңөұүһі]+(-[А-ЯЁӘҒҚҢӨҰҮҺІ][а-яёәғқңөұүһі]+)?")


@pytest.mark.parametrize("name", SINGLE_NAME_LISTS)
def test_single_name_list(name: str) -> None:
    items = SINGLE_NAME_LISTS[name]
    assert len(items) >= 40
    assert _duplicates(items) == []
    for item in items:
        assert CYRILLIC_NAME.fullmatch(item), item


@pytest.mark.parametrize("name", PAIR_LISTS)
def test_pair_list(name: str) -> None:
    pairs = PAIR_LISTS[name]
    assert len(pairs) >= 40
    assert _duplicates([first for first, _ in pairs]) == []
    assert _duplicates([second for _, second in pairs]) == []
    for pair in pairs:
        assert len(pair) == 2
        for item in pair:
            assert CYRILLIC_NAME.fullmatch(item), item


def test_kazakh_names_use_kazakh_letters() -> None:
    kazakh_letters = set("ӘҒҚҢӨҰҮҺІәғқңөұүһі")
    for items in (KAZAKH_MALE_GIVEN, KAZAKH_FEMALE_GIVEN, KAZAKH_SURNAMES_MALE):
        with_letters = [item for item in items if kazakh_letters & set(item)]
        assert len(with_letters) >= 10


def test_surname_pairs_are_masculine_and_feminine_forms() -> None:
    for male, female in (*KAZAKH_SURNAMES, *RUSSIAN_SURNAMES):
        assert female in {male + "а", male}, (male, female)
    assert tuple(male for male, _ in KAZAKH_SURNAMES) == KAZAKH_SURNAMES_MALE
    assert tuple(female for _, female in KAZAKH_SURNAMES) == KAZAKH_SURNAMES_FEMALE
    assert ("Нұрланов", "Нұрланова") in KAZAKH_SURNAMES


def test_russian_patronymics_are_gendered() -> None:
    for male, female in RUSSIAN_PATRONYMICS:
        assert male.endswith(("ович", "евич", "ич")), male
        assert female.endswith(("овна", "евна", "ична")), female


def test_patronymic_bases_take_both_suffixes() -> None:
    for kk, ru in KAZAKH_PATRONYMIC_BASES:
        assert kk[-1] not in "аеиоуыэюяйьжшәөұүі", kk
        assert ru[-1] not in "аеиоуыэюяйьжш", ru


def test_streets() -> None:
    assert len(STREETS_KK_RU) >= 20
    assert _duplicates([kk for kk, _ in STREETS_KK_RU]) == []
    assert _duplicates([ru for _, ru in STREETS_KK_RU]) == []
    for kk, ru in STREETS_KK_RU:
        assert kk.endswith(("көшесі", "даңғылы")), kk
        assert ru.startswith(("ул. ", "пр. ")), ru
