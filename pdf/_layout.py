"""Drawing helpers shared by the documents: plain text only, wrapping, QR, pages that stream.

Text reaches the page through ReportLab's plain-text operators only (`drawString`, text objects),
never through Paragraph markup, so a name such as ``<b>`` or ``&amp;`` is printed as typed. Every
page's content is compressed the moment the page is done, and the file is written out as it is
assembled (`PageWriter`): a register of 10,000 lines needs about one page of memory.
"""

from __future__ import annotations

import io
import re
import tempfile
import weakref
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

import segno
from reportlab.lib.pagesizes import A4 as _A4
from reportlab.lib.units import mm as _mm
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDictionary,
    PDFName,
    PDFObject,
    PDFPage,
    PDFStream,
)
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from pdf.fonts import BOLD, REGULAR, register_fonts

Align = Literal["left", "right", "center"]
_WHITESPACE = re.compile(r"\s")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PAGE_COUNT_FORM = "kuelikPageCount"
MONTHS_KK = (
    "қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым",
    "шілде", "тамыз", "қыркүйек", "қазан", "қараша", "желтоқсан",
)  # fmt: skip
MONTHS_RU = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
# ReportLab is untyped; these typed copies keep mypy's strictness in the layout arithmetic.
MM: float = float(_mm)
A4: tuple[float, float] = (float(_A4[0]), float(_A4[1]))
# Every reader decodes all eight masks. Letting segno score them costs about 6 ms a code, more than
# the rest of a certificate in a batch, and buys little here: base 36 of a signature has no long
# runs for a mask to break.
# tests/pdf/test_qr.py decodes hundreds of random payloads with this mask at a coarse raster.
QR_MASK = 0
GREY = (0.35, 0.35, 0.35)
RULE_GREY = (0.6, 0.6, 0.6)


# --- text --------------------------------------------------------------------------------------


def clean(text: str) -> str:
    """One printable line: line breaks and tabs become spaces, other control characters go."""
    return _CONTROL.sub("", _WHITESPACE.sub(" ", text))


def width_of(text: str, font: str, size: float) -> float:
    return float(stringWidth(text, font, size))


def _split_word(word: str, font: str, size: float, width: float) -> list[str]:
    """A word wider than the line, cut into pieces that fit (after a hyphen when one fits)."""
    pieces: list[str] = []
    rest = word
    while width_of(rest, font, size) > width:
        cut = 1
        while cut < len(rest) and width_of(rest[: cut + 1], font, size) <= width:
            cut += 1
        hyphen = rest.rfind("-", 0, cut)
        if hyphen > 0:
            cut = hyphen + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy word wrap to `width` points; never drops a character, never returns no line."""
    text = clean(text)
    if width_of(text, font, size) <= width:
        return [text]  # most table cells: one measurement instead of one per word
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if not word:
            continue
        candidate = f"{line} {word}" if line else word
        if width_of(candidate, font, size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        pieces = _split_word(word, font, size, width)
        lines.extend(pieces[:-1])
        line = pieces[-1]
    lines.append(line)
    return lines


def format_date(day: date) -> str:
    return day.isoformat()


def format_long_date(day: date) -> str:
    """'2022 жылғы 5 маусым / 5 июня 2022 года': how a legal text names a voting day."""
    kk = f"{day.year} жылғы {day.day} {MONTHS_KK[day.month - 1]}"
    ru = f"{day.day} {MONTHS_RU[day.month - 1]} {day.year} года"
    return f"{kk} / {ru}"


def utc_offset(moment: datetime) -> str:
    """'UTC+06:00' for an aware datetime."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a local time on a document must be timezone-aware")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def format_local_time(moment: datetime, time_zone: str) -> str:
    """'2022-05-25 12:00 (Asia/Almaty, UTC+06:00)': the wall clock and which clock it was."""
    return f"{moment:%Y-%m-%d %H:%M} ({time_zone}, {utc_offset(moment)})"


def format_short_time(moment: datetime) -> str:
    """'2022-05-25 12:00' for table cells; the zone is printed once in the heading."""
    utc_offset(moment)  # refuses a naive datetime here too
    return f"{moment:%Y-%m-%d %H:%M}"


def bilingual(kk: str, ru: str) -> str:
    """'kk / ru', or one name when both languages spell it alike (Алматы / Алматы)."""
    return kk if kk == ru else f"{kk} / {ru}"


