"""The notice handed to a citizen whose application was refused (domain.md §6: a refusal is an
outcome the citizen may appeal, so they leave with it in writing, in Kazakh and Russian).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pdf._layout import (
    A4,
    MM,
    BinarySink,
    Sheet,
    format_local_time,
    render_to_bytes,
    signature_line,
)
from pdf.fonts import BOLD, REGULAR
from workflow.iin import mask_iin


@dataclass(frozen=True, slots=True)
class RefusalNotice:
    """Everything printed on a refusal notice; the reason texts come from the caller."""

    election_name_kk: str
    election_name_ru: str
    precinct_number: int
    commission_kk: str
    commission_ru: str
    applicant_name: str
    applicant_iin: str  # printed masked
    refused_at: datetime  # aware, on the precinct's clock
    time_zone: str
    refusal_code: str  # the stable code, e.g. "same_locality"
    reason_kk: str
    reason_ru: str
    territorial_commission_kk: str
    territorial_commission_ru: str
    member_name: str
    note: str | None = None  # the commission's own words, if it added any


def render_refusal_notice(notice: RefusalNotice) -> bytes:
    """The refusal notice: who, when, why (code and text), the right of appeal, signatures."""
    return render_to_bytes(lambda out: write_refusal_notice(notice, out))


def write_refusal_notice(notice: RefusalNotice, out: BinarySink) -> None:
    """`render_refusal_notice` written to a binary file."""
    sheet = Sheet(
        out,
        pagesize=A4,
        title="Бас тарту туралы хабарлама / Уведомление об отказе",
        margin=18 * MM,
    )
    sheet.paragraph("ЕСЕПТЕН ШЫҒАРУ КУӘЛІГІН БЕРУДЕН БАС ТАРТУ ТУРАЛЫ ХАБАРЛАМА", BOLD, 12)
    sheet.paragraph("УВЕДОМЛЕНИЕ ОБ ОТКАЗЕ В ВЫДАЧЕ ОТКРЕПИТЕЛЬНОГО УДОСТОВЕРЕНИЯ", BOLD, 12)
    sheet.paragraph(notice.election_name_kk, REGULAR, 8.5, space_after=0)
    sheet.paragraph(notice.election_name_ru, REGULAR, 8.5, space_after=10)
    facts = [
        (
            "Комиссия / Комиссия",
            f"{notice.commission_kk} / {notice.commission_ru}, "
            f"учаске / участок № {notice.precinct_number}",
        ),
        ("Өтініш беруші / Заявитель", notice.applicant_name),
        ("ЖСН / ИИН", mask_iin(notice.applicant_iin)),
        (
            "Шешім қабылданған күні мен уақыты / Дата и время решения",
            format_local_time(notice.refused_at, notice.time_zone),
        ),
        ("Бас тарту коды / Код отказа", notice.refusal_code),
    ]
    for label, value in facts:
        sheet.paragraph(label, REGULAR, 8, space_after=0)
        sheet.paragraph(value, BOLD, 10.5, indent=4 * MM, space_after=5)
    sheet.paragraph("Бас тарту себебі / Причина отказа", REGULAR, 8, space_after=2)
    sheet.paragraph(notice.reason_kk, REGULAR, 10.5, indent=4 * MM, space_after=3)
    sheet.paragraph(notice.reason_ru, REGULAR, 10.5, indent=4 * MM, space_after=5)
    if notice.note:
        sheet.paragraph("Комиссияның ескертуі / Примечание комиссии", REGULAR, 8, space_after=0)
        sheet.paragraph(notice.note, REGULAR, 10, indent=4 * MM, space_after=5)
    sheet.y -= 6
    sheet.paragraph(
        "Бұл шешімге жоғары тұрған аумақтық комиссияға шағым жасауға құқығыңыз бар: "
        f"{notice.territorial_commission_kk}.",
        REGULAR,
        10,
    )
    sheet.paragraph(
        "Вы вправе обжаловать это решение в вышестоящую территориальную комиссию: "
        f"{notice.territorial_commission_ru}.",
        REGULAR,
        10,
    )
    sheet.signatures([("Комиссия мүшесі / Член комиссии", notice.member_name)])
    sheet.ensure(40)
    sheet.y -= 24
    sheet.paragraph("Хабарламаны алдым / Уведомление получил(а):", REGULAR, 9, space_after=0)
    signature_line(sheet.canvas, sheet.left + 85 * MM, sheet.y + 2, 45 * MM, "қолы / подпись")
    sheet.finish()
