"""Name folding: Kazakh, Russian and Latin spellings of one name meet on one search key."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from seed.reference import (
    KAZAKH_FEMALE_GIVEN,
    KAZAKH_MALE_GIVEN,
    KAZAKH_PATRONYMIC_BASES,
    KAZAKH_SURNAMES_FEMALE,
    KAZAKH_SURNAMES_MALE,
    RUSSIAN_FEMALE_GIVEN,
    RUSSIAN_MALE_GIVEN,
    RUSSIAN_PATRONYMICS,
    RUSSIAN_SURNAMES,
)
from services.search import SEARCH_KEY_LENGTH, fold_name, voter_search_key

# Real names as (Kazakh spelling, Russian look-alike typing, Latin spellings seen in passports
# and on foreign keyboards, including the 2021 Kazakh Latin alphabet).
REAL_NAMES: tuple[tuple[str, ...], ...] = (
    ("Нұрланов", "Нурланов", "Nurlanov", "NURLANOV"),
    ("Әбдірахманов", "Абдирахманов", "Abdirakhmanov", "Äbdirahmanov"),
    ("Қасымов", "Касымов", "Kassymov", "Kasymov", "Qasymov"),
    ("Жұмабеков", "Жумабеков", "Zhumabekov", "Jumabekov"),
    ("Сәрсенбаев", "Сарсенбаев", "Sarsenbayev", "Sarsenbaev"),
    ("Құдайбергенов", "Кудайбергенов", "Kudaibergenov", "Kudaybergenov", "Qudaibergenov"),
    ("Төлеуов", "Толеуов", "Toleuov", "Töleuov"),
    ("Сейітов", "Сейитов", "Seitov", "Seyitov"),
    ("Нұрпейісов", "Нурпейисов", "Nurpeisov", "Nurpeissov"),
    ("Ғабдуллин", "Габдуллин", "Gabdullin", "Ghabdullin"),
    ("Шаһанов", "Шаханов", "Shakhanov", "Shahanov", "Şahanov"),
    ("Үсенов", "Усенов", "Ussenov", "Üsenov"),
    ("Асқар", "Аскар", "Askar", "Asqar"),
    ("Айгүл", "Айгуль", "Aigul", "Aygul", "Aigül"),
    ("Бауыржан", "Бауыржан", "Bauyrzhan", "Baurzhan", "Bauyrjan"),
    ("Ләззат", "Ляззат", "Lyazzat", "Lazzat"),
    ("Шыңғыс", "Шынгыс", "Shyngys", "Şyñğys"),
    ("Гауһар", "Гаухар", "Gaukhar", "Gauhar"),
    ("Мөлдір", "Молдир", "Moldir", "Möldir"),
    ("Әлия", "Алия", "Aliya", "Alia"),
    ("Қуаныш", "Куаныш", "Kuanysh", "Quanysh", "Quanyş"),
    ("Серікұлы", "Серикулы", "Serikuly", "Serikūly"),
    ("Ерлан", "Ерлан", "Yerlan", "Erlan"),
    ("Фёдоров", "Федоров", "Fedorov", "Fyodorov"),
    ("Соловьёв", "Соловьев", "Solovyov", "Solovyev", "Solovev"),
    ("Наталья", "Наталья", "Natalya", "Natalia"),
    ("Сергей", "Сергей", "Sergey", "Sergei"),
    ("Дмитрий", "Дмитрий", "Dmitriy", "Dmitry"),
    ("Юлия", "Юлия", "Yuliya", "Yulia"),
    ("Ксения", "Ксения", "Kseniya", "Xenia"),
)

# Different people: folding must not merge these.
DIFFERENT_NAMES: tuple[tuple[str, str], ...] = (
    ("Нұрланов", "Нұрланова"),
    ("Марат", "Мұрат"),
    ("Серікұлы", "Серікқызы"),
    ("Асқар", "Асхат"),
    ("Иванов", "Ivanova"),
    ("Жанар", "Жанат"),
    ("Омаров", "Оспанов"),
)

KAZAKH_TO_RUSSIAN = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")
KAZAKH_ALPHABET = "абвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюяә" + " -"

# Transliteration as in Kazakhstani passports (ICAO 9303 for Russian letters, plain Latin for
# the Kazakh ones): written independently of services.search on purpose.
PASSPORT_LATIN = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e",
    "ё": "e", "ж": "zh", "з": "z", "и": "i", "і": "i", "й": "i", "к": "k", "қ": "k",
    "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f", "х": "kh", "һ": "h",
    "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e",
    "ю": "iu", "я": "ia",
}  # fmt: skip


def passport_latin(name: str) -> str:
    latin = "".join(PASSPORT_LATIN.get(char, char) for char in name.lower())
    return latin.upper()


def every_reference_name() -> list[str]:
    names = [
        *KAZAKH_MALE_GIVEN,
        *KAZAKH_FEMALE_GIVEN,
        *KAZAKH_SURNAMES_MALE,
        *KAZAKH_SURNAMES_FEMALE,
        *RUSSIAN_MALE_GIVEN,
        *RUSSIAN_FEMALE_GIVEN,
    ]
    names += [name for pair in RUSSIAN_SURNAMES for name in pair]
    names += [name for pair in RUSSIAN_PATRONYMICS for name in pair]
    names += [kk + "ұлы" for kk, _ in KAZAKH_PATRONYMIC_BASES]
    names += [ru + "овна" for _, ru in KAZAKH_PATRONYMIC_BASES]
    return names


@pytest.mark.parametrize("spellings", REAL_NAMES, ids=lambda spellings: spellings[2])
def test_kazakh_russian_and_latin_spellings_of_a_real_name_fold_equal(
    spellings: tuple[str, ...],
) -> None:
    folded = {spelling: fold_name(spelling) for spelling in spellings}
    assert len(set(folded.values())) == 1, folded


def test_at_least_twenty_real_names_are_covered() -> None:
    assert len(REAL_NAMES) >= 20


@pytest.mark.parametrize(("first", "second"), DIFFERENT_NAMES)
def test_different_names_keep_different_keys(first: str, second: str) -> None:
    assert fold_name(first) != fold_name(second)


@pytest.mark.parametrize("name", every_reference_name())
def test_passport_latin_of_every_demo_name_finds_the_cyrillic_one(name: str) -> None:
    assert fold_name(passport_latin(name)) == fold_name(name)


def test_folded_key_is_lowercase_ascii_latin() -> None:
    key = fold_name("  НҰРЛАНОВ   Асқар\tСерікұлы ")
    assert key == "nurlanov askar serikuli"
    assert key.isascii()


def test_case_and_blanks_do_not_matter() -> None:
    assert fold_name("  НҰРЛАНОВ   асқар ") == fold_name("Нұрланов Асқар")


def test_hyphens_and_apostrophes_are_removed_other_punctuation_separates() -> None:
    assert fold_name("Абу-Бакир") == fold_name("Абубакир")
    assert fold_name("O'Neil") == fold_name("ONeil") == fold_name("O’Neil")
    assert fold_name("Иванов,Пётр") == "ivanov petr"


def test_prefix_of_a_name_folds_to_a_prefix_of_its_key() -> None:
    # The desk searches while the clerk types: a half-typed name must already match.
    key = fold_name("Нұрпейісова Әлия")
    for typed in ("Нұр", "Nurp", "нурпеисова", "Nurpeissova A"):
        assert key.startswith(fold_name(typed)), typed


@given(st.text(max_size=60))
@example("Ё-ё ъЬ")
@example("ǅ\u0345ß")
@example("schh yio")
def test_folding_is_idempotent(text: str) -> None:
    once = fold_name(text)
    assert fold_name(once) == once


@given(st.text(alphabet=KAZAKH_ALPHABET, max_size=40))
def test_kazakh_letters_fold_like_their_russian_look_alikes(text: str) -> None:
    assert fold_name(text) == fold_name(text.translate(KAZAKH_TO_RUSSIAN))


@given(st.text(alphabet=KAZAKH_ALPHABET, max_size=40))
def test_upper_and_lower_case_fold_equal(text: str) -> None:
    assert fold_name(text.upper()) == fold_name(text)


def test_voter_search_key_joins_surname_given_name_and_patronymic() -> None:
    assert voter_search_key("Нұрланов", "Асқар", "Серікұлы") == "nurlanov askar serikuli"
    assert voter_search_key("Petrova", "Мария", None) == "petrova mara"
    assert voter_search_key("Petrova", "Мария", "") == "petrova mara"


def test_voter_search_key_fits_its_column() -> None:
    # щ becomes four letters: the longest names must still fit String(600).
    key = voter_search_key("Щ" * 200, "Щука" * 50, "Щ" * 200)
    assert len(key) <= SEARCH_KEY_LENGTH