class BinarySink(Protocol):
    """Where a PDF goes: a file opened "wb", an io.BytesIO, a response stream. Only `write`."""

    def write(self, data: bytes, /) -> object: ...


# --- canvas ------------------------------------------------------------------------------------


class _SpilledStream(PDFStream):  # type: ignore[misc]  # ReportLab is untyped
    """A finished page's compressed content, parked in the spill file until the PDF is written.

    Slotted and without a dictionary until written: one of these lives per page of a long list.
    """

    __slots__ = ("length", "offset", "writer")

    def __init__(self, writer: PageWriter, offset: int, length: int) -> None:
        self.writer = writer
        self.offset = offset
        self.length = length

    def format(self, document: Any) -> bytes:
        self.writer.stream_from_here(document)
        stream = PDFStream(
            dictionary=PDFDictionary({"Filter": PDFArray([PDFName("FlateDecode")])}),
            content=self.writer.read_spilled(self.offset, self.length),
        )
        formatted: bytes = stream.format(document)
        return formatted


# What showPage sets on our pages; a page with anything else set keeps ReportLab's own object.
_PAGE_FIELDS = frozenset(
    {
        "pagewidth",
        "pageheight",
        "Rotate",
        "hasImages",
        "compression",
        "XObjects",
        "_colorsUsed",
        "_shadingUsed",
        "Annots",
        "stream",
        "Contents",
        "Trans",
        "__InternalName__",
    }
)


class _SlimPage(PDFObject):  # type: ignore[misc]  # ReportLab is untyped
    """A finished page reduced to a few numbers; the full page object is rebuilt while writing.

    ReportLab's own page object costs about 3 kB until the file is written: for a register of
    400 pages that outweighs everything else. This one keeps size, the shared resources and where
    the content lies in the spill file.
    """

    __RefOnly__ = 1
    __slots__ = ("content", "has_images", "height", "rotate", "width", "xobjects")

    def __init__(self, page: Any, content: _SpilledStream, xobjects: Any) -> None:
        self.width = page.pagewidth
        self.height = page.pageheight
        self.rotate = page.Rotate
        self.has_images = page.hasImages
        self.xobjects = xobjects
        self.content = content

    def format(self, document: Any) -> bytes:
        page = PDFPage()
        page.pagewidth = self.width
        page.pageheight = self.height
        page.Rotate = self.rotate
        page.hasImages = self.has_images
        page.XObjects = self.xobjects
        page._colorsUsed = {}
        page._shadingUsed = {}
        page.Contents = self.content
        page.setPageTransition(None)
        page.ExtGState = None
        page.Annots = None
        formatted: bytes = page.format(document)
        return formatted


def _names(xobjects: Any) -> dict[str, str]:
    """An XObject dictionary by the names it refers to (references compare by identity)."""
    return {key: value.name for key, value in xobjects.dict.items()}


