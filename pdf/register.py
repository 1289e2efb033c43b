"""Registers that stream: the register of issued certificates (берілген куәліктер тізілімі /
реестр выданных открепительных удостоверений) and the receiving precinct's supplementary list
(қосымша тізім / дополнительный список).

Rows arrive as an iterable (a database cursor, a generator) and are drawn as they come; only the
current page is in memory, and "page N of M" is resolved at the end (see `Sheet`). A count taken
by the caller is optional: when given, it is checked against the rows actually printed, because a
register whose heading and lines disagree must not be signed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from pdf._layout import (
    A4,
    MM,
    BinarySink,
    Column,
    Sheet,
    SheetHeading,
    Table,
    bilingual,
    format_date,
    format_short_time,
    render_to_bytes,
    utc_offset,
)
from pdf.fonts import BOLD, REGULAR
from workflow.iin import mask_iin
from workflow.states import ApplicantKind, CertificateState

LANDSCAPE = (A4[1], A4[0])

STATE_LABELS: dict[CertificateState, tuple[str, str]] = {
    CertificateState.ISSUED: ("берілді", "выдано"),
    CertificateState.SPOILT: ("бүлінген", "испорчено"),
    CertificateState.LOST: ("жоғалған", "утеряно"),
    CertificateState.CANCELLED: ("күші жойылды", "аннулировано"),
    CertificateState.USED: ("пайдаланылды", "использовано"),
    CertificateState.RETURNED: ("қайтарылды", "возвращено"),
}


def state_label(state: CertificateState) -> str:
    kk, ru = STATE_LABELS[state]
    return f"{kk} / {ru}"


@dataclass(frozen=True, slots=True)
class RegisterHeader:
    """The heading of a precinct's register of issued certificates."""

    election_name_kk: str
    election_name_ru: str
    precinct_number: int
    commission_kk: str  # e.g. "№ 123 учаскелік референдум комиссиясы"
    commission_ru: str
    locality_kk: str
    locality_ru: str
    time_zone: str  # IANA name of the precinct's clock; row times are read on it
    day: date | None = None  # None: the whole issue period
    chair_name: str | None = None
    secretary_name: str | None = None


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One issued certificate as the register lists it."""

    number: str  # formatted with its check digit
    full_name: str
    iin: str  # printed masked
    issued_at: datetime  # aware, on the precinct's clock
    handed_to: ApplicantKind
    representative_name: str | None
    state: CertificateState


@dataclass(frozen=True, slots=True)
class SupplementaryListHeader:
    """The heading of a receiving precinct's supplementary list."""

    election_name_kk: str
    election_name_ru: str
    voting_day: date
    precinct_number: int
    commission_kk: str
    commission_ru: str
    locality_kk: str
    locality_ru: str
    time_zone: str
    chair_name: str | None = None
    secretary_name: str | None = None


@dataclass(frozen=True, slots=True)
class SupplementaryRow:
    """A voter added to the list on presentation of a certificate."""

    line_number: int
    full_name: str
    certificate_number: str
    issuing_precinct: str  # e.g. "№ 123, Алматы"
    included_at: datetime  # aware, on the receiving precinct's clock


REGISTER_COLUMNS = (
    Column("№", "№ п/п", 9, "right"),
    Column("Куәлік нөмірі", "Номер удостоверения", 24),
    Column("Тегі, аты, әкесінің аты", "Фамилия, имя, отчество", 57),
    Column("ЖСН", "ИИН", 23),
    Column("Берілген күні мен уақыты", "Дата и время выдачи", 34),
    Column("Кім алды", "Кем получено", 42),
    Column("Қазіргі күйі", "Текущее состояние", 34),
)

SUPPLEMENTARY_COLUMNS = (
    Column("Жол №", "№ строки", 12, "right"),
    Column("Тегі, аты, әкесінің аты", "Фамилия, имя, отчество", 60),
    Column("Куәлік нөмірі", "Номер удостоверения", 24),
    Column("Куәлікті берген учаске", "Выдавший участок", 40),
    Column("Енгізілген уақыты", "Время включения", 26),
)


def _check_total(printed: int, total_rows: int | None) -> None:
    if total_rows is not None and printed != total_rows:
        raise ValueError(f"expected {total_rows} rows, got {printed}: the data changed meanwhile")


def _heading(
    title_kk: str,
    title_ru: str,
    election_kk: str,
    election_ru: str,
    lines: list[str],
) -> SheetHeading:
    def draw(sheet: Sheet) -> None:
        if sheet.page_number > 1:
            # Later pages: one running line, so a long register spends its paper on rows.
            sheet.paragraph(f"{title_kk} / {title_ru}. {lines[0]}", REGULAR, 7.5, space_after=4)
            return
        sheet.paragraph(title_kk, BOLD, 11.5, space_after=0)
        sheet.paragraph(title_ru, BOLD, 11.5, space_after=2)
        sheet.paragraph(election_kk, REGULAR, 8, space_after=0)
        sheet.paragraph(election_ru, REGULAR, 8, space_after=2)
        for line in lines:
            sheet.paragraph(line, REGULAR, 8.5, space_after=0)
        sheet.y -= 4

    return draw


def _received_by(row: RegisterRow) -> str:
    if row.handed_to is ApplicantKind.VOTER:
        return "сайлаушы / избиратель"
    return f"өкіл / представитель: {row.representative_name or ''}".rstrip()


