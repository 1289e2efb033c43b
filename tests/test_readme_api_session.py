"""The README's curl session runs as printed, against `gunicorn` on a fresh demo database.

A newcomer pastes it after `make run`; if the API or the demo drifts from what the README says,
this fails. Both blocks run in bash with curl, the second after a restart on voting day.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.races.checkin_support import gunicorn_server

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None, reason="needs bash and curl"
)


def _sessions() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("A session to paste after `make run`")
    blocks = re.findall(r"```sh\n(.*?)```", text[start:], re.DOTALL)
    assert len(blocks) >= 2, "the README lost its API session"
    return blocks[:2]


def _run(script: str, env: dict[str, str], cwd: Path) -> str:
    completed = subprocess.run(  # noqa: S603 - bash with the README's own lines
        ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607 - bash from PATH
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def fresh_demo(tmp_path: Path, *seed_options: str) -> tuple[Path, str, dict[str, str]]:
    """A demo database made as `make run` makes it: its instance folder, URL and shell env."""
    instance = tmp_path / "instance"
    instance.mkdir()
    database_url = f"sqlite:///{tmp_path / 'kuelik.db'}"
    env = {
        key: value
        for key, value in os.environ.items()
        # As in a newcomer's shell: Flask finds app.py by itself.
        if key not in {"DATABASE_URL", "KUELIK_PRODUCTION", "KUELIK_CLOCK_START", "FLASK_APP"}
    }
    env.update(
        DATABASE_URL=database_url,
        KUELIK_INSTANCE_PATH=str(instance),
        PYTHONPATH=str(ROOT),
    )
    for command in (["db", "upgrade"], ["seed-demo", *seed_options]):
        subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "-m", "flask", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    return instance, database_url, env


def test_the_readme_curl_session_works_on_a_fresh_demo(tmp_path: Path) -> None:
    instance, database_url, env = fresh_demo(tmp_path)
    flask = f"{sys.executable} -m flask"
    first, second = (
        block.replace(".venv/bin/flask", f"cd {ROOT} && {flask}") for block in _sessions()
    )

    with gunicorn_server(
        database_url=database_url,
        instance_path=instance,
        workers=2,
        clock_start="2022-05-25T10:00:00+06:00",
    ) as server:
        script = first.replace("http://127.0.0.1:5000", server.base_url)
        out = _run(script + '\necho "NUMBER=$NUMBER CODE=$CODE"\n', env, tmp_path)
    assert '"username":"clerk"' in out
    assert '"state":"issued"' in out
    assert "Idempotent-Replayed: true" in out
    assert '"code":"already_issued"' in out
    assert "бұрыннан бар" in out, "the refusal is explained in Kazakh"
    assert '"status":"valid"' in out
    assert (tmp_path / "certificate.pdf").read_bytes().startswith(b"%PDF")
    number, code = re.findall(r"NUMBER=(\S+) CODE=(\S+)", out)[-1]

    with gunicorn_server(
        database_url=database_url,
        instance_path=instance,
        workers=2,
        clock_start="2022-06-05T09:00:00+05:00",
    ) as server:
        script = f"API={server.base_url}/api/v1\nNUMBER={number}\nCODE={code}\n" + second
        out = _run(script, env, tmp_path)
    assert '"outcome":"included"' in out
    assert '"code":"already_used"' in out
