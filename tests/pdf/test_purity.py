"""`pdf` stays free of the web and the database: importing it loads no Flask or SQLAlchemy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "sqlalchemy", "wtforms", "models", "services", "seal")

PROBE = """
import json, pkgutil, importlib, sys
{preload}
import pdf
for info in pkgutil.walk_packages(pdf.__path__, prefix="pdf."):
    importlib.import_module(info.name)
print(json.dumps(sorted(m for m in {forbidden!r} if m in sys.modules)))
"""


def loaded_forbidden(preload: str = "") -> list[str]:
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", PROBE.format(preload=preload, forbidden=FORBIDDEN)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found: list[str] = json.loads(result.stdout)
    return found


def test_importing_pdf_loads_no_flask_sqlalchemy_or_seal() -> None:
    assert loaded_forbidden() == []


def test_probe_detects_a_forbidden_import() -> None:
    assert "sqlalchemy" in loaded_forbidden(preload="import sqlalchemy")
