"""Forgiving name search: one folded key for every way a clerk may type a name.

A name reaches the desk in three spellings: Kazakh Cyrillic from the list ("Нұрланов"), Russian
Cyrillic typed on a keyboard without Kazakh letters ("Нурланов"), and Latin from a passport or a
foreign keyboard ("Nurlanov", "Nurlanov" with the 2021 Kazakh Latin letters). `fold_name` maps all
three onto one lowercase ASCII skeleton, so the stored key and the typed query meet.

The mapping, in order:

1. Unicode NFKC and `casefold`: letters with a combining mark compose, case disappears.
2. Kazakh letters become their Russian look-alikes, then everything Cyrillic becomes Latin:

   ==========  =====  ====================================================================
   Cyrillic    Latin  notes
   ==========  =====  ====================================================================
   а ә         a
   б в г ғ д   b v g g d
   е ё э є     e      ё is е (the letters are interchangeable in Russian print)
   ж           zh     also Latin j (the 2021 Kazakh alphabet writes ж as j)
   з           z
   и і й ы ї   i      also Latin y and dotless ı: they are one sound in a passport spelling
   к қ         k      also Latin q, and c when it is not the c of "ch"
   л м н ң     l m n n
   о ө         o
   п р с т     p r s t
   у ұ ү ў     u
   ф           f
   х һ         kh     a lone Latin h too ("Ahmetov" = "Akhmetov"); gh is g ("Ghabit")
   ц           ts
   ч ш щ       ch sh shch   Latin ç and ş too; German "sch" is sh
   ю я         iu ia  the same as Latin yu and ya once y is i
   ь ъ         i before a vowel ("Наталья" = "Natalia"), otherwise dropped ("Ольга" = "Olga")
   ==========  =====  ====================================================================

   Latin w is v, x is ks; other Latin diacritics are dropped (ä ö ü ū ñ ğ: a o u u n g).
3. Hyphens and apostrophes are removed ("Абу-Бакир" = "Абубакир", "O'Neil" = "Oneil"); any
   other punctuation separates words; runs of blanks become one space.
4. Spelling noise is removed: doubled letters are single ("Kassymov" = "Kasymov"), i next to a
   vowel is a glide and goes ("Yerlan" = "Ерлан", "Sergey" = "Сергей", "Aigul" = "Айгүл"), and
   i+o after a consonant is the ё of a Latin spelling ("Fyodorov", "Semyonov" = "Фёдоров",
   "Семёнов").

The key is a search skeleton, not a transliteration to show anyone: it merges some distinct names
("Мария" and "Мара" share "mara"), which costs a longer result list, never a missed voter.

The steps are repeated until the text stops changing, so folding a folded key changes nothing
(idempotence holds by construction rather than by a proof over Unicode's tables).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# VoterEntry.search_key is String(600).
SEARCH_KEY_LENGTH = 600

_CYRILLIC_VOWELS = "аәеёиіоөуұүыэюяєї"
# A soft or hard sign before a vowel is the glide of "Наталья", "Васильев", "объект".
_SIGN_BEFORE_VOWEL = re.compile(f"[ьъ](?=[{_CYRILLIC_VOWELS}])")

_CYRILLIC_TO_LATIN = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "ґ": "g", "д": "d",
    "е": "e", "ё": "e", "є": "e", "э": "e", "ж": "zh", "з": "z",
    "и": "i", "і": "i", "ї": "i", "й": "i", "ы": "i",
    "к": "k", "қ": "k", "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o", "ө": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ў": "u",
    "ф": "f", "х": "kh", "һ": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ь": "", "ю": "iu", "я": "ia",
}  # fmt: skip
_LATIN_VARIANTS = {
    "q": "k", "w": "v", "x": "ks", "y": "i", "j": "zh",
    "ş": "sh", "ç": "ch", "ı": "i",
}  # fmt: skip
# Removed outright: a hyphenated or apostrophised name is typed both with and without them.
_JOINERS = "-\u2010\u2011\u2012\u2013\u2014\u2212'`\u2018\u2019\u02bc\u02b9\u00b4"
_TABLE = str.maketrans(
    {**_CYRILLIC_TO_LATIN, **_LATIN_VARIANTS, **dict.fromkeys(_JOINERS, "")},
)

_LONE_C = re.compile(r"c(?!h)")
_GERMAN_SCH = re.compile(r"sch")
_GH = re.compile(r"gh")
# An h that does not close sh, ch, zh or kh stands for х.
_LONE_H = re.compile(r"(?<![sczk])h")
_DOUBLED = re.compile(r"([a-z])\1+")
_YO_AFTER_CONSONANT = re.compile(r"(?<=[bcdfghjklmnpqrstvwxz])io")
_GLIDE = re.compile(r"(?<=[aeou])i|i(?=[aeou])")
_NOT_WORD = re.compile(r"[\W_]+")

_MAX_ROUNDS = 8


def _fold_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _SIGN_BEFORE_VOWEL.sub("й", text).translate(_TABLE)
    # Latin letters with diacritics (2021 Kazakh Latin, European keyboards) lose the mark.
    text = "".join(
        char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char)
    )
    text = _NOT_WORD.sub(" ", text)
    text = _LONE_C.sub("k", text)
    text = _GERMAN_SCH.sub("sh", text)
    text = _GH.sub("g", text)
    text = _LONE_H.sub("kh", text)
    previous = None
    while previous != text:
        previous = text
        text = _DOUBLED.sub(r"\1", text)
        text = _YO_AFTER_CONSONANT.sub("e", text)
        text = _GLIDE.sub("", text)
    return " ".join(text.split())


# Names repeat a great deal (a list of 100,000 voters has a few thousand distinct words), so an
# import folds each distinct name once.
@lru_cache(maxsize=65_536)
def fold_name(text: str) -> str:
    """The search key of a name or a query: lowercase ASCII skeleton, see the module docstring."""
    folded = _fold_once(text)
    for _ in range(_MAX_ROUNDS):
        again = _fold_once(folded)
        if again == folded:
            break
        folded = again
    return folded


def voter_search_key(surname: str, given_name: str, patronymic: str | None) -> str:
    """VoterEntry.search_key: surname, given name, patronymic, folded, in list order.

    Each part is folded on its own (no rule reaches across a blank), which lets the cache work.
    """
    folded = (fold_name(part) for part in (surname, given_name, patronymic or ""))
    return " ".join(part for part in folded if part)[:SEARCH_KEY_LENGTH]


class SearchKeys:
    """`voter_search_key` for a list of millions: each distinct name part is folded once.

    Names repeat (a country has far fewer surnames than voters), so a plain dict beats the
    shared LRU; it is emptied when full, which bounds its memory whatever the list holds.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._folded: dict[str, str] = {}

    def key(self, surname: str, given_name: str, patronymic: str | None) -> str:
        folded = self._folded
        parts = []
        for part in (surname, given_name, patronymic or ""):
            fold = folded.get(part)
            if fold is None:
                if len(folded) >= self.limit:
                    folded.clear()
                fold = folded[part] = fold_name(part)
            if fold:
                parts.append(fold)
        return " ".join(parts)[:SEARCH_KEY_LENGTH]
