"""`workflow` stays pure: importing all of it in a fresh interpreter loads no web or SQL library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "sqlalchemy", "wtforms", "flask_sqlalchemy")
EXPECTED_MODULES = {
    "workflow",
    "workflow.calendar",
    "workflow.errors",
    "workflow.iin",
    "workflow.locality",
    "workflow.machine",
    "workflow.numbers",
    "workflow.rules",
    "workflow.states",
}

PROBE = """
import importlib, json, pkgutil, sys
{preload}
import workflow
names = ["workflow"] + [
    info.name for info in pkgutil.walk_packages(workflow.__path__, prefix="workflow.")
]
for name in names:
    importlib.import_module(name)
print(json.dumps({{
    "imported": names,
    "forbidden": sorted(m for m in {forbidden!r} if m in sys.modules),
}}))
"""


def run_probe(preload: str = "") -> dict[str, list[str]]:
    code = PROBE.format(preload=preload, forbidden=FORBIDDEN)
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, list[str]] = json.loads(result.stdout)
    return report


def test_importing_every_workflow_module_loads_no_flask_or_sqlalchemy() -> None:
    report = run_probe()
    assert set(report["imported"]) >= EXPECTED_MODULES
    assert report["forbidden"] == []


def test_probe_detects_a_forbidden_import() -> None:
    # Negative control: the same probe, with Flask imported first, must notice it.
    report = run_probe(preload="import flask")
    assert "flask" in report["forbidden"]
