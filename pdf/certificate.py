"""The absentee certificate (есептен шығару куәлігі / открепительное удостоверение) and its
counterfoil (түбіртек / корешок) on one A4 sheet, in Kazakh and Russian (domain.md §8).

The certificate, on top, goes to the voter; the counterfoil, below the cut line, stays with the
issuing commission. When long names or addresses do not fit, the type shrinks step by step: a
certificate is one sheet, never two.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from reportlab.pdfgen.canvas import Canvas

from pdf._layout import (
    A4,
    GREY,
    MM,
    RULE_GREY,
    BinarySink,
    PageWriter,
    bilingual,
    draw_lines,
    draw_qr,
    draw_text,
    format_date,
    format_local_time,
    format_long_date,
    render_to_bytes,
    signature_line,
    wrap,
)
from pdf.fonts import BOLD, REGULAR
from workflow.iin import mask_iin

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 12 * MM
QR_SIDE = 40 * MM  # quiet zone included: about 0.8 mm a module at version 6
CUT_Y = 84 * MM  # the cut line; the counterfoil lies below it
LABEL_WIDTH = 60 * MM
REPEAT_MARK = "ҚАЙТА БАСЫП ШЫҒАРУ / ПОВТОРНАЯ ПЕЧАТЬ"
_SIZES = (10.0, 9.0, 8.0, 7.0, 6.0)
_COUNTERFOIL_SIZES = (9.0, 8.0, 7.0, 6.0)


@dataclass(frozen=True, slots=True)
class Representative:
    """Who collected the certificate on the voter's behalf, and their power of attorney."""

    full_name: str
    iin: str  # printed masked
    power_of_attorney_number: str
    power_of_attorney_date: date


@dataclass(frozen=True, slots=True)
class CertificateDocument:
    """Everything printed on one certificate and its counterfoil."""

    election_name_kk: str
    election_name_ru: str
    voting_day: date
    number: str  # already formatted with its check digit, e.g. "00012345-9"
    verification_code: str
    surname: str
    given_name: str
    patronymic: str  # "" when the voter has none
    iin: str
    identity_document: str
    home_precinct_number: int
    home_address: str
    home_locality_kk: str
    home_locality_ru: str
    issuing_commission_kk: str
    issuing_commission_ru: str
    issued_at: datetime  # aware, on the issuing precinct's wall clock
    time_zone: str  # IANA name of that clock, e.g. "Asia/Almaty"
    issued_by: str  # the commission member who hands it over
    qr_text: str  # the signed seal from `seal.sign_payload`
    representative: Representative | None = None  # None: handed to the voter in person
    repeat_print: bool = False

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.surname, self.given_name, self.patronymic) if part)


def _handed_to(doc: CertificateDocument) -> str:
    proxy = doc.representative
    if proxy is None:
        return "Сайлаушының өзіне / Лично избирателю"
    return (
        f"Өкілге / Представителю: {proxy.full_name}, ЖСН / ИИН {mask_iin(proxy.iin)}, "
        f"сенімхат / доверенность № {proxy.power_of_attorney_number} "
        f"({format_date(proxy.power_of_attorney_date)})"
    )


def _certificate_fields(doc: CertificateDocument) -> list[tuple[str, str, str, bool]]:
    """(label kk, label ru, value, bold) in the order printed."""
    return [
        ("Тегі", "Фамилия", doc.surname, True),
        ("Аты", "Имя", doc.given_name, True),
        ("Әкесінің аты", "Отчество", doc.patronymic or "—", True),
        ("ЖСН", "ИИН", doc.iin, True),
        (
            "Жеке басын куәландыратын құжат",
            "Документ, удостоверяющий личность",
            doc.identity_document,
            False,
        ),
        (
            "Сайлаушылар тізіміндегі учаске",
            "Участок по списку избирателей",
            f"№ {doc.home_precinct_number}",
            False,
        ),
        ("Тұрғылықты мекенжайы", "Адрес места жительства", doc.home_address, False),
        (
            "Елді мекен",
            "Населённый пункт",
            bilingual(doc.home_locality_kk, doc.home_locality_ru),
            False,
        ),
        (
            "Куәлікті берген комиссия",
            "Комиссия, выдавшая удостоверение",
            f"{doc.issuing_commission_kk} / {doc.issuing_commission_ru}",
            False,
        ),
        (
            "Берілген күні мен уақыты",
            "Дата и время выдачи",
            format_local_time(doc.issued_at, doc.time_zone),
            False,
        ),
        ("Кімге берілді", "Кому выдано", _handed_to(doc), False),
    ]


def _counterfoil_fields(doc: CertificateDocument) -> list[tuple[str, str, str, bool]]:
    receiver = doc.representative.full_name if doc.representative else doc.full_name
    return [
        ("Сайлаушы", "Избиратель", doc.full_name, True),
        ("ЖСН", "ИИН", doc.iin, True),
        (
            "Берілген күні мен уақыты",
            "Дата и время выдачи",
            format_local_time(doc.issued_at, doc.time_zone),
            False,
        ),
        ("Кімге берілді", "Кому выдано", _handed_to(doc), False),
        ("Алған адам", "Получил", receiver, False),
    ]


