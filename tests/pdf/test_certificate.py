"""Certificate and counterfoil: every field as entered, names as text, one sheet, same bytes."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from pdf import CertificateDocument, render_certificate, render_certificates
from pdf.certificate import REPEAT_MARK
from tests.pdf.conftest import page_count, page_texts, pdf_text, squash
from tests.pdf.demo import IIN, PROXY_IIN, demo_certificate
from tests.pdf.names import MARKUP_NAMES, NAMES, full_name
from workflow.iin import mask_iin

REPO_ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 10  # with the short switch interval below, unguarded subsetting fails ~every run


def certificate_fields(doc: CertificateDocument) -> list[str]:
    """Every value the certificate must show, as the caller typed it."""
    return [
        doc.election_name_kk,
        doc.election_name_ru,
        "2022 жылғы 5 маусым / 5 июня 2022 года",
        f"№ {doc.number}",
        doc.verification_code,
        doc.surname,
        doc.given_name,
        doc.patronymic,
        doc.iin,
        doc.identity_document,
        f"№ {doc.home_precinct_number}",
        doc.home_address,
        doc.home_locality_kk,
        doc.home_locality_ru,
        doc.issuing_commission_kk,
        doc.issuing_commission_ru,
        "2022-05-25 12:00 (Asia/Almaty, UTC+06:00)",
        doc.issued_by,
        "М.О. / М.П.",
        "қолы / подпись",
    ]


def test_certificate_shows_every_field_as_entered() -> None:
    doc = demo_certificate()
    [text] = page_texts(render_certificate(doc))
    for value in certificate_fields(doc):
        assert squash(value) in text, value
    assert "ЕСЕПТЕН ШЫҒАРУ КУӘЛІГІ" in text
    assert "ОТКРЕПИТЕЛЬНОЕ УДОСТОВЕРЕНИЕ" in text
    assert "Сайлаушының өзіне / Лично избирателю" in text
    assert REPEAT_MARK not in text


def test_counterfoil_repeats_number_name_iin_date_and_has_a_receiver_line() -> None:
    doc = demo_certificate()
    [text] = page_texts(render_certificate(doc))
    counterfoil = text[text.index("ТҮБІРТЕК / КОРЕШОК") :]
    for value in (
        f"№ {doc.number}",
        doc.full_name,
        doc.iin,
        "2022-05-25 12:00 (Asia/Almaty, UTC+06:00)",
        "Алған адамның қолы / Подпись получившего",
    ):
        assert value in counterfoil, value
    assert text.index("кесу сызығы / линия отреза") < text.index("ТҮБІРТЕК / КОРЕШОК")


def test_representative_is_named_with_masked_iin_and_power_of_attorney() -> None:
    doc = demo_certificate(proxy=True)
    [text] = page_texts(render_certificate(doc))
    expected = (
        "Өкілге / Представителю: Іргебаев Ұлан Һадиұлы, ЖСН / ИИН 740315••••28, "
        "сенімхат / доверенность № 17-Д/2022 (2022-05-20)"
    )
    assert text.count(expected) == 2  # certificate and counterfoil
    assert PROXY_IIN not in text
    assert mask_iin(PROXY_IIN) in text
    assert "Лично избирателю" not in text


def test_repeat_print_is_marked_on_both_parts() -> None:
    [text] = page_texts(render_certificate(demo_certificate(repeat_print=True)))
    assert text.count("ҚАЙТА БАСЫП ШЫҒАРУ / ПОВТОРНАЯ ПЕЧАТЬ") == 2


def test_fifty_real_world_names_print_exactly_one_per_sheet() -> None:
    docs = [
        demo_certificate(surname=s, given_name=g, patronymic=p, serial=100 + i)
        for i, (s, g, p) in enumerate(NAMES)
    ]
    pdf = render_certificates(docs)
    texts = page_texts(pdf)
    assert len(texts) == len(NAMES)
    for text, doc, name in zip(texts, docs, NAMES, strict=True):
        for part in name:
            if part:
                assert squash(part) in text, part
        assert squash(full_name(name)) in text  # the counterfoil's one-line full name
        assert f"№ {doc.number}" in text


@pytest.mark.parametrize("name", MARKUP_NAMES)
def test_markup_in_names_is_printed_literally(name: tuple[str, str, str]) -> None:
    surname, given, patronymic = name
    doc = demo_certificate(surname=surname, given_name=given, patronymic=patronymic)
    [text] = page_texts(render_certificate(doc))
    for part in name:
        assert part in text, part
    assert full_name(name) in text


def test_overlong_fields_shrink_to_stay_on_one_sheet() -> None:
    long_name = full_name(NAMES[-1])
    doc = dataclasses.replace(
        demo_certificate(surname=long_name, given_name=long_name, patronymic=long_name),
        home_address="көшесі " * 70 + "соңы",
        identity_document="құжат " * 30 + "№ 1",
        issued_by=long_name,
    )
    pdf = render_certificate(doc)
    assert page_count(pdf) == 1
    text = pdf_text(pdf)
    assert squash(doc.home_address) in text
    assert squash(long_name) in text


def test_no_patronymic_prints_a_dash() -> None:
    [text] = page_texts(render_certificate(demo_certificate(patronymic="")))
    assert "Отчество —" in text


def test_line_breaks_in_input_do_not_break_the_layout() -> None:
    doc = dataclasses.replace(demo_certificate(), home_address="Абай даңғылы,\n150\t25-пәтер")
    assert "Абай даңғылы, 150 25-пәтер" in pdf_text(render_certificate(doc))


def test_same_input_same_bytes() -> None:
    doc = demo_certificate(proxy=True, repeat_print=True)
    assert render_certificate(doc) == render_certificate(doc)
    assert render_certificates([doc, doc]) == render_certificates([doc, doc])


def test_same_bytes_in_a_fresh_interpreter() -> None:
    # Font registration, subset naming and object numbering must not depend on process history.
    # A clock that leaks into the output (a font's "modified" stamp did once) shows up as soon
    # as the second changes, so the fresh interpreter runs in a later second than this one.
    here = hashlib.sha256(render_certificate(demo_certificate())).hexdigest()
    started = int(time.time())
    while int(time.time()) == started:
        time.sleep(0.05)
    probe = (
        "import hashlib; from pdf import render_certificate; "
        "from tests.pdf.demo import demo_certificate; "
        "print(hashlib.sha256(render_certificate(demo_certificate())).hexdigest())"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == here


def test_different_input_different_bytes() -> None:
    assert render_certificate(demo_certificate()) != render_certificate(
        demo_certificate(serial=12346)
    )


def test_naive_issue_time_is_refused() -> None:
    doc = dataclasses.replace(demo_certificate(), issued_at=datetime(2022, 5, 25, 12, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        render_certificate(doc)


def test_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="no certificates"):
        render_certificates([])


def test_batch_accepts_a_generator() -> None:
    pdf = render_certificates(demo_certificate(serial=serial) for serial in range(1, 4))
    assert page_count(pdf) == 3


def test_full_iin_is_on_the_certificate() -> None:
    # The certificate carries the voter's IIN in full (domain.md §8); registers mask it.
    assert pdf_text(render_certificate(demo_certificate())).count(IIN) == 2


def test_threads_rendering_at_once_get_the_same_bytes() -> None:
    # The app serves with several threads a worker; ReportLab's font state is shared by them.
    docs = [demo_certificate(serial=serial, proxy=serial % 2 == 0) for serial in range(1, 9)]
    expected = [render_certificate(doc) for doc in docs]
    barrier = threading.Barrier(len(docs))
    results: dict[int, list[bytes]] = {}

    def work(index: int) -> None:
        barrier.wait()
        results[index] = [render_certificate(docs[index]) for _ in range(ROUNDS)]

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(docs))]
    # Switching threads every few microseconds instead of every 5 ms makes them overlap inside
    # ReportLab's font subsetting on nearly every run, so an unguarded font fails reliably.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    for index, outputs in results.items():
        assert outputs == [expected[index]] * ROUNDS
    assert len(results) == len(docs)
