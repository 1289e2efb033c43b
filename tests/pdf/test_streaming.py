"""Long lists in bounded memory: rows stream in, pages stream out, bytes stay the same."""

from __future__ import annotations

import gc
import io
import tracemalloc
from collections.abc import Callable

import pypdf
import pytest

import pdf._layout
from pdf import render_certificates, render_register, write_register
from tests.pdf.conftest import page_texts
from tests.pdf.demo import demo_certificate, demo_register_header, demo_register_rows


class CountingSink:
    """A file that keeps nothing, as a socket or a disk file would not count against the heap."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def peak_bytes(action: Callable[[], None]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_register_peak_memory_hardly_grows_with_rows() -> None:
    def write(rows: int) -> Callable[[], None]:
        return lambda: write_register(demo_register_header(), demo_register_rows(rows), sink)

    sink = CountingSink()
    write(10)()  # fonts and imports are paid once per process, not per document
    sink.size = 0
    small = peak_bytes(write(1_000))
    small_size = sink.size
    sink.size = 0
    large = peak_bytes(write(10_000))
    assert sink.size > 5 * small_size  # the rows really were written out
    assert large < 2 * small, (small, large)
    # The whole 10,000-line register needs less memory than its own PDF.
    assert large < sink.size


def test_streamed_output_is_byte_identical_to_buffered(monkeypatch: pytest.MonkeyPatch) -> None:
    def render() -> bytes:
        return render_register(demo_register_header(), demo_register_rows(150))

    streamed = render()
    monkeypatch.setattr(pdf._layout, "STREAM_OUTPUT", False)
    assert render() == streamed


def test_slim_pages_print_the_same_document(monkeypatch: pytest.MonkeyPatch) -> None:
    def render() -> bytes:
        return render_register(demo_register_header(), demo_register_rows(150))

    slim = render()
    monkeypatch.setattr(pdf._layout, "SLIM_PAGES", False)
    full = render()
    assert page_texts(slim) == page_texts(full)
    for data in (slim, full):
        reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
        assert [page.mediabox for page in reader.pages] == [reader.pages[0].mediabox] * len(
            reader.pages
        )


def test_spill_to_disk_keeps_every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    # A tiny in-memory limit forces the spill file onto disk after the first page.
    expected = render_certificates(demo_certificate(serial=s) for s in range(1, 6))
    monkeypatch.setattr(pdf._layout.PageWriter, "SPILL_IN_MEMORY", 1024)
    assert render_certificates(demo_certificate(serial=s) for s in range(1, 6)) == expected


def test_rows_are_read_once_and_lazily() -> None:
    consumed: list[int] = []

    def rows():  # type: ignore[no-untyped-def]
        for index, row in enumerate(demo_register_rows(5)):
            consumed.append(index)
            yield row

    render_register(demo_register_header(), rows())
    assert consumed == [0, 1, 2, 3, 4]


def test_a_failing_row_source_leaves_the_output_empty() -> None:
    def rows():  # type: ignore[no-untyped-def]
        yield from demo_register_rows(3)
        raise RuntimeError("cursor lost")

    out = io.BytesIO()
    with pytest.raises(RuntimeError, match="cursor lost"):
        write_register(demo_register_header(), rows(), out)
    assert out.getvalue() == b""