def _label_size(size: float) -> float:
    """Labels are set smaller than values, but never below what a photocopy keeps legible."""
    return max(size - 2, 5.5)


@dataclass(frozen=True, slots=True)
class _Row:
    label: list[str]  # kk lines then ru lines
    label_kk_lines: int
    value: list[str]
    bold: bool
    height: float


def _layout_rows(
    fields: list[tuple[str, str, str, bool]], value_width: float, size: float
) -> list[_Row]:
    label_size = _label_size(size)
    rows = []
    for kk, ru, value, bold in fields:
        label_kk = wrap(kk, REGULAR, label_size, LABEL_WIDTH - 4)
        label_ru = wrap(ru, REGULAR, label_size, LABEL_WIDTH - 4)
        lines = wrap(value, BOLD if bold else REGULAR, size, value_width)
        height = max((len(label_kk) + len(label_ru)) * label_size * 1.15, len(lines) * size * 1.2)
        rows.append(_Row(label_kk + label_ru, len(label_kk), lines, bold, height + 5))
    return rows


def _draw_rows(canvas: Canvas, rows: list[_Row], x: float, y: float, size: float) -> float:
    """Label column and value column with a hairline under each row; returns the new top."""
    label_size = _label_size(size)
    right = PAGE_WIDTH - MARGIN
    for row in rows:
        canvas.setFillColorRGB(*GREY)
        label_y = y - label_size - 1
        for number, line in enumerate(row.label):
            font = BOLD if number < row.label_kk_lines else REGULAR
            draw_text(canvas, x, label_y, line, font, label_size)
            label_y -= label_size * 1.15
        canvas.setFillColorRGB(0, 0, 0)
        draw_lines(
            canvas, x + LABEL_WIDTH, y - size, row.value, BOLD if row.bold else REGULAR, size
        )
        y -= row.height
        canvas.setLineWidth(0.3)
        canvas.setStrokeColorRGB(*RULE_GREY)
        canvas.line(x, y + 2, right, y + 2)
    canvas.setStrokeColorRGB(0, 0, 0)
    return y


def _fit(
    fields: list[tuple[str, str, str, bool]],
    value_width: float,
    room: float,
    sizes: tuple[float, ...] = _SIZES,
) -> tuple[float, list[_Row]]:
    """The largest type size at which the rows fit in `room` points (the smallest otherwise)."""
    rows: list[_Row] = []
    size = sizes[-1]
    for size in sizes:
        rows = _layout_rows(fields, value_width, size)
        if sum(row.height for row in rows) <= room:
            break
    return size, rows


def _repeat_mark(canvas: Canvas, x: float, y: float, width: float, size: float) -> None:
    """A boxed mark no one can miss: this sheet is a reprint of a number already issued."""
    height = size * 1.9
    canvas.setLineWidth(1.6)
    canvas.setStrokeColorRGB(0, 0, 0)
    canvas.rect(x, y - height, width, height, stroke=1, fill=0)
    draw_text(canvas, x + width / 2, y - height + size * 0.55, REPEAT_MARK, BOLD, size, "center")


def _draw_header(canvas: Canvas, doc: CertificateDocument) -> float:
    """Title, election, number and QR code; returns the y where the fields begin."""
    top = PAGE_HEIGHT - MARGIN
    left = MARGIN
    qr_x = PAGE_WIDTH - MARGIN - QR_SIDE
    draw_qr(canvas, doc.qr_text, qr_x, top - QR_SIDE, QR_SIDE)
    canvas.setFillColorRGB(*GREY)
    draw_text(
        canvas, qr_x + QR_SIDE / 2, top - QR_SIDE - 7, "Тексеру / Проверка", REGULAR, 6.5, "center"
    )
    canvas.setFillColorRGB(0, 0, 0)
    width = qr_x - left - 4 * MM
    y = top - 13
    y = draw_lines(
        canvas, left, y, ["ЕСЕПТЕН ШЫҒАРУ КУӘЛІГІ", "ОТКРЕПИТЕЛЬНОЕ УДОСТОВЕРЕНИЕ"], BOLD, 13, 16
    )
    y -= 2
    y = draw_lines(
        canvas, left, y, wrap(doc.election_name_kk, REGULAR, 8.5, width), REGULAR, 8.5, 10.5
    )
    y = draw_lines(
        canvas, left, y, wrap(doc.election_name_ru, REGULAR, 8.5, width), REGULAR, 8.5, 10.5
    )
    y -= 2
    voting_day = f"Дауыс беру күні / День голосования: {format_long_date(doc.voting_day)}"
    y = draw_lines(canvas, left, y, wrap(voting_day, REGULAR, 8.5, width), REGULAR, 8.5, 10.5)
    y -= 8
    draw_text(canvas, left, y, f"№ {doc.number}", BOLD, 17)
    y -= 15
    draw_text(canvas, left, y, f"Тексеру коды / Код проверки: {doc.verification_code}", BOLD, 10)
    y = min(y - 8, top - QR_SIDE - 14)
    if doc.repeat_print:
        _repeat_mark(canvas, left, y, PAGE_WIDTH - 2 * MARGIN, 12)
        y -= 12 * 1.9 + 6
    return y


