"""The refusal notice and the stock reconciliation act: what they must say, in both languages."""

from __future__ import annotations

import dataclasses
import re

from pdf import StockRangeRow, render_reconciliation_act, render_refusal_notice
from tests.pdf.conftest import page_texts, pdf_text, squash
from tests.pdf.demo import (
    IIN,
    demo_reconciliation_header,
    demo_refusal,
    demo_stock_rows,
)
from tests.pdf.names import MARKUP_NAMES, NAMES, full_name

FOOTER = re.compile(r"Бет \d+ / \d+ Страница \d+ из \d+")


def test_refusal_notice_shows_every_field_and_the_right_of_appeal() -> None:
    notice = demo_refusal()
    [text] = page_texts(render_refusal_notice(notice))
    for value in (
        "ЕСЕПТЕН ШЫҒАРУ КУӘЛІГІН БЕРУДЕН БАС ТАРТУ ТУРАЛЫ ХАБАРЛАМА",
        "УВЕДОМЛЕНИЕ ОБ ОТКАЗЕ В ВЫДАЧЕ ОТКРЕПИТЕЛЬНОГО УДОСТОВЕРЕНИЯ",
        notice.election_name_kk,
        notice.election_name_ru,
        notice.commission_kk,
        notice.commission_ru,
        "учаске / участок № 123",
        notice.applicant_name,
        "900101••••17",
        "2022-05-26 16:40 (Asia/Almaty, UTC+06:00)",
        "same_locality",
        notice.reason_kk,
        notice.reason_ru,
        notice.territorial_commission_kk,
        notice.territorial_commission_ru,
        "Вы вправе обжаловать это решение в вышестоящую территориальную комиссию",
        "аумақтық комиссияға шағым жасауға құқығыңыз бар",
        notice.member_name,
        notice.note or "",
        "Уведомление получил(а)",
        "қолы / подпись",
    ):
        assert squash(value) in text, value
    assert IIN not in text


def test_refusal_notice_prints_any_name_literally() -> None:
    for name in (*NAMES, *MARKUP_NAMES):
        applicant = full_name(name)
        text = pdf_text(render_refusal_notice(demo_refusal(applicant)))
        assert squash(applicant) in text or "".join(applicant.split()) in "".join(text.split())


def test_refusal_notice_without_note_omits_the_note_heading() -> None:
    notice = dataclasses.replace(demo_refusal(), note=None)
    assert "Примечание комиссии" not in pdf_text(render_refusal_notice(notice))


def test_long_reason_flows_onto_a_second_page() -> None:
    notice = dataclasses.replace(demo_refusal(), reason_ru="Причина очень подробная. " * 400)
    texts = page_texts(render_refusal_notice(notice))
    assert len(texts) >= 2
    assert f"Страница {len(texts)} из {len(texts)}" in texts[-1]
    body = squash(" ".join(FOOTER.sub(" ", text) for text in texts))
    assert squash(notice.reason_ru) in body


def test_balanced_act_lists_ranges_totals_and_says_it_balances() -> None:
    header = demo_reconciliation_header()
    rows = list(demo_stock_rows())
    text = pdf_text(render_reconciliation_act(header, iter(rows)))
    for value in (
        "ҚАТАҢ ЕСЕПТІЛІКТЕГІ БЛАНКІЛЕРДІ САЛЫСТЫРУ АКТІСІ",
        "АКТ СВЕРКИ БЛАНКОВ СТРОГОЙ ОТЧЁТНОСТИ",
        header.scope_kk,
        header.scope_ru,
        "По состоянию на: 2022-06-04 18:30 (Asia/Almaty, UTC+06:00)",
        "00000001-3",  # first serial with its check digit
        "00001200-1",  # last
        "Барлығы / Итого 1200 267 6 927",
        "1200 = 267 + 6 + 927 — СӘЙКЕС / СХОДИТСЯ",
        "Құнанбаев Ақан Өскенбайұлы",
    ):
        assert squash(value) in text, value
    for row in rows:
        assert f"{row.holder}" in text
    assert "НЕ СХОДИТСЯ" not in text


def test_unbalanced_act_flags_the_row_and_the_total() -> None:
    text = pdf_text(
        render_reconciliation_act(demo_reconciliation_header(), demo_stock_rows(6, unbalanced=True))
    )
    assert "СӘЙКЕС ЕМЕС / НЕ СХОДИТСЯ: +1" in text
    assert "1200 = 267 + 6 + 926 — СӘЙКЕС ЕМЕС / НЕ СХОДИТСЯ" in text
    assert "Расхождение: +1" in text
    assert "Строк с расхождением: 1" in text


def test_compensating_errors_still_fail_the_act() -> None:
    rows = [
        StockRangeRow("№ 1", 1, 10, 10, 5, 0, 6),  # one form too many
        StockRangeRow("№ 2", 11, 20, 10, 5, 0, 4),  # one form missing
    ]
    text = pdf_text(render_reconciliation_act(demo_reconciliation_header(), rows))
    assert "20 = 10 + 0 + 10 — СӘЙКЕС ЕМЕС / НЕ СХОДИТСЯ" in text
    assert "Строк с расхождением: 2" in text
    assert StockRangeRow("№ 3", 1, 1, 1, 1, 0, 0).difference == 0


def test_territory_with_many_ranges_spans_pages() -> None:
    texts = page_texts(render_reconciliation_act(demo_reconciliation_header(), demo_stock_rows(80)))
    assert len(texts) > 1
    assert "Салыстыру актісі / Акт сверки" in texts[1]
    assert "Барлығы / Итого" in " ".join(texts)
    assert "СӘЙКЕС / СХОДИТСЯ" in " ".join(texts[-2:])