class PageWriter:
    """A ReportLab canvas whose pages leave memory as they are finished.

    ReportLab keeps every page as raw text until `save` and then assembles the whole file in
    memory. Here each finished page is compressed into a spill file (in memory while small, on
    disk beyond `SPILL_IN_MEMORY` bytes), and when ReportLab writes the file its output is sent
    straight to `out` from the first page on. A 10,000-line register then needs about one
    page of memory, not the whole document twice over.

    The hand-over relies on one private detail of ReportLab 5 (the output collector it keeps on
    the document while writing); without it the document is still correct, only buffered, and
    tests/pdf/test_streaming.py fails so the regression cannot go unnoticed.
    """

    SPILL_IN_MEMORY = 256 << 10

    def __init__(self, out: BinarySink, pagesize: tuple[float, float], title: str) -> None:
        register_fonts()
        self.out = out
        self.canvas = Canvas(out, pagesize=pagesize, invariant=1, pageCompression=1)
        self.canvas.setTitle(title)
        self.canvas.setAuthor("Kuelik")
        self.canvas.setCreator("Kuelik")
        # The spill lives as long as the document: closed by `save`, or when an abandoned writer
        # (a row source that raised) is collected.
        self._spill = tempfile.SpooledTemporaryFile(max_size=self.SPILL_IN_MEMORY)  # noqa: SIM115
        self._close_spill = weakref.finalize(self, self._spill.close)
        self._spill_end = 0
        self._streaming = False
        self._xobjects: Any = None
        self.pages = 0

    def end_page(self) -> None:
        """Finish the current page and park its compressed content in the spill file."""
        self.canvas.showPage()
        self.pages += 1
        document = self.canvas._doc
        page = document.Pages.pages[-1]
        raw = page.stream.encode("utf-8") if isinstance(page.stream, str) else page.stream
        data = zlib.compress(raw)
        self._spill.seek(self._spill_end)
        self._spill.write(data)
        content = _SpilledStream(self, self._spill_end, len(data))
        self._spill_end += len(data)
        page.Contents = content
        page.stream = None
        if SLIM_PAGES and self._can_slim(page):
            # Pages of one document share one XObject dictionary (the page-count form).
            if page.XObjects is not None and (
                self._xobjects is None or _names(self._xobjects) != _names(page.XObjects)
            ):
                self._xobjects = page.XObjects
            slim = _SlimPage(page, content, self._xobjects if page.XObjects else None)
            name = page.__InternalName__
            slim.__InternalName__ = name
            document.Pages.pages[-1] = slim
            document.idToObject[name] = slim

    @staticmethod
    def _can_slim(page: Any) -> bool:
        return (
            all(value is None for key, value in vars(page).items() if key not in _PAGE_FIELDS)
            and not page.Trans.dict  # ReportLab sets an empty transition on every page
            and not page._colorsUsed
            and not page._shadingUsed
            and not page.Annots
        )

    def read_spilled(self, offset: int, length: int) -> bytes:
        self._spill.seek(offset)
        return self._spill.read(length)

    def stream_from_here(self, document: Any) -> None:
        """Send what ReportLab has collected so far to `out`, and everything after it directly."""
        if self._streaming or not STREAM_OUTPUT:
            return
        collector = getattr(document, "__accum__", None)
        strings = getattr(collector, "strings", None)
        if collector is None or not isinstance(strings, list) or not hasattr(collector, "write"):
            return  # another ReportLab: stay buffered, still correct
        for chunk in strings:
            self.out.write(chunk)
        strings.clear()
        collector.write = self.out.write
        self._streaming = True

    def save(self) -> None:
        """Write the document to `out`; the canvas is finished afterwards."""
        try:
            self.canvas.save()
        finally:
            self._close_spill()


# Tests switch these off to compare with ReportLab's own buffered output and page objects.
STREAM_OUTPUT = True
SLIM_PAGES = True


def render_to_bytes(write: Callable[[BinarySink], None]) -> bytes:
    """Run a `write_*` function into memory: for callers that want the bytes themselves."""
    buffer = io.BytesIO()
    write(buffer)
    return buffer.getvalue()


def draw_text(
    canvas: Canvas,
    x: float,
    y: float,
    text: str,
    font: str = REGULAR,
    size: float = 9,
    align: Align = "left",
) -> None:
    canvas.setFont(font, size)
    if align == "right":
        canvas.drawRightString(x, y, text)
    elif align == "center":
        canvas.drawCentredString(x, y, text)
    else:
        canvas.drawString(x, y, text)


class TextRun:
    """Many strings in one PDF text object: a table row costs one BT/ET pair, not one per cell."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.text = canvas.beginText()
        self.style: tuple[str, float] | None = None

    def add(
        self, x: float, y: float, line: str, font: str, size: float, align: Align = "left"
    ) -> None:
        if align != "left":
            shift = width_of(line, font, size)
            x -= shift if align == "right" else shift / 2
        if self.style != (font, size):
            self.text.setFont(font, size)
            self.style = (font, size)
        self.text.setTextOrigin(x, y)
        self.text.textOut(line)

    def draw(self) -> None:
        self.canvas.drawText(self.text)


def draw_lines(
    canvas: Canvas,
    x: float,
    y: float,
    lines: Sequence[str],
    font: str = REGULAR,
    size: float = 9,
    leading: float | None = None,
    align: Align = "left",
) -> float:
    """Draw lines top-down from baseline `y`; return the baseline after the last one."""
    step = leading if leading is not None else size * 1.2
    for line in lines:
        draw_text(canvas, x, y, line, font, size, align)
        y -= step
    return y


def draw_qr(canvas: Canvas, text: str, x: float, y: float, side: float) -> None:
    """A QR code in the square with lower-left corner (x, y), quiet zone included.

    Dark runs of each row become one rectangle and all of them one filled path: a few hundred
    path operators instead of ReportLab's widget, about ten times faster, and no seams where
    neighbouring modules would otherwise be painted separately. The mask is fixed (`QR_MASK`).
    """
    matrix = segno.make(text, error="m", mask=QR_MASK).matrix
    quiet = 4
    count = len(matrix) + 2 * quiet
    module = side / count
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + side - (quiet + row_index) * module
        column = 0
        length = len(row)
        while column < length:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < length and row[column]:
                column += 1
            path.rect(x + (quiet + start) * module, top - module, (column - start) * module, module)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


def signature_line(
    canvas: Canvas, x: float, y: float, width: float, caption: str, size: float = 6.5
) -> None:
    """A line to sign on with a small caption under it."""
    canvas.setLineWidth(0.5)
    canvas.setStrokeColorRGB(0, 0, 0)
    canvas.line(x, y, x + width, y)
    canvas.setFillColorRGB(*GREY)
    draw_text(canvas, x + width / 2, y - size - 1.5, caption, REGULAR, size, "center")
    canvas.setFillColorRGB(0, 0, 0)


# --- flowing multi-page documents ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: bilingual heading, width in points, alignment."""

    heading_kk: str
    heading_ru: str
    width: float
    align: Align = "left"


