"""Helpers for reading rendered PDFs back: text via pypdf, pixels via pdftoppm."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pypdf
import pytest

from tests.pdf.demo import demo_documents, pdf_to_png

IN_CI = os.environ.get("CI", "").lower() == "true"
_SPACES = re.compile(r"\s+")


def squash(text: str) -> str:
    """Whitespace runs to one space: wrapped lines read back as the text that was typed."""
    return _SPACES.sub(" ", text).strip()


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text, whitespace squashed."""
    return [squash(page.extract_text()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def pdf_text(pdf: bytes) -> str:
    return " ".join(page_texts(pdf))


def page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def require_pdftoppm() -> None:
    """Skip without pdftoppm on a developer machine; in CI its absence is a failure."""
    if shutil.which("pdftoppm") is None:
        message = "pdftoppm not installed (apt-get install -y poppler-utils)"
        if IN_CI:
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)


@pytest.fixture(scope="session")
def rendered_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every demo document's first page as PNG in a temporary folder, for looking at."""
    require_pdftoppm()
    folder = tmp_path_factory.mktemp("pdf-images")
    return {name: pdf_to_png(pdf, folder / f"{name}.png") for name, pdf in demo_documents().items()}
