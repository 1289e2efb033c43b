"""The voter import's row check: the fast path accepts only what the rule (`_check_voter`)
accepts, with the same values, and the cache of folded names gives the search key itself."""

from __future__ import annotations

from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.importing.reading import Header, ImportSummary
from services.importing.voters import OPTIONAL_VOTER_COLUMNS, VOTER_COLUMNS, _RowStager
from services.search import SearchKeys, voter_search_key


class FakeReference:
    """Two regions, precinct 1 and 2 in the first, 7 in the second."""

    regions: ClassVar[dict[str, int]] = {"750000000": 10, "270000000": 20}
    precincts: ClassVar[dict[tuple[int, int], int]] = {(10, 1): 101, (10, 2): 102, (20, 7): 207}

    def region_id(self, kato: str) -> int | None:
        return self.regions.get(kato)

    def precinct_id(self, region_id: int, number: int) -> int | None:
        return self.precincts.get((region_id, number))


COLUMNS = (*VOTER_COLUMNS, *OPTIONAL_VOTER_COLUMNS)
HEADER = Header({name: index for index, name in enumerate(COLUMNS)}, len(COLUMNS), ())
VALID_IIN = "850808301804"  # born 8 August 1985


GOOD_ROW = ["750000000", "2", VALID_IIN, "Нұрланов", "Асқар", "Серікұлы", "1985-08-08",
            "ул. Абая, 1", "ref2022"]  # fmt: skip
# Values near the edge of each column's rule, in the order of COLUMNS.
EDGES = (
    ("270000000", "750 000 000", "75-0000000", "123456789", "75000000", ""),
    ("7", "3", "02", "0", "٣", "²", "2147483648", "-2", ""),
    ("850808301805", "850808701804", "8508083018040", "８50808301804", "123", ""),
    ("", "x" * 200, "x" * 201, " "),
    ("", "x" * 200, "x" * 201),
    ("", "x" * 200, "x" * 201),
    ("1985-08-09", "19850808", "08.08.1985", "1985-8-08", "1985-08-08 ", ""),
    ("", "y" * 500, "y" * 501),
    ("", "ref2099", " ref2022 "),
)


@st.composite
def rows(draw: st.DrawFn) -> list[str]:
    """A good row with up to three of its values replaced: by an edge value, the good value
    with blanks around it, or any text."""
    row = list(GOOD_ROW)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        column = draw(st.integers(min_value=0, max_value=len(row) - 1))
        row[column] = draw(
            st.one_of(
                st.sampled_from(EDGES[column]),
                st.just(f"  {GOOD_ROW[column]}\t"),
                st.text(max_size=12),
            )
        )
    return row


def stager() -> _RowStager:
    summary = ImportSummary("voters", "test.csv", skip_errors=False)
    return _RowStager(FakeReference(), HEADER, "ref2022", summary)  # type: ignore[arg-type]


@given(rows())
def test_the_fast_path_accepts_only_what_the_rule_accepts_with_the_same_values(
    row: list[str],
) -> None:
    fast = stager().fast(5, row)
    checked = stager()
    slow = checked.slow(5, row)
    if fast is not None:
        assert slow == fast
        assert checked.summary.error_count == 0


@pytest.mark.parametrize(
    ("column", "value"),
    [(column, value) for column, values in enumerate(EDGES) for value in values],
)
def test_each_edge_value_alone_gets_the_rules_verdict(column: int, value: str) -> None:
    row = list(GOOD_ROW)
    row[column] = value
    fast = stager().fast(2, row)
    slow = stager().slow(2, row)
    assert fast is None or fast == slow
    if slow is None or not slow[2]:
        assert fast is None


def test_a_good_row_takes_the_fast_path_and_a_bad_one_is_explained_by_the_rule() -> None:
    good = ["750000000", "2", VALID_IIN, "Нұрланов", "Асқар", "", "1985-08-08", "ул. 1", ""]
    staged = stager().fast(3, good)
    assert staged == (3, VALID_IIN, True, 102, "Нұрланов", "Асқар", None, "1985-08-08",
                      "ул. 1", voter_search_key("Нұрланов", "Асқар", None))  # fmt: skip
    bad = [*good[:6], "1985-08-09", *good[7:]]
    checked = stager()
    assert checked.fast(4, bad) is None
    # The bad row is staged as not good: it still claims its IIN for the repeat check.
    assert checked.slow(4, bad) == (4, VALID_IIN, False, None, None, None, None, None, None, None)
    assert [str(error) for error in checked.summary.errors] == [
        "line 4: birth_date: differs from the birth date in the IIN 850808••••04"
    ]


@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8), st.text(max_size=8))))
def test_search_keys_from_the_cache_are_the_search_keys(names: list[tuple[str, str, str]]) -> None:
    # A limit of 3 parts makes the cache empty itself often.
    keys = SearchKeys(limit=3)
    for surname, given_name, patronymic in names:
        expected = voter_search_key(surname, given_name, patronymic or None)
        assert keys.key(surname, given_name, patronymic or None) == expected
