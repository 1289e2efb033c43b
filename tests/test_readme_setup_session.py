"""The README's election-setup session runs as printed, against `gunicorn` on the demo database.

An administrator pastes it after `make run` to set up a new election from nothing over the API:
the election, a refused calendar mistake, precincts and voters imported, a clerk and a token,
the stock; then, restarted inside the new election's window, the clerk issues a certificate.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.races.checkin_support import gunicorn_server
from tests.test_readme_api_session import (  # noqa: F401 - pytestmark applies here too
    README,
    ROOT,
    _run,
    fresh_demo,
    pytestmark,
)


def _blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("**And over the API**")
    blocks = re.findall(r"```sh\n(.*?)```", text[start:], re.DOTALL)
    assert len(blocks) >= 2, "the README lost its election-setup session"
    return blocks[:2]


def test_the_readme_setup_session_builds_an_election_that_issues(tmp_path: Path) -> None:
    instance, database_url, env = fresh_demo(tmp_path, "--voters", "200")
    flask = f"{sys.executable} -m flask"
    setup, issue = (
        block.replace(".venv/bin/flask", f"cd {ROOT} && {flask}") for block in _blocks()
    )
    with gunicorn_server(
        database_url=database_url,
        instance_path=instance,
        workers=2,
        clock_start="2022-05-25T10:00:00+06:00",
    ) as server:
        script = setup.replace("http://127.0.0.1:5000", server.base_url)
        out = _run(script + '\necho "E=$E"\n', env, tmp_path)
    assert '"code":"invalid_election"' in out
    assert '"field":"issue_deadline_on"' in out
    assert '{"ranges":2,"first":1,"last":1000}' in out
    assert '"code":"by2027"' in out
    assert '"number_series":"2703"' in out
    assert '"phase":"preparing"' in out
    assert '"username":"clerk_astana_7"' in out
    election = re.findall(r"E=(\S+)", out)[-1]

    with gunicorn_server(
        database_url=database_url,
        instance_path=instance,
        workers=2,
        clock_start="2027-03-10T10:00:00+05:00",
    ) as server:
        prelude = (
            f"API={server.base_url}/api/v1\nE={election}\n"
            'J=(-H "Content-Type: application/json")\n'
            'pick() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }\n'
        )
        out = _run(prelude + issue, env, tmp_path)
    assert '"state":"issued"' in out
    assert '"number":"2703-00000501-8"' in out
