"""`seal` stays pure: importing it loads no web, SQL or PDF library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "sqlalchemy", "wtforms", "reportlab", "models", "services")

PROBE = """
import json, sys
{preload}
import seal, seal.codec, seal.errors, seal.keys, seal.payload
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


def test_importing_seal_loads_no_flask_sqlalchemy_or_reportlab() -> None:
    assert loaded_forbidden() == []


def test_probe_detects_a_forbidden_import() -> None:
    # Negative control: the same probe, with Flask imported first, must notice it.
    assert "flask" in loaded_forbidden(preload="import flask")