SheetHeading = Callable[["Sheet"], None]


class Sheet:
    """Pages with a running cursor, a heading repeated on each page and 'page N of M' footers.

    M is unknown until the last row has streamed by, so the footer draws a Form XObject that is
    defined once at the end: one pass over the rows, constant memory for the page count.
    """

    def __init__(
        self,
        out: BinarySink,
        *,
        pagesize: tuple[float, float],
        title: str,
        heading: SheetHeading | None = None,
        margin: float = 14 * MM,
    ) -> None:
        self.writer = PageWriter(out, pagesize, title)
        self.canvas = self.writer.canvas
        self.width, self.height = pagesize
        self.margin = margin
        self.left = margin
        self.right = self.width - margin
        self.bottom = margin + 10 * MM  # room for the footer
        self.page_number = 0
        self.y = 0.0
        self._heading = heading
        self.on_new_page: list[Callable[[], None]] = []
        self._start_page()

    @property
    def text_width(self) -> float:
        return self.right - self.left

    def _start_page(self) -> None:
        self.page_number += 1
        self.y = self.height - self.margin
        if self._heading is not None:
            self._heading(self)
        for hook in self.on_new_page:
            hook()

    def _footer(self) -> None:
        canvas = self.canvas
        y = self.margin
        canvas.setFillColorRGB(*GREY)
        text = f"Бет {self.page_number} / "
        draw_text(canvas, self.left, y, text, REGULAR, 8)
        self._page_count_at(self.left + width_of(text, REGULAR, 8), y)
        ru = f"Страница {self.page_number} из "
        x = self.left + 70 * MM
        draw_text(canvas, x, y, ru, REGULAR, 8)
        self._page_count_at(x + width_of(ru, REGULAR, 8), y)
        canvas.setFillColorRGB(0, 0, 0)

    def _page_count_at(self, x: float, y: float) -> None:
        self.canvas.saveState()
        self.canvas.translate(x, y)
        self.canvas.doForm(_PAGE_COUNT_FORM)
        self.canvas.restoreState()

    def new_page(self) -> None:
        self._footer()
        self.writer.end_page()
        self._start_page()

    def ensure(self, height: float) -> None:
        """Start a new page unless `height` points still fit above the footer."""
        if self.y - height < self.bottom:
            self.new_page()

    def paragraph(
        self,
        text: str,
        font: str = REGULAR,
        size: float = 9.5,
        *,
        indent: float = 0,
        space_after: float = 3,
        align: Align = "left",
    ) -> None:
        """Wrapped text that may continue on the next page."""
        leading = size * 1.25
        width = self.text_width - indent
        for line in wrap(text, font, size, width):
            self.ensure(leading)
            self.y -= size
            x = {"left": self.left + indent, "right": self.right, "center": self.left + width / 2}
            draw_text(self.canvas, x[align], self.y, line, font, size, align)
            self.y -= leading - size
        self.y -= space_after

    def signatures(self, roles: Iterable[tuple[str, str | None]]) -> None:
        """Signature lines, one per role, each with the signer's name when known."""
        for role, name in roles:
            self.ensure(28)
            self.y -= 22
            draw_text(self.canvas, self.left, self.y, role, REGULAR, 9)
            line_x = self.left + 85 * MM
            signature_line(self.canvas, line_x, self.y - 1, 45 * MM, "қолы / подпись")
            if name:
                name_x = line_x + 50 * MM
                lines = wrap(name, REGULAR, 9, self.right - name_x)
                draw_lines(self.canvas, name_x, self.y, lines, REGULAR, 9)
                self.y -= 11 * (len(lines) - 1)
            self.y -= 6

    def finish(self) -> None:
        """Close the last page, define the page count, and write the PDF out."""
        self._footer()
        self.writer.end_page()
        canvas = self.canvas
        canvas.beginForm(_PAGE_COUNT_FORM, lowerx=0, lowery=-3, upperx=60, uppery=12)
        canvas.setFillColorRGB(*GREY)
        draw_text(canvas, 0, 0, str(self.page_number), REGULAR, 8)
        canvas.endForm()
        self.writer.save()


