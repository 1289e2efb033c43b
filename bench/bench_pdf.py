"""Speed and memory of the printed documents. Prints figures, asserts nothing.

    python -m bench.bench_pdf [--quick]

What it measures:
  (a) certificates per second rendered one PDF each (the desk's "print" button);
  (b) certificates per second in batches of 1,000 (one PDF, one sheet each), and the batch's
      peak memory (tracemalloc) both returned as bytes and streamed to a file;
  (c) the floor: a text-only page with the same fonts and the same strings as a certificate, no
      QR code and no graphics, through the same output path; and the ratio certificate / floor,
      which is what the QR code, rules and layout cost on top of merely setting the text;
  (d) a 10,000-row register: seconds, pages, size, and peak memory streamed and as bytes.

The data are the invented voters of tests/pdf/demo.py; QR texts are signed beforehand, since
signing belongs to issuing, not to printing.
"""

from __future__ import annotations

import argparse
import gc
import io
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pypdf

# Run as a script, the project root is not on sys.path; as `-m bench.bench_pdf` it is.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pdf import (
    CertificateDocument,
    render_certificate,
    render_certificates,
    render_register,
    write_certificates,
    write_register,
)
from pdf._layout import A4, BinarySink, PageWriter, draw_text, render_to_bytes
from pdf.fonts import REGULAR
from tests.pdf.demo import demo_certificate, demo_register_header, demo_register_rows
from tests.pdf.names import NAMES


class CountingSink:
    """A binary file that keeps nothing: what a socket or a disk file costs the heap."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def certificates(count: int) -> list[CertificateDocument]:
    return [
        demo_certificate(
            surname=NAMES[i % len(NAMES)][0],
            given_name=NAMES[i % len(NAMES)][1],
            patronymic=NAMES[i % len(NAMES)][2],
            serial=10_000 + i,
            proxy=i % 5 == 0,
        )
        for i in range(count)
    ]


def page_strings(doc: CertificateDocument) -> list[str]:
    """The text lines a certificate prints, read back from its PDF (for the floor)."""
    page = pypdf.PdfReader(io.BytesIO(render_certificate(doc))).pages[0]
    return [line for line in page.extract_text().splitlines() if line.strip()]


def render_floor(pages: list[list[str]]) -> bytes:
    """Text only, same fonts and strings, one page per certificate, same output pipeline."""

    def write(out: BinarySink) -> None:
        writer = PageWriter(out, A4, "floor")
        for lines in pages:
            y = A4[1] - 40
            for line in lines:
                draw_text(writer.canvas, 40, y, line, REGULAR, 9)
                y -= 11
            writer.end_page()
        writer.save()

    return render_to_bytes(write)


def per_second(action: Callable[[], object], items: int, repeats: int) -> tuple[float, float]:
    """Best-of and median throughput in items per second over `repeats` runs."""
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        rates.append(items / (time.perf_counter() - started))
    return max(rates), statistics.median(rates)


def peak_memory(action: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def mib(size: int) -> str:
    return f"{size / 2**20:.2f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, same figures")
    args = parser.parse_args()
    single_count = 100 if args.quick else 300
    batch_size = 1_000
    repeats = 2 if args.quick else 3
    register_rows = 10_000

    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    docs = certificates(max(single_count, batch_size))
    render_certificate(docs[0])  # fonts are registered and trimmed once per process

    def singles() -> None:
        for doc in docs[:single_count]:
            render_certificate(doc)

    best, median = per_second(singles, single_count, repeats)
    print(f"(a) single certificates: {best:7.0f}/s best, {median:7.0f}/s median "
          f"({1000 / median:.2f} ms each)")  # fmt: skip

    batch = docs[:batch_size]
    best_batch, median_batch = per_second(lambda: render_certificates(batch), batch_size, repeats)
    batch_bytes = len(render_certificates(batch))
    print(f"(b) batch of {batch_size}: {best_batch:7.0f}/s best, {median_batch:7.0f}/s median, "
          f"{mib(batch_bytes)} PDF")  # fmt: skip
    print(f"    peak memory, as bytes:   {mib(peak_memory(lambda: render_certificates(batch)))}")
    print("    peak memory, streamed:   "
          f"{mib(peak_memory(lambda: write_certificates(batch, CountingSink())))}")  # fmt: skip

    floor_pages = [page_strings(doc) for doc in docs[:single_count]]
    strings = statistics.mean(len(lines) for lines in floor_pages)

    def floor_singles() -> None:
        for lines in floor_pages:
            render_floor([lines])

    _, floor_median = per_second(floor_singles, single_count, repeats)
    floor_batch = floor_pages * (batch_size // len(floor_pages) + 1)
    floor_batch = floor_batch[:batch_size]
    floor_batch_best, _ = per_second(lambda: render_floor(floor_batch), batch_size, repeats)
    print(f"(c) floor, text only ({strings:.0f} strings a page): single {floor_median:7.0f}/s "
          f"median, batch {floor_batch_best:7.0f}/s best")  # fmt: skip
    print(f"    ratio certificate / floor: single {floor_median / median:.2f}x, "
          f"batch {floor_batch_best / best_batch:.2f}x (time per page)")  # fmt: skip

    def register() -> bytes:
        return render_register(demo_register_header(), demo_register_rows(register_rows))

    started = time.perf_counter()
    register_pdf = register()
    seconds = time.perf_counter() - started
    pages = len(pypdf.PdfReader(io.BytesIO(register_pdf)).pages)
    print(f"(d) register of {register_rows} rows: {seconds:.2f} s, {pages} pages, "
          f"{mib(len(register_pdf))} PDF, {register_rows / seconds:.0f} rows/s")  # fmt: skip
    sink = CountingSink()
    streamed = peak_memory(
        lambda: write_register(demo_register_header(), demo_register_rows(register_rows), sink)
    )
    print(f"    peak memory, streamed:   {mib(streamed)}")
    print(f"    peak memory, as bytes:   {mib(peak_memory(register))}")


if __name__ == "__main__":
    main()
