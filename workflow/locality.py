"""Localities (населённый пункт / елді мекен) and the same-locality ban (domain.md §5).

A KATO code is 9 digits `AB CD EF HIJ`: region, district, rural okrug or town, settlement.
The republican cities Almaty (75), Nur-Sultan (71) and Shymkent (79) are each one locality
however many city districts they have, so any code inside them normalises to the city's own.
Cities of oblast significance with districts are modelled the same way by the data: a precinct
belongs to the city's locality and, separately, to a city district.
"""

from __future__ import annotations

import re

REPUBLICAN_CITY_REGIONS = frozenset({"71", "75", "79"})
_KATO = re.compile(r"[0-9]{9}")
_SEPARATORS = re.compile(r"[\s\-.]+")


def normalise_kato(code: str) -> str:
    """The locality's canonical 9-digit code; ValueError when the text is not a KATO code."""
    compact = _SEPARATORS.sub("", code)
    if not _KATO.fullmatch(compact):
        raise ValueError("A KATO code is 9 digits.")
    if compact[:2] in REPUBLICAN_CITY_REGIONS:
        return compact[:2] + "0000000"
    return compact


def region_code(kato: str) -> str:
    """The two-digit region part of a KATO code."""
    return normalise_kato(kato)[:2]


def same_locality(first_kato: str, second_kato: str) -> bool:
    """True when both codes name one locality: the comparison the ban needs, not precinct ids."""
    return normalise_kato(first_kato) == normalise_kato(second_kato)
