"""Plots of the benches' figures for docs/performance.md, as PNG files.

    python -m bench.plots [--results bench/results] [--out docs/images]

Reads what the benches saved in `bench/results/` (`import.json` from bench_setup, one record
per run and database; `checkin_load.json` from bench_load's open-loop run) and draws:

  - `perf-import.png`: import time against rows, the project beside its floors (log-log);
  - `perf-checkin.png`: check-in latency percentiles against the arrival rate.

Drawn with reportlab's charts (already a dependency), written as PDF and turned into PNG by
Debian's pdftoppm (the Makefile installs it), so no plotting library joins the requirements.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlab.graphics import renderPDF
from reportlab.graphics.charts.axes import LogXValueAxis, LogYValueAxis, XValueAxis, YValueAxis
from reportlab.graphics.charts.legends import LineLegend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Group, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors

ROOT = Path(__file__).resolve().parents[1]
Series = dict[str, list[tuple[float, float]]]
# Distinguishable in print and for the common kinds of colour blindness (Okabe and Ito).
PALETTE = (
    colors.HexColor("#0072B2"),
    colors.HexColor("#D55E00"),
    colors.HexColor("#009E73"),
    colors.HexColor("#CC79A7"),
    colors.HexColor("#E69F00"),
    colors.HexColor("#56B4E9"),
    colors.HexColor("#000000"),
)
MARKERS = ("FilledCircle", "FilledSquare", "FilledTriangle", "FilledDiamond", "Circle", "Square")


def line_chart(
    series: Series,
    *,
    title: str,
    x_label: str,
    y_label: str,
    log_x: bool = False,
    log_y: bool = False,
    dashed: Sequence[str] = (),
) -> Drawing:
    """One chart: a line with markers per series, axes labelled, legend below."""
    width, height = 640, 420
    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 70, 120, width - 100, height - 170
    names = [name for name, points in series.items() if points]
    plot.data = [sorted(series[name]) for name in names]
    if log_x:
        plot.xValueAxis = LogXValueAxis()
        plot.xValueAxis.labelTextFormat = _short_count
    else:
        plot.xValueAxis = XValueAxis()
        plot.xValueAxis.valueMin = 0
    plot.yValueAxis = LogYValueAxis() if log_y else YValueAxis()
    if not log_y:
        plot.yValueAxis.valueMin = 0
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName = "Helvetica"
        axis.labels.fontSize = 9
    plot.yValueAxis.visibleGrid = True
    plot.yValueAxis.gridStrokeColor = colors.HexColor("#dddddd")
    for number, name in enumerate(names):
        line = plot.lines[number]
        line.strokeColor = PALETTE[number % len(PALETTE)]
        line.strokeWidth = 1.6
        line.symbol = makeMarker(MARKERS[number % len(MARKERS)], size=5)
        line.symbol.fillColor = line.strokeColor
        line.symbol.strokeColor = line.strokeColor
        if name in dashed:
            line.strokeDashArray = (4, 3)
    drawing.add(plot)
    drawing.add(
        String(
            width / 2,
            height - 25,
            title,
            fontName="Helvetica-Bold",
            fontSize=12,
            textAnchor="middle",
        )
    )
    drawing.add(
        String(
            plot.x + plot.width / 2,
            plot.y - 30,
            x_label,
            fontName="Helvetica",
            fontSize=10,
            textAnchor="middle",
        )
    )
    # A y label reads bottom to top: a string at the origin, turned a quarter and moved.
    label = Group(String(0, 0, y_label, fontName="Helvetica", fontSize=10, textAnchor="middle"))
    label.transform = (0, 1, -1, 0, 20, plot.y + plot.height / 2)
    drawing.add(label)
    legend = LineLegend()
    legend.x, legend.y = plot.x, 55
    legend.fontName, legend.fontSize = "Helvetica", 9
    legend.columnMaximum = 2
    legend.deltax = 200
    legend.colorNamePairs = [
        (PALETTE[number % len(PALETTE)], name) for number, name in enumerate(names)
    ]
    drawing.add(legend)
    return drawing


def _short_count(value: float) -> str:
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def write_png(drawing: Drawing, path: Path) -> None:
    """PDF by reportlab, then PNG by pdftoppm at a resolution fit for a README page."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise SystemExit("pdftoppm is missing (Debian's poppler-utils; `make system-deps`)")
    with tempfile.TemporaryDirectory() as scratch:
        pdf = Path(scratch) / "chart.pdf"
        renderPDF.drawToFile(drawing, str(pdf))
        stem = Path(scratch) / "chart"
        subprocess.run(  # noqa: S603 - a fixed tool on our own file
            [pdftoppm, "-png", "-r", "110", "-singlefile", str(pdf), str(stem)], check=True
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stem.with_suffix(".png"), path)


def _latest(records: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """The newest record for each combination of `keys` (a later run replaces an earlier)."""
    newest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: str(r.get("when", ""))):
        newest[tuple(record.get(key) for key in keys)] = record
    return list(newest.values())


def import_chart(records: list[dict[str, Any]]) -> Drawing:  # bench_setup's records
    series: Series = {}
    for record in _latest(records, "database", "voters"):
        rows = float(record["voters"])
        database = str(record["database"])
        series.setdefault(f"{database}: flask import-voters", []).append(
            (rows, float(record["import_s"]))
        )
        if record.get("floor_indexed_s"):
            series.setdefault(f"{database}: COPY, same indexes", []).append(
                (rows, float(record["floor_indexed_s"]))
            )
        label = "COPY, bare table" if database == "PostgreSQL" else "executemany, bare table"
        series.setdefault(f"{database}: {label}", []).append((rows, float(record["floor_bare_s"])))
    floors = [name for name in series if "COPY" in name or "executemany" in name]
    return line_chart(
        series,
        title="First voter import into an empty list: the project and its floors",
        x_label="voters in the file",
        y_label="seconds (less the command's start-up)",
        log_x=True,
        log_y=True,
        dashed=floors,
    )


def checkin_chart(document: dict[str, Any]) -> Drawing:
    series: Series = {}
    for record in document["points"]:
        names = {"web": "web", "api": "API", "floor": "API floor (bare psycopg)"}
        kind = names.get(str(record["mode"]), str(record["mode"]))
        # p50 and p95 only: with the floor beside the two modes, p99 would crowd the chart.
        for share in ("p50", "p95"):
            series.setdefault(f"{kind} {share}", []).append(
                (float(record["rate"]), float(record[f"{share}_ms"]))
            )
    return line_chart(
        series,
        title="Check-in latency against the arrival rate (open loop, PostgreSQL)",
        x_label="arrivals per second",
        y_label="milliseconds from the scheduled start (log scale)",
        log_y=True,
        dashed=[name for name in series if name.endswith("p50")],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    drawn = 0
    for name, chart in (("import", import_chart), ("checkin_load", checkin_chart)):
        source = args.results / f"{name}.json"
        if not source.exists():
            print(f"no {source}: run its bench first", file=sys.stderr)
            continue
        target = args.out / f"perf-{name.split('_')[0]}.png"
        write_png(chart(json.loads(source.read_text())), target)
        print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
        drawn += 1
    if not drawn:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
