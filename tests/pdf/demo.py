"""Demo documents (invented people and numbers) for tests, the benchmark and the README images.

`python -m tests.pdf.demo docs/images` renders one page of each document to PNG with pdftoppm.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pdf import (
    CertificateDocument,
    ReconciliationHeader,
    RefusalNotice,
    RegisterHeader,
    RegisterRow,
    Representative,
    StockRangeRow,
    SupplementaryListHeader,
    SupplementaryRow,
    render_certificate,
    render_reconciliation_act,
    render_refusal_notice,
    render_register,
    render_supplementary_list,
)
from seal import CertificatePayload, iin_digest, sign_payload
from workflow.numbers import format_certificate_number
from workflow.states import ApplicantKind, CertificateState

ALMATY = ZoneInfo("Asia/Almaty")
ORAL = ZoneInfo("Asia/Oral")
# A fixed demo key: the images and the determinism tests need the same QR on every run.
DEMO_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
DEMO_SALT = b"kuelik-demo-salt-not-for-real-use"
ELECTION_KK = (
    "Қазақстан Республикасының Конституциясына өзгерістер мен толықтырулар енгізу туралы "
    "республикалық референдум"
)
ELECTION_RU = (
    "Республиканский референдум по внесению изменений и дополнений в Конституцию "
    "Республики Казахстан"
)
VOTING_DAY = date(2022, 6, 5)
ISSUED_AT = datetime(2022, 5, 25, 12, 0, tzinfo=ALMATY)
IIN = "900101300017"
PROXY_IIN = "740315450128"


def demo_qr_text(serial: int = 12345, iin: str = IIN, issued_at: datetime = ISSUED_AT) -> str:
    payload = CertificatePayload(
        election_code="ref2022",
        serial=serial,
        precinct_id=101,
        iin_digest=iin_digest(DEMO_SALT, iin),
        issued_at=int(issued_at.astimezone(UTC).timestamp()),
    )
    return sign_payload(DEMO_KEY, payload)


def demo_certificate(
    *,
    surname: str = "Сәрсенбаев",
    given_name: str = "Әбілқайыр",
    patronymic: str = "Нұрсұлтанұлы",
    serial: int = 12345,
    proxy: bool = False,
    repeat_print: bool = False,
    issued_at: datetime = ISSUED_AT,
    time_zone: str = "Asia/Almaty",
) -> CertificateDocument:
    representative = (
        Representative(
            full_name="Іргебаев Ұлан Һадиұлы",
            iin=PROXY_IIN,
            power_of_attorney_number="17-Д/2022",
            power_of_attorney_date=date(2022, 5, 20),
        )
        if proxy
        else None
    )
    return CertificateDocument(
        election_name_kk=ELECTION_KK,
        election_name_ru=ELECTION_RU,
        voting_day=VOTING_DAY,
        number=format_certificate_number(serial),
        verification_code="AC7HJK3Y",
        surname=surname,
        given_name=given_name,
        patronymic=patronymic,
        iin=IIN,
        identity_document="Жеке куәлік / удостоверение личности № 045678912, ҚР ІІМ / МВД РК",
        home_precinct_number=123,
        home_address="Абай даңғылы, 150, 25-пәтер",
        home_locality_kk="Алматы қаласы",
        home_locality_ru="город Алматы",
        issuing_commission_kk="№ 123 учаскелік референдум комиссиясы",
        issuing_commission_ru="Участковая комиссия референдума № 123",
        issued_at=issued_at,
        time_zone=time_zone,
        issued_by="Өтебаева Ғалия Қуанышқызы",
        qr_text=demo_qr_text(serial, issued_at=issued_at),
        representative=representative,
        repeat_print=repeat_print,
    )


def demo_register_header(day: date | None = None) -> RegisterHeader:
    return RegisterHeader(
        election_name_kk=ELECTION_KK,
        election_name_ru=ELECTION_RU,
        precinct_number=123,
        commission_kk="№ 123 учаскелік референдум комиссиясы",
        commission_ru="Участковая комиссия референдума № 123",
        locality_kk="Алматы қаласы",
        locality_ru="город Алматы",
        time_zone="Asia/Almaty",
        day=day,
        chair_name="Бөкейханова Мөлдір Әлиханқызы",
        secretary_name="Ёлкин Фёдор Семёнович",
    )


STATES = tuple(CertificateState)


def demo_register_rows(count: int, names: list[str] | None = None) -> Iterator[RegisterRow]:
    """A generator, as a database cursor would be: nothing is held beyond the current row."""
    for index in range(count):
        name = names[index % len(names)] if names else f"Тестов{index} Тест Тестұлы"
        proxy = index % 4 == 3
        yield RegisterRow(
            number=format_certificate_number(1000 + index),
            full_name=name,
            iin=IIN,
            issued_at=ISSUED_AT + timedelta(minutes=index),
            handed_to=ApplicantKind.REPRESENTATIVE if proxy else ApplicantKind.VOTER,
            representative_name="Іргебаев Ұлан Һадиұлы" if proxy else None,
            state=STATES[index % len(STATES)],
        )


def demo_supplementary_header() -> SupplementaryListHeader:
    return SupplementaryListHeader(
        election_name_kk=ELECTION_KK,
        election_name_ru=ELECTION_RU,
        voting_day=VOTING_DAY,
        precinct_number=45,
        commission_kk="№ 45 учаскелік референдум комиссиясы",
        commission_ru="Участковая комиссия референдума № 45",
        locality_kk="Орал қаласы",
        locality_ru="город Уральск",
        time_zone="Asia/Oral",
        chair_name="Шаймерденов Нұрлыбек Ғалымжанұлы",
        secretary_name="Королёва Алёна Артёмовна",
    )


def demo_supplementary_rows(
    count: int, names: list[str] | None = None
) -> Iterator[SupplementaryRow]:
    start = datetime(2022, 6, 5, 7, 5, tzinfo=ORAL)
    for index in range(count):
        yield SupplementaryRow(
            line_number=index + 1,
            full_name=names[index % len(names)] if names else f"Тестова{index} Тест Тестқызы",
            certificate_number=format_certificate_number(5000 + index),
            issuing_precinct=f"№ {100 + index % 50}, Алматы қаласы / город Алматы",
            included_at=start + timedelta(minutes=index),
        )


def demo_refusal(applicant_name: str = "Үмбетова Ұлжан") -> RefusalNotice:
    return RefusalNotice(
        election_name_kk=ELECTION_KK,
        election_name_ru=ELECTION_RU,
        precinct_number=123,
        commission_kk="№ 123 учаскелік референдум комиссиясы",
        commission_ru="Участковая комиссия референдума № 123",
        applicant_name=applicant_name,
        applicant_iin=IIN,
        refused_at=datetime(2022, 5, 26, 16, 40, tzinfo=ALMATY),
        time_zone="Asia/Almaty",
        refusal_code="same_locality",
        reason_kk=(
            "Болатын жер сайлаушының тұрғылықты елді мекенімен бірдей: бір елді мекен ішінде "
            "дауыс беру үшін есептен шығару куәлігі берілмейді."
        ),
        reason_ru=(
            "Место пребывания находится в том же населённом пункте, что и место жительства: "
            "для голосования в пределах одного населённого пункта открепительное "
            "удостоверение не выдаётся."
        ),
        territorial_commission_kk="Алмалы аудандық аумақтық референдум комиссиясы",
        territorial_commission_ru="Алмалинская районная территориальная комиссия референдума",
        member_name="Өтебаева Ғалия Қуанышқызы",
        note="Өтініш берушіге ауызша түсіндірілді / Заявителю разъяснено устно.",
    )


def demo_reconciliation_header() -> ReconciliationHeader:
    return ReconciliationHeader(
        election_name_kk=ELECTION_KK,
        election_name_ru=ELECTION_RU,
        scope_kk="Алмалы аудандық аумақтық референдум комиссиясы",
        scope_ru="Алмалинская районная территориальная комиссия референдума",
        as_of=datetime(2022, 6, 4, 18, 30, tzinfo=ALMATY),
        time_zone="Asia/Almaty",
        chair_name="Құнанбаев Ақан Өскенбайұлы",
        secretary_name="Соловьёв Сёма Лёвович",
    )


def demo_stock_rows(count: int = 6, unbalanced: bool = False) -> Iterator[StockRangeRow]:
    for index in range(count):
        first = 1 + index * 200
        issued = 37 + index * 3
        spoilt = index % 3
        unused = 200 - issued - spoilt - (1 if unbalanced and index == 2 else 0)
        yield StockRangeRow(
            holder=f"№ {120 + index}",
            first=first,
            last=first + 199,
            received=200,
            issued=issued,
            spoilt=spoilt,
            unused=unused,
        )


def demo_documents() -> dict[str, bytes]:
    """One PDF of each kind, for images and eyeballing."""
    return {
        "certificate": render_certificate(demo_certificate()),
        "certificate-proxy-reprint": render_certificate(
            demo_certificate(proxy=True, repeat_print=True)
        ),
        "register": render_register(demo_register_header(), demo_register_rows(30)),
        "supplementary-list": render_supplementary_list(
            demo_supplementary_header(), demo_supplementary_rows(30)
        ),
        "refusal-notice": render_refusal_notice(demo_refusal()),
        "reconciliation-act": render_reconciliation_act(
            demo_reconciliation_header(), demo_stock_rows()
        ),
    }


def pdf_to_png(pdf: bytes, target: Path, dpi: int = 110, page: int = 1) -> Path:
    """Render one page with pdftoppm (poppler-utils) to `target` (a .png path)."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise RuntimeError("pdftoppm not found: apt-get install poppler-utils")
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "page.pdf"
        source.write_bytes(pdf)
        stem = Path(scratch) / "page"
        options = ["-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile"]
        subprocess.run(  # noqa: S603 - a fixed tool on our own temporary file
            [pdftoppm, *options, str(source), str(stem)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(stem.with_suffix(".png"), target)
    return target


def write_images(folder: Path) -> list[Path]:
    return [pdf_to_png(pdf, folder / f"{name}.png") for name, pdf in demo_documents().items()]


if __name__ == "__main__":
    for written in write_images(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")):
        print(written)
