"""Web fixtures: a world whose users can sign in, and a client that signs them in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app
from models import db
from services.clock import FixedClock
from services.passwords import hash_password
from tests.factories import World, make_voter, make_world

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)


@pytest.fixture
def app(database_url: str, clock: FixedClock) -> Iterator[Flask]:
    """Like the root fixture, but with no app context held open: each request gets its own `g`,
    as in production (a shared `g` would, for one, keep a stale CSRF token across sign-ins).
    """
    application = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "KUELIK_CLOCK_START": clock,
        }
    )
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A plain session on the app's engine, for arranging and checking data around requests."""
    with app.app_context():
        engine = db.engine.execution_options(kuelik_deferred_begin=True)
    with Session(engine) as plain:
        yield plain


@pytest.fixture
def world(session: Session) -> World:
    built = make_world(session)
    for user in built.users.values():
        user.password_hash = _HASH
    make_voter(session, built, built.almaty_almaly, surname="Сәрсенбаев", given_name="Ерлан")
    make_voter(session, built, built.oral_precinct, surname="Петров", given_name="Иван")
    session.commit()
    return built


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def form_key(html: str) -> str:
    match = re.search(r'id="form_key" name="form_key" type="hidden" value="([^"]+)"', html)
    assert match, "no form key on the page"
    return match.group(1)


SignIn = Callable[[str], FlaskClient]

# The 2022 referendum of make_world as its edit screen posts it (a correction adds a reason).
ELECTION_2022_FORM: dict[str, str] = {
    "code": "ref2022",
    "kind": "referendum",
    "number_series": "",
    "name_kk": "Референдум",
    "name_ru": "Референдум",
    "name_en": "Referendum",
    "voting_day": "2022-06-05",
    "issue_opens_on": "2022-05-20",
    "issue_opens_at": "00:00",
    "issue_deadline_on": "2022-06-04",
    "issue_deadline_at": "18:00",
    "voting_opens_at": "07:00",
    "voting_closes_at": "20:00",
    "proxy_warning_threshold": "3",
}


@pytest.fixture
def sign_in(app: Flask, world: World) -> SignIn:
    def do(username: str) -> FlaskClient:
        client = app.test_client()
        client.set_cookie("kuelik_lang", "en")  # assertions below read English text
        page = client.get("/login").get_data(as_text=True)
        response = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(page)},
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return do