def render_register(
    header: RegisterHeader, rows: Iterable[RegisterRow], total_rows: int | None = None
) -> bytes:
    """The register of issued certificates for a precinct (and a day, if the header names one)."""
    return render_to_bytes(lambda out: write_register(header, rows, out, total_rows))


def write_register(
    header: RegisterHeader,
    rows: Iterable[RegisterRow],
    out: BinarySink,
    total_rows: int | None = None,
) -> None:
    """`render_register` written to a binary file as it is produced, in bounded memory.

    Nothing reaches `out` before every row has been read, so a failed count check or a failing
    row source leaves `out` untouched.
    """
    period = (
        f"Күні / Дата: {format_date(header.day)}"
        if header.day
        else "Барлық беру кезеңі / За весь период выдачи"
    )
    sheet = Sheet(
        out,
        pagesize=LANDSCAPE,
        title="Берілген куәліктер тізілімі / Реестр выданных открепительных удостоверений",
        heading=_heading(
            "БЕРІЛГЕН ЕСЕПТЕН ШЫҒАРУ КУӘЛІКТЕРІНІҢ ТІЗІЛІМІ",
            "РЕЕСТР ВЫДАННЫХ ОТКРЕПИТЕЛЬНЫХ УДОСТОВЕРЕНИЙ",
            header.election_name_kk,
            header.election_name_ru,
            [
                f"{header.commission_kk} / {header.commission_ru}; учаске / участок "
                f"№ {header.precinct_number}; {bilingual(header.locality_kk, header.locality_ru)}",
                f"{period}. Уақыт / Время: {header.time_zone}",
            ],
        ),
    )
    table = Table(sheet, REGISTER_COLUMNS)
    table.start()
    states: Counter[CertificateState] = Counter()
    by_representative = 0
    count = 0
    for row in rows:
        count += 1
        states[row.state] += 1
        by_representative += row.handed_to is ApplicantKind.REPRESENTATIVE
        table.row(
            [
                str(count),
                row.number,
                row.full_name,
                mask_iin(row.iin),
                f"{format_short_time(row.issued_at)} ({utc_offset(row.issued_at)})",
                _received_by(row),
                state_label(row.state),
            ],
            [REGULAR, BOLD, REGULAR, REGULAR, REGULAR, REGULAR, REGULAR],
        )
    table.close()
    _check_total(count, total_rows)
    sheet.y -= 6
    sheet.paragraph(f"Барлығы жазба / Всего записей: {count}", BOLD, 10)
    sheet.paragraph(
        f"оның ішінде өкілге берілгені / из них выдано представителям: {by_representative}",
        REGULAR,
        9,
    )
    for state in CertificateState:
        if states[state]:
            sheet.paragraph(f"{state_label(state)}: {states[state]}", REGULAR, 9, indent=6 * MM)
    sheet.signatures(
        [
            ("Комиссия төрағасы / Председатель комиссии", header.chair_name),
            ("Комиссия хатшысы / Секретарь комиссии", header.secretary_name),
        ]
    )
    sheet.finish()


def render_supplementary_list(
    header: SupplementaryListHeader,
    rows: Iterable[SupplementaryRow],
    total_rows: int | None = None,
) -> bytes:
    """The receiving precinct's supplementary list of voters included by certificate."""
    return render_to_bytes(lambda out: write_supplementary_list(header, rows, out, total_rows))


def write_supplementary_list(
    header: SupplementaryListHeader,
    rows: Iterable[SupplementaryRow],
    out: BinarySink,
    total_rows: int | None = None,
) -> None:
    """`render_supplementary_list` written to a binary file as it is produced."""
    sheet = Sheet(
        out,
        pagesize=A4,
        title="Қосымша тізім / Дополнительный список",
        heading=_heading(
            "ЕСЕПТЕН ШЫҒАРУ КУӘЛІКТЕРІ БОЙЫНША ҚОСЫМША ТІЗІМ",
            "ДОПОЛНИТЕЛЬНЫЙ СПИСОК ПО ОТКРЕПИТЕЛЬНЫМ УДОСТОВЕРЕНИЯМ",
            header.election_name_kk,
            header.election_name_ru,
            [
                f"{header.commission_kk} / {header.commission_ru}; учаске / участок "
                f"№ {header.precinct_number}; {bilingual(header.locality_kk, header.locality_ru)}",
                f"Дауыс беру күні / День голосования: {format_date(header.voting_day)}. "
                f"Уақыт / Время: {header.time_zone}",
            ],
        ),
    )
    table = Table(sheet, SUPPLEMENTARY_COLUMNS)
    table.start()
    count = 0
    for row in rows:
        count += 1
        table.row(
            [
                str(row.line_number),
                row.full_name,
                row.certificate_number,
                row.issuing_precinct,
                f"{format_short_time(row.included_at)} ({utc_offset(row.included_at)})",
            ],
            [REGULAR, REGULAR, BOLD, REGULAR, REGULAR],
        )
    table.close()
    _check_total(count, total_rows)
    sheet.y -= 6
    sheet.paragraph(f"Барлығы енгізілді / Всего включено: {count}", BOLD, 10)
    sheet.signatures(
        [
            ("Комиссия төрағасы / Председатель комиссии", header.chair_name),
            ("Комиссия хатшысы / Секретарь комиссии", header.secretary_name),
        ]
    )
    sheet.finish()
