"""Pure packages stay pure: imported whole in a fresh interpreter, none loads what it must not.

`workflow` holds the rules (no web, no SQL), `pdf` renders documents (no web, no SQL, no keys),
`seal` signs and checks QR payloads (no web, no SQL, no PDF library) and `maps` is the shipped
reference data of regions (nothing but the standard library).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
WEB_AND_SQL = ("flask", "flask_sqlalchemy", "sqlalchemy", "wtforms", "models", "services")
FORBIDDEN = {
    "workflow": (*WEB_AND_SQL, "reportlab", "seal", "pdf"),
    "pdf": (*WEB_AND_SQL, "seal"),
    "seal": (*WEB_AND_SQL, "reportlab", "pdf"),
    "maps": (*WEB_AND_SQL, "reportlab", "pdf", "seal", "workflow", "cryptography"),
}

PROBE = """
import importlib, json, pkgutil, sys
{preload}
package = importlib.import_module({package!r})
names = [{package!r}] + [
    info.name for info in pkgutil.walk_packages(package.__path__, prefix={package!r} + ".")
]
for name in names:
    importlib.import_module(name)
print(json.dumps({{
    "imported": names,
    "forbidden": sorted(m for m in {forbidden!r} if m in sys.modules),
}}))
"""


def run_probe(package: str, preload: str = "") -> dict[str, list[str]]:
    code = PROBE.format(preload=preload, package=package, forbidden=FORBIDDEN[package])
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


@pytest.mark.parametrize("package", list(FORBIDDEN))
def test_importing_the_whole_package_loads_nothing_forbidden(package: str) -> None:
    report = run_probe(package)
    # `maps` is one module; the others have several, which the probe must have walked.
    least = 1 if package == "maps" else 3
    assert len(report["imported"]) >= least, "the probe must walk the package's modules"
    assert report["forbidden"] == []


@pytest.mark.parametrize("package", list(FORBIDDEN))
def test_probe_detects_a_forbidden_import(package: str) -> None:
    # Negative control: with Flask imported first, the same probe must notice it.
    assert "flask" in run_probe(package, preload="import flask")["forbidden"]
