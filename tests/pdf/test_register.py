"""The register of issued certificates and the supplementary list: every row as entered, masked
IINs, page N of M on every page, totals, and a count check against the caller's."""

from __future__ import annotations

import dataclasses
import io
from datetime import date, datetime

import pytest

from pdf import (
    RegisterRow,
    render_register,
    render_supplementary_list,
    write_register,
)
from pdf.register import state_label
from tests.pdf.conftest import page_texts, pdf_text, squash
from tests.pdf.demo import (
    IIN,
    demo_register_header,
    demo_register_rows,
    demo_supplementary_header,
    demo_supplementary_rows,
)
from tests.pdf.names import MARKUP_NAMES, NAMES, full_name
from workflow.states import ApplicantKind, CertificateState

ALL_NAMES = [full_name(name) for name in NAMES + MARKUP_NAMES]


def test_register_heading_names_election_precinct_period_and_zone() -> None:
    header = demo_register_header(day=date(2022, 5, 25))
    text = pdf_text(render_register(header, demo_register_rows(3)))
    for value in (
        "БЕРІЛГЕН ЕСЕПТЕН ШЫҒАРУ КУӘЛІКТЕРІНІҢ ТІЗІЛІМІ",
        "РЕЕСТР ВЫДАННЫХ ОТКРЕПИТЕЛЬНЫХ УДОСТОВЕРЕНИЙ",
        header.election_name_kk,
        header.election_name_ru,
        header.commission_kk,
        header.commission_ru,
        "учаске / участок № 123",
        "Алматы қаласы / город Алматы",
        "Күні / Дата: 2022-05-25",
        "Asia/Almaty",
    ):
        assert squash(value) in text, value


def test_register_without_a_day_covers_the_whole_period() -> None:
    text = pdf_text(render_register(demo_register_header(), demo_register_rows(1)))
    assert "За весь период выдачи" in text


def test_every_row_shows_its_fields_with_the_iin_masked() -> None:
    rows = list(demo_register_rows(12, ALL_NAMES))
    text = pdf_text(render_register(demo_register_header(), iter(rows)))
    for row in rows:
        assert row.number in text
        assert squash(row.full_name) in text, row.full_name
        assert f"{row.issued_at:%Y-%m-%d %H:%M} (UTC+06:00)" in text
        assert state_label(row.state) in text
    assert IIN not in text
    assert "900101••••17" in text
    assert "сайлаушы / избиратель" in text
    assert "өкіл / представитель: Іргебаев Ұлан Һадиұлы" in text


def test_fifty_names_and_markup_survive_wrapping_in_the_name_column() -> None:
    text = pdf_text(render_register(demo_register_header(), demo_register_rows(54, ALL_NAMES)))
    for name in ALL_NAMES:
        if max(len(word) for word in name.split()) < 30:
            assert squash(name) in text, name
        else:
            # A word wider than the column is cut (after a hyphen): only the line break is new.
            assert "".join(name.split()) in "".join(text.split()), name


def test_each_page_says_page_n_of_m() -> None:
    texts = page_texts(render_register(demo_register_header(), demo_register_rows(120)))
    total = len(texts)
    assert total > 2
    for number, text in enumerate(texts, start=1):
        assert f"Бет {number} / {total}" in text
        assert f"Страница {number} из {total}" in text


def test_totals_count_rows_states_and_representatives() -> None:
    text = pdf_text(render_register(demo_register_header(), demo_register_rows(12)))
    assert "Барлығы жазба / Всего записей: 12" in text
    assert "из них выдано представителям: 3" in text
    for state in CertificateState:
        assert f"{state_label(state)}: 2" in text
    assert "Председатель комиссии" in text
    assert "Бөкейханова Мөлдір Әлиханқызы" in text
    assert "Ёлкин Фёдор Семёнович" in text


def test_empty_register_still_prints_with_zero_total() -> None:
    texts = page_texts(render_register(demo_register_header(), iter(())))
    assert len(texts) == 1
    assert "Всего записей: 0" in texts[0]
    assert "Страница 1 из 1" in texts[0]


def test_count_from_the_caller_is_checked() -> None:
    render_register(demo_register_header(), demo_register_rows(5), total_rows=5)
    with pytest.raises(ValueError, match="expected 6 rows, got 5"):
        render_register(demo_register_header(), demo_register_rows(5), total_rows=6)


def test_failed_count_check_writes_nothing() -> None:
    out = io.BytesIO()
    with pytest.raises(ValueError, match="expected"):
        write_register(demo_register_header(), demo_register_rows(5), out, total_rows=4)
    assert out.getvalue() == b""


def test_naive_time_in_a_row_is_refused() -> None:
    row = dataclasses.replace(
        next(demo_register_rows(1)),
        issued_at=datetime(2022, 5, 25, 12, 0),  # noqa: DTZ001 - the mistake under test
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        render_register(demo_register_header(), [row])


def test_register_is_deterministic() -> None:
    def render() -> bytes:
        return render_register(demo_register_header(), demo_register_rows(40, ALL_NAMES))

    assert render() == render()


def test_representative_without_a_name_still_says_representative() -> None:
    row = RegisterRow(
        number="00000001-3",
        full_name="Үмбетова Ұлжан",
        iin=IIN,
        issued_at=next(demo_register_rows(1)).issued_at,
        handed_to=ApplicantKind.REPRESENTATIVE,
        representative_name=None,
        state=CertificateState.ISSUED,
    )
    assert "өкіл / представитель" in pdf_text(render_register(demo_register_header(), [row]))


def test_supplementary_list_shows_every_field() -> None:
    header = demo_supplementary_header()
    rows = list(demo_supplementary_rows(30, ALL_NAMES))
    texts = page_texts(render_supplementary_list(header, iter(rows), total_rows=30))
    text = " ".join(texts)
    for value in (
        "ДОПОЛНИТЕЛЬНЫЙ СПИСОК ПО ОТКРЕПИТЕЛЬНЫМ УДОСТОВЕРЕНИЯМ",
        header.election_name_ru,
        header.commission_kk,
        "Орал қаласы / город Уральск",
        "День голосования: 2022-06-05",
        "Asia/Oral",
        "Барлығы енгізілді / Всего включено: 30",
        "Шаймерденов Нұрлыбек Ғалымжанұлы",
    ):
        assert squash(value) in text, value
    for row in rows:
        assert squash(row.full_name) in text, row.full_name
        assert row.certificate_number in text
        assert squash(row.issuing_precinct) in text
        assert f"{row.included_at:%Y-%m-%d %H:%M} (UTC+05:00)" in text
    total = len(texts)
    assert all(f"Страница {n} из {total}" in t for n, t in enumerate(texts, start=1))


def test_supplementary_list_checks_the_count() -> None:
    with pytest.raises(ValueError, match="expected"):
        render_supplementary_list(
            demo_supplementary_header(), demo_supplementary_rows(3), total_rows=2
        )
