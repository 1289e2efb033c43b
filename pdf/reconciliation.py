"""The stock reconciliation act (domain.md §7): for each range of serial numbers, how many forms
were received, issued, spoilt and left unused, and whether received = issued + spoilt + unused.

Per precinct or per territory; rows stream like a register's, so a territory's hundreds of ranges
cost one page of memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pdf._layout import A4, BinarySink, Column, Sheet, Table, format_local_time, render_to_bytes
from pdf.fonts import BOLD, REGULAR
from workflow.numbers import format_certificate_number

LANDSCAPE = (A4[1], A4[0])
BALANCED = "сәйкес / сходится"
UNBALANCED = "СӘЙКЕС ЕМЕС / НЕ СХОДИТСЯ"


@dataclass(frozen=True, slots=True)
class ReconciliationHeader:
    """Whose stock is reconciled and as of when."""

    election_name_kk: str
    election_name_ru: str
    scope_kk: str  # a precinct commission or a territorial commission
    scope_ru: str
    as_of: datetime  # aware, on the acting commission's clock
    time_zone: str
    chair_name: str | None = None
    secretary_name: str | None = None


@dataclass(frozen=True, slots=True)
class StockRangeRow:
    """One range of serial numbers [first, last] and what became of its forms."""

    holder: str  # the precinct holding the range, e.g. "№ 123"
    first: int
    last: int
    received: int
    issued: int
    spoilt: int
    unused: int

    @property
    def difference(self) -> int:
        """received - (issued + spoilt + unused): zero when the range balances."""
        return self.received - (self.issued + self.spoilt + self.unused)


COLUMNS = (
    Column("№", "№ п/п", 8, "right"),
    Column("Учаске", "Участок", 30),
    Column("Бірінші нөмір", "Первый номер", 24),
    Column("Соңғы нөмір", "Последний номер", 24),
    Column("Алынды", "Получено", 18, "right"),
    Column("Берілді", "Выдано", 18, "right"),
    Column("Бүлінді", "Испорчено", 18, "right"),
    Column("Пайдаланылмады", "Не использовано", 22, "right"),
    Column("Теңгерім", "Баланс", 36),
)


def _balance(difference: int) -> str:
    return BALANCED if difference == 0 else f"{UNBALANCED}: {difference:+d}"


def render_reconciliation_act(header: ReconciliationHeader, rows: Iterable[StockRangeRow]) -> bytes:
    """The act with one line per range, totals, the balance statement and signatures."""
    return render_to_bytes(lambda out: write_reconciliation_act(header, rows, out))


def write_reconciliation_act(
    header: ReconciliationHeader, rows: Iterable[StockRangeRow], out: BinarySink
) -> None:
    """`render_reconciliation_act` written to a binary file as it is produced."""

    def heading(sheet: Sheet) -> None:
        if sheet.page_number > 1:
            sheet.paragraph(
                f"Салыстыру актісі / Акт сверки. {header.scope_kk} / {header.scope_ru}",
                REGULAR,
                7.5,
                space_after=4,
            )
            return
        sheet.paragraph(
            "ҚАТАҢ ЕСЕПТІЛІКТЕГІ БЛАНКІЛЕРДІ САЛЫСТЫРУ АКТІСІ", BOLD, 11.5, space_after=0
        )
        sheet.paragraph("АКТ СВЕРКИ БЛАНКОВ СТРОГОЙ ОТЧЁТНОСТИ", BOLD, 11.5, space_after=2)
        sheet.paragraph(
            "есептен шығару куәліктері / открепительные удостоверения", REGULAR, 8.5, space_after=2
        )
        sheet.paragraph(header.election_name_kk, REGULAR, 8, space_after=0)
        sheet.paragraph(header.election_name_ru, REGULAR, 8, space_after=2)
        sheet.paragraph(f"{header.scope_kk} / {header.scope_ru}", REGULAR, 8.5, space_after=0)
        as_of = format_local_time(header.as_of, header.time_zone)
        sheet.paragraph(f"Жағдай бойынша / По состоянию на: {as_of}", REGULAR, 8.5)
        sheet.y -= 4

    sheet = Sheet(
        out,
        pagesize=LANDSCAPE,
        title="Салыстыру актісі / Акт сверки",
        heading=heading,
    )
    table = Table(sheet, COLUMNS, size=8.5)
    table.start()
    totals = [0, 0, 0, 0]
    unbalanced_rows = 0
    for count, row in enumerate(rows, start=1):
        for index, value in enumerate((row.received, row.issued, row.spoilt, row.unused)):
            totals[index] += value
        unbalanced_rows += row.difference != 0
        table.row(
            [
                str(count),
                row.holder,
                format_certificate_number(row.first),
                format_certificate_number(row.last),
                str(row.received),
                str(row.issued),
                str(row.spoilt),
                str(row.unused),
                _balance(row.difference),
            ],
            [REGULAR] * 8 + [REGULAR if row.difference == 0 else BOLD],
        )
    received, issued, spoilt, unused = totals
    difference = received - (issued + spoilt + unused)
    table.row(
        ["", "Барлығы / Итого", "", "", *(str(total) for total in totals), _balance(difference)],
        [BOLD] * 9,
    )
    table.close()
    sheet.y -= 8
    verdict = BALANCED.upper() if difference == 0 and unbalanced_rows == 0 else UNBALANCED
    sheet.paragraph(
        "Алынды = берілді + бүлінді + пайдаланылмады / "
        "Получено = выдано + испорчено + не использовано: "
        f"{received} = {issued} + {spoilt} + {unused} — {verdict}",
        BOLD,
        10,
    )
    if difference != 0:
        sheet.paragraph(f"Айырма / Расхождение: {difference:+d}", BOLD, 10)
    if unbalanced_rows:
        sheet.paragraph(f"Сәйкес емес жолдар / Строк с расхождением: {unbalanced_rows}", BOLD, 10)
    sheet.signatures(
        [
            ("Комиссия төрағасы / Председатель комиссии", header.chair_name),
            ("Комиссия хатшысы / Секретарь комиссии", header.secretary_name),
        ]
    )
    sheet.finish()
