"""SQL statements per check-in: a bound on each step, so repeated look-ups do not creep back.

Check-in is the hottest path on voting day; every round trip to the database is paid at every
desk of the country. The bounds are what the code reaches now (before the cuts of issue 11 the
web took 18 + 20 + 7 and the API 17 + 22; then 7 + 13 + 5 and 9 + 13, until a look read the
case with its certificate, a desk with one election stopped reading the election's clocks, and
an API desk placed once read its election with its precinct):
raise one only with a reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from models import db
from services.clock import FixedClock
from services.tokens import create_token
from tests.factories import World
from tests.views.conftest import SignIn, csrf_token
from tests.views.test_checkin_flow import VOTING_MORNING, _issued

# Scan (the preview), confirm (the inclusion), and the "Included on line" page it redirects to.
WEB_SCAN_MAX = 4
WEB_CONFIRM_MAX = 11
WEB_DONE_MAX = 4
# POST /api/v1/checkin/preview, then POST /api/v1/checkin.
API_PREVIEW_MAX = 6
API_CHECKIN_MAX = 11


class Statements:
    """The statements sent while counting, with a readable summary for a failing bound."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __len__(self) -> int:
        return len(self.sent)

    def summary(self) -> str:
        kinds = Counter(
            re.sub(r"\s+", " ", statement)[:60] for statement in self.sent if statement.strip()
        )
        return "\n".join(f"{count:3d} x {text}" for text, count in kinds.most_common())


@contextmanager
def counting(app: Flask) -> Iterator[Statements]:
    with app.app_context():
        engine = db.engine
    seen = Statements()

    def record(*args: Any) -> None:
        # SQLite's BEGIN IMMEDIATE is sent as a statement, PostgreSQL's BEGIN is not: the
        # bounds count the same work on both.
        if not str(args[2]).startswith("BEGIN"):
            seen.sent.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'id="(scan|form_key)" name="\1" type="hidden" value="([^"]*)"', page))


def test_a_web_checkin_takes_a_bounded_number_of_statements(
    app: Flask, sign_in: SignIn, world: World, session: Session, clock: FixedClock
) -> None:
    _certificate_id, number, code = _issued(session, world)
    clock.instant = VOTING_MORNING
    client = sign_in("checkin_oral")
    screen = client.get("/checkin/").get_data(as_text=True)
    with counting(app) as scan:
        look = client.post(
            "/checkin/", data={"csrf_token": csrf_token(screen), "scan": f"{number} {code}"}
        )
    assert "Confirm: include" in look.get_data(as_text=True)
    page = look.get_data(as_text=True)
    with counting(app) as confirm:
        taken = client.post(
            "/checkin/confirm", data={"csrf_token": csrf_token(page), **_hidden(page)}
        )
    assert taken.status_code == 302
    with counting(app) as done:
        result = client.get(taken.headers["Location"])
    assert "Included on line 1" in result.get_data(as_text=True)
    assert len(scan) <= WEB_SCAN_MAX, scan.summary()
    assert len(confirm) <= WEB_CONFIRM_MAX, confirm.summary()
    assert len(done) <= WEB_DONE_MAX, done.summary()


def test_an_api_checkin_takes_a_bounded_number_of_statements(
    app: Flask, world: World, session: Session, clock: FixedClock
) -> None:
    _certificate_id, number, code = _issued(session, world)
    secret = create_token(
        session,
        world.actor("checkin_oral"),
        owner_id=world.users["checkin_oral"].id,
        name="tests",
        now=datetime(2022, 5, 1, tzinfo=UTC),
    ).secret
    session.commit()
    clock.instant = VOTING_MORNING
    client = app.test_client()
    body = {"number": number, "verification_code": code}

    def headers(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}", "Idempotency-Key": key}

    # The first request of a token stamps its use: not what every check-in pays.
    assert client.get("/api/v1/me", headers=headers("warm")).status_code == 200
    with counting(app) as preview:
        looked = client.post("/api/v1/checkin/preview", json=body, headers=headers("p"))
    assert looked.status_code == 200, looked.get_json()
    with counting(app) as checkin:
        taken = client.post("/api/v1/checkin", json=body, headers=headers("c"))
    assert taken.status_code == 201, taken.get_json()
    assert taken.get_json()["line_number"] == 1
    assert len(preview) <= API_PREVIEW_MAX, preview.summary()
    assert len(checkin) <= API_CHECKIN_MAX, checkin.summary()
