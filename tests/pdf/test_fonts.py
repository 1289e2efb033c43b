"""The font covers every Kazakh and Russian letter, in the file and in what ReportLab embeds."""

from __future__ import annotations

import string

import pytest
from fontTools.ttLib import TTFont
from reportlab.pdfbase import pdfmetrics

from pdf import render_refusal_notice
from pdf.fonts import BOLD, KAZAKH_RUSSIAN, REGULAR, font_file, register_fonts
from tests.pdf.conftest import pdf_text
from tests.pdf.demo import demo_refusal

KAZAKH_ONLY = "ӘҒҚҢӨҰҮҺІәғқңөұүһі"
NEEDED = KAZAKH_RUSSIAN + string.ascii_letters + string.digits + string.punctuation


@pytest.mark.parametrize("name", [REGULAR, BOLD])
def test_font_file_from_pypi_has_every_letter(name: str) -> None:
    cmap = TTFont(str(font_file(name))).getBestCmap()
    assert [char for char in NEEDED if ord(char) not in cmap] == []


@pytest.mark.parametrize("name", [REGULAR, BOLD])
def test_trimmed_font_reportlab_embeds_keeps_every_letter(name: str) -> None:
    register_fonts()
    face = pdfmetrics.getFont(name).face
    assert [char for char in NEEDED if ord(char) not in face.charToGlyph] == []
    # Real outlines, not a zero-width fallback.
    assert all(pdfmetrics.stringWidth(char, name, 10) > 0 for char in KAZAKH_ONLY)


def test_every_letter_reads_back_from_a_pdf() -> None:
    alphabet = KAZAKH_RUSSIAN + "ЁёЪъЬь"
    pdf = render_refusal_notice(demo_refusal(applicant_name=alphabet))
    # One long "word": it is cut where the line ends, so compare without whitespace.
    assert alphabet in "".join(pdf_text(pdf).split())


def test_registering_twice_keeps_one_font_object() -> None:
    register_fonts()
    first = pdfmetrics.getFont(REGULAR)
    register_fonts()
    assert pdfmetrics.getFont(REGULAR) is first
