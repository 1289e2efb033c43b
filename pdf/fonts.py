"""The typeface of every document: PT Sans, which covers Kazakh and Russian Cyrillic.

PT Sans (ParaType, SIL OFL) was drawn for the languages of Russia and its neighbours, so Ә Ғ Қ Ң Ө
Ұ Ү Һ І are native glyphs, not fallbacks. It comes from PyPI (`fontpkg-pt-sans`), so a fresh machine
gets it with `pip install` and prints the same as any other. Static TrueType outlines: ReportLab
cannot embed variable fonts such as today's Noto Sans.

The shipped files are screen fonts, 90% hinting, kerning and device tables that paper never uses.
ReportLab copies much of that into every PDF, so each file is trimmed in memory once per process
(Latin, Cyrillic and punctuation, no hinting): embedded fonts shrink from about 90 kB to 10 kB per
document, and so does the time spent compressing them. The file on disk is never modified.
"""

from __future__ import annotations

import io
import threading
from importlib.resources import files
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont as FontToolsFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

REGULAR = "KuelikSans"
BOLD = "KuelikSans-Bold"
_FILES = {REGULAR: "PT_Sans-Web-Regular.ttf", BOLD: "PT_Sans-Web-Bold.ttf"}
# Every letter the Kazakh and Russian alphabets use, plus the signs the documents print.
KAZAKH_RUSSIAN = (
    "АӘБВГҒДЕЁЖЗИЙКҚЛМНҢОӨПРСТУҰҮФХҺЦЧШЩЪЫІЬЭЮЯаәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя№«»–—•"
)
# Basic Latin, Latin-1 and Extended-A, all of Cyrillic and its supplement, general punctuation,
# and the numero, tenge and rouble signs.
_KEPT_CODE_POINTS = (
    *range(0x20, 0x7F),
    *range(0xA0, 0x180),
    *range(0x400, 0x530),
    *range(0x2000, 0x2070),
    0x2116,
    0x20B8,
    0x20BD,
)
_lock = threading.Lock()
# Registering twice would swap the font object under a document another thread is still writing.
_registered = threading.Event()


def font_file(name: str) -> Path:
    """Path of the TrueType file behind one of our font names."""
    return Path(str(files("fontpkg_pt_sans") / "files" / _FILES[name]))


def _print_ready(path: Path) -> io.BytesIO:
    """The font without hinting, kerning tables or glyphs outside our scripts, as TTF bytes."""
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]  # copyright, names, version: the licence's notice
    options.notdef_outline = True
    options.drop_tables += ["DSIG", "kern", "GPOS", "GSUB", "hdmx", "LTSH"]
    # fontTools stamps the save time into 'head' by default, and that would reach every PDF.
    font = FontToolsFont(str(path), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_KEPT_CODE_POINTS)
    subsetter.subset(font)
    data = io.BytesIO()
    font.save(data)
    data.seek(0)
    return data


def register_fonts() -> None:
    """Register the fonts with ReportLab once per process; safe to call from any thread."""
    if _registered.is_set():
        return
    with _lock:
        if not _registered.is_set():
            for name in _FILES:
                font = TTFont(name, _print_ready(font_file(name)))
                _serialise_subsetting(font)
                pdfmetrics.registerFont(font)
            _registered.set()


def _serialise_subsetting(font: TTFont) -> None:
    """Let one thread at a time cut subsets out of this font.

    ReportLab builds each document's font subset by seeking and reading in the one parsed font
    file the process shares, so two threads saving PDFs at once read each other's positions
    (seen as IndexError or a corrupt font; tests/pdf/test_certificate.py renders from threads).
    Everything else about a font is read-only once loaded, so this is the one lock needed.
    """
    face = font.face
    lock = threading.Lock()
    make_subset = face.makeSubset

    def locked_make_subset(subset: list[int]) -> bytes:
        with lock:
            data: bytes = make_subset(subset)
        return data

    face.makeSubset = locked_make_subset