def _draw_signature_block(canvas: Canvas, doc: CertificateDocument, y: float) -> None:
    left = MARGIN
    draw_text(canvas, left, y, "Комиссия мүшесі / Член комиссии:", REGULAR, 8)
    name_lines = wrap(doc.issued_by, BOLD, 9.5, 85 * MM)
    draw_lines(canvas, left, y - 12, name_lines, BOLD, 9.5)
    line_y = y - 12 - 11.4 * len(name_lines) - 10
    signature_line(canvas, left, line_y, 60 * MM, "қолы / подпись")
    seal_x = PAGE_WIDTH - MARGIN - 26 * MM
    seal_y = y - 18 * MM
    canvas.saveState()
    canvas.setDash(2, 2)
    canvas.setLineWidth(0.5)
    canvas.setStrokeColorRGB(*RULE_GREY)
    canvas.circle(seal_x, seal_y, 17 * MM, stroke=1, fill=0)
    canvas.restoreState()
    canvas.setFillColorRGB(*GREY)
    draw_text(canvas, seal_x, seal_y - 3, "М.О. / М.П.", BOLD, 10, "center")
    canvas.setFillColorRGB(0, 0, 0)


def _draw_cut_line(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setDash(4, 3)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN / 2, CUT_Y, PAGE_WIDTH - MARGIN / 2, CUT_Y)
    canvas.restoreState()
    canvas.setFillColorRGB(*GREY)
    label = "кесу сызығы / линия отреза"
    draw_text(canvas, PAGE_WIDTH / 2, CUT_Y + 3, label, REGULAR, 6.5, "center")
    canvas.setFillColorRGB(0, 0, 0)


def _draw_counterfoil(canvas: Canvas, doc: CertificateDocument) -> None:
    left = MARGIN
    right = PAGE_WIDTH - MARGIN
    y = CUT_Y - 8 * MM
    draw_text(canvas, left, y, "ТҮБІРТЕК / КОРЕШОК", BOLD, 11)
    draw_text(canvas, right, y, f"№ {doc.number}", BOLD, 13, "right")
    y -= 11
    canvas.setFillColorRGB(*GREY)
    caption = (
        "есептен шығару куәлігінің / открепительного удостоверения; "
        "комиссияда қалады / остаётся в комиссии"
    )
    draw_text(canvas, left, y, caption, REGULAR, 7)
    canvas.setFillColorRGB(0, 0, 0)
    y -= 6
    if doc.repeat_print:
        _repeat_mark(canvas, left, y, right - left, 9)
        y -= 9 * 1.9 + 4
    signatures_height = 16 * MM
    room = y - MARGIN - signatures_height
    fields = _counterfoil_fields(doc)
    size, rows = _fit(fields, right - left - LABEL_WIDTH, room, _COUNTERFOIL_SIZES)
    y = _draw_rows(canvas, rows, left, y, size)
    y -= 10 * MM
    half = (right - left) / 2
    signature_line(canvas, left, y, half - 10 * MM, "Алған адамның қолы / Подпись получившего")
    signature_line(
        canvas, left + half, y, half - 10 * MM, "Комиссия мүшесінің қолы / Подпись члена комиссии"
    )


def _draw_certificate(canvas: Canvas, doc: CertificateDocument) -> None:
    y = _draw_header(canvas, doc)
    signature_height = 42 * MM
    room = y - CUT_Y - signature_height
    size, rows = _fit(_certificate_fields(doc), PAGE_WIDTH - 2 * MARGIN - LABEL_WIDTH, room)
    y = _draw_rows(canvas, rows, MARGIN, y, size)
    _draw_signature_block(canvas, doc, y - 8)
    _draw_cut_line(canvas)
    _draw_counterfoil(canvas, doc)


def write_certificates(docs: Iterable[CertificateDocument], out: BinarySink) -> None:
    """Certificates written to a binary file one sheet at a time, in bounded memory."""
    writer = PageWriter(out, A4, "Есептен шығару куәлігі / Открепительное удостоверение")
    for doc in docs:
        _draw_certificate(writer.canvas, doc)
        writer.end_page()
    if writer.pages == 0:
        raise ValueError("no certificates to print")
    writer.save()


def render_certificates(docs: Iterable[CertificateDocument]) -> bytes:
    """Many certificates as one PDF, one sheet each (batch printing); fonts embedded once."""
    return render_to_bytes(lambda out: write_certificates(docs, out))


def render_certificate(doc: CertificateDocument) -> bytes:
    """One certificate with its counterfoil on one A4 sheet."""
    return render_certificates((doc,))