class Table:
    """Rows that stream onto a Sheet: wrapped cells, headings repeated on each page."""

    def __init__(self, sheet: Sheet, columns: Sequence[Column], size: float = 8) -> None:
        self.sheet = sheet
        self.columns = tuple(columns)
        self.size = size
        self.leading = size * 1.2
        self.padding = 2.5
        scale = sheet.text_width / sum(column.width for column in self.columns)
        self.widths = [column.width * scale for column in self.columns]
        self.edges = [sheet.left]
        for width in self.widths:
            self.edges.append(self.edges[-1] + width)
        self._top: float | None = None
        self.open = False

    def start(self) -> None:
        """Draw the headings here and on every later page until `close`."""
        self.open = True
        self.sheet.on_new_page.append(self._headings)
        self._headings()

    def _headings(self) -> None:
        if not self.open:
            return
        size = self.size - 0.5
        step = size * 1.15
        cells = [
            (
                wrap(column.heading_kk, BOLD, size, width - 2 * self.padding),
                wrap(column.heading_ru, REGULAR, size, width - 2 * self.padding),
            )
            for column, width in zip(self.columns, self.widths, strict=True)
        ]
        height = max(len(kk) + len(ru) for kk, ru in cells) * step + 2 * self.padding
        canvas = self.sheet.canvas
        top = self.sheet.y
        canvas.setFillColorRGB(0.92, 0.92, 0.92)
        canvas.rect(self.sheet.left, top - height, self.sheet.text_width, height, stroke=0, fill=1)
        canvas.setFillColorRGB(0, 0, 0)
        for (kk, ru), x in zip(cells, self.edges, strict=False):
            y = draw_lines(
                canvas, x + self.padding, top - self.padding - size, kk, BOLD, size, step
            )
            draw_lines(canvas, x + self.padding, y, ru, REGULAR, size, step)
        self._top = top
        self.sheet.y = top - height
        self._rule(self.sheet.y)

    def _rule(self, y: float) -> None:
        canvas = self.sheet.canvas
        canvas.setLineWidth(0.4)
        canvas.setStrokeColorRGB(*RULE_GREY)
        canvas.line(self.sheet.left, y, self.sheet.right, y)

    def _close_frame(self) -> None:
        """Vertical rules for this page's part of the table, drawn once per page."""
        if self._top is None:
            return
        canvas = self.sheet.canvas
        canvas.setLineWidth(0.4)
        canvas.setStrokeColorRGB(*RULE_GREY)
        canvas.line(self.sheet.left, self._top, self.sheet.right, self._top)
        for x in self.edges:
            canvas.line(x, self._top, x, self.sheet.y)
        self._top = None

    def row(self, cells: Sequence[str], fonts: Sequence[str] | None = None) -> None:
        sheet = self.sheet
        fonts = fonts or [REGULAR] * len(cells)
        wrapped = [
            wrap(text, font, self.size, width - 2 * self.padding)
            for text, font, width in zip(cells, fonts, self.widths, strict=True)
        ]
        height = max(len(lines) for lines in wrapped) * self.leading + 2 * self.padding
        if sheet.y - height < sheet.bottom:
            self._close_frame()
            sheet.new_page()
        top = sheet.y
        run = TextRun(sheet.canvas)
        for lines, font, column, x, width in zip(
            wrapped, fonts, self.columns, self.edges, self.widths, strict=False
        ):
            anchor = {"left": x + self.padding, "right": x + width - self.padding}
            line_x = anchor.get(column.align, x + width / 2)
            y = top - self.padding - self.size
            for line in lines:
                run.add(line_x, y, line, font, self.size, column.align)
                y -= self.leading
        run.draw()
        sheet.y = top - height
        self._rule(sheet.y)

    def close(self) -> None:
        """End the table on this page; later pages get no headings."""
        self._close_frame()
        self.open = False
        self.sheet.on_new_page.remove(self._headings)
