"""Text helpers: wrapping never loses a character; times always say which clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdf._layout import (
    clean,
    format_local_time,
    format_long_date,
    utc_offset,
    width_of,
    wrap,
)
from pdf.fonts import REGULAR, register_fonts

register_fonts()
WORDS = st.text(alphabet="абвгӘғқңөұүһі-ABC<&>'\" \n\t", min_size=0, max_size=200)


@given(text=WORDS, width=st.floats(min_value=20, max_value=400))
def test_wrap_keeps_every_character_and_fits_the_width(text: str, width: float) -> None:
    lines = wrap(text, REGULAR, 9, width)
    assert lines
    assert "".join("".join(lines).split()) == "".join(clean(text).split())
    for line in lines:
        # A line wider than the box can only be a single character that is itself wider.
        assert width_of(line, REGULAR, 9) <= width or len(line) == 1


def test_wrap_breaks_long_words_after_a_hyphen() -> None:
    lines = wrap("Абдрахманова-Нұрмұхамедоваааааааааааа", REGULAR, 9, 80)
    assert lines[0].endswith("-")
    assert "".join(lines) == "Абдрахманова-Нұрмұхамедоваааааааааааа"


def test_clean_turns_breaks_into_spaces_and_drops_controls() -> None:
    assert clean("a\nb\tc\x00d\x1be") == "a b cde"


def test_local_time_names_zone_and_offset() -> None:
    almaty = datetime(2022, 5, 25, 12, 0, tzinfo=ZoneInfo("Asia/Almaty"))
    assert format_local_time(almaty, "Asia/Almaty") == "2022-05-25 12:00 (Asia/Almaty, UTC+06:00)"
    oral = datetime(2022, 6, 5, 7, 0, tzinfo=ZoneInfo("Asia/Oral"))
    assert utc_offset(oral) == "UTC+05:00"
    assert utc_offset(datetime(2022, 1, 1, tzinfo=UTC)) == "UTC+00:00"
    west = timezone(-timedelta(hours=3, minutes=30))
    assert utc_offset(datetime(2022, 1, 1, tzinfo=west)) == "UTC-03:30"


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        utc_offset(datetime(2022, 1, 1))  # noqa: DTZ001 - the mistake under test


def test_long_date_in_both_languages() -> None:
    assert format_long_date(date(2022, 6, 5)) == "2022 жылғы 5 маусым / 5 июня 2022 года"
