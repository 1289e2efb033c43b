"""When PostgreSQL is not there: a polite 503, never a 500, and nothing half-done left behind.

Three ways for the database to go away:

- it was never there: the app points at 127.0.0.1:1, where nothing listens (in process, and
  through gunicorn, which is what a browser sees);
- it drops the desk's connection in the middle of a check-in confirm: a hook inside the request
  runs `pg_terminate_backend` on the request's own backend from another connection, after the
  certificate's conditional UPDATE, after the inclusion's INSERT, or just before COMMIT;
- it drops the connection and stays away for the rest of the request (new connections refused).

After each, the database must hold no inclusion without a used certificate and no used
certificate without an inclusion, and the clerk's retry of the same confirm must work.

Run:

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kuelik_h5 \\
        .venv/bin/pytest tests/races/test_database_unreachable.py
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.orm import Session

import services.cases
import services.voting_day
import views.checkin
from app import create_app
from models import (
    Certificate,
    CertificateCase,
    FormSubmission,
    Inclusion,
    SupplementaryList,
    db,
)
from services.clock import FixedClock
from services.passwords import hash_password
from tests.conftest import truncate_all
from tests.races.checkin_support import (
    PASSWORD,
    SERVER_SECRET_KEY,
    VOTING_MORNING,
    CheckinWorld,
    Desk,
    Issued,
    Page,
    WebClient,
    build_checkin_world,
    gunicorn_server,
    hidden_fields,
    issue_certificates,
)
from workflow.states import CaseState, CertificateState

pytestmark = pytest.mark.postgres

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/kuelik_h5"
NOT_ANSWERING = "The database is not answering"
NOTHING_SAVED = "Nothing was saved"
_HASH = hash_password(PASSWORD)
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# --------------------------------------------------------------------------------------------
# Apps and clients
# --------------------------------------------------------------------------------------------


def make_app(database_url: str) -> Flask:
    """As in production: not TESTING, so errors go through the app's own handlers."""
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": SERVER_SECRET_KEY,
            "KUELIK_CLOCK_START": FixedClock(VOTING_MORNING),
        }
    )


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    text: str

    @property
    def title(self) -> str:
        match = re.search(r"<h1[^>]*>(.*?)</h1>", self.text, re.S)
        return match.group(1).strip() if match else self.text[:200]


def ask(client: FlaskClient, method: str, path: str, data: dict[str, str] | None = None) -> Answer:
    """One request; an exception that escapes every handler is what gunicorn turns into its own
    bare "500 Internal Server Error", so it is reported as that.
    """
    try:
        response = client.open(path, method=method, data=data, follow_redirects=True)
    except Exception as error:
        return Answer(500, f"escaped the app: {error!r}")
    return Answer(response.status_code, response.get_data(as_text=True))


def token(answer: Answer) -> str:
    match = _CSRF.search(answer.text)
    if match is None:
        pytest.fail(f"no CSRF token: {answer.status} {answer.title!r}")
    return match.group(1)


def signed_in_client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("kuelik_lang", "en")
    page = ask(client, "GET", "/login")
    done = ask(
        client,
        "POST",
        "/login",
        {"username": username, "password": PASSWORD, "csrf_token": token(page)},
    )
    if done.status != 200 or "Voting-day check-in" not in done.text:
        pytest.fail(f"{username} did not sign in: {done.status} {done.title!r}")
    return client


def cookies_of(client: FlaskClient) -> dict[str, str]:
    names = ("session", "kuelik_lang")
    found = {name: client.get_cookie(name) for name in names}
    return {name: cookie.value for name, cookie in found.items() if cookie is not None}


@dataclass(frozen=True, slots=True)
class Scene:
    app: Flask
    engine: Engine
    world: CheckinWorld
    desk: Desk
    certificates: list[Issued]


@pytest.fixture
def scene(postgres_database: str) -> Iterator[Scene]:
    """The suite's database, emptied; the check-in world with passwords; three certificates."""
    truncate_all(postgres_database)
    engine = create_engine(postgres_database)
    with Session(engine) as setup:
        world = build_checkin_world(setup, password_hash=_HASH, stock=10)
        certificates = issue_certificates(setup, world, 3)
    app = make_app(postgres_database)
    yield Scene(app, engine, world, world.desks[0], certificates)
    with app.app_context():
        db.engine.dispose()
    engine.dispose()


def half_done(engine: Engine) -> list[str]:
    """Everything that would betray a transaction cut in half."""
    problems: list[str] = []
    with Session(engine) as session:
        used_without = session.scalars(
            select(Certificate.serial)
            .outerjoin(Inclusion, Inclusion.certificate_id == Certificate.id)
            .where(Certificate._state == CertificateState.USED, Inclusion.id.is_(None))
        ).all()
        included_unused = session.scalars(
            select(Certificate.serial)
            .join(Inclusion, Inclusion.certificate_id == Certificate.id)
            .where(Certificate._state != CertificateState.USED)
        ).all()
        case_mismatch = session.scalars(
            select(Certificate.serial)
            .join(CertificateCase, CertificateCase.id == Certificate.case_id)
            .where(
                (CertificateCase._state == CaseState.INCLUDED)
                != (Certificate._state == CertificateState.USED)
            )
        ).all()
        lines = dict(
            session.execute(
                select(Inclusion.precinct_id, func.count()).group_by(Inclusion.precinct_id)
            ).all()
        )
        counters = dict(
            session.execute(
                select(SupplementaryList.precinct_id, SupplementaryList.last_line)
            ).all()
        )
    if used_without:
        problems.append(f"used certificates without an inclusion: {used_without}")
    if included_unused:
        problems.append(f"inclusions of certificates that are not used: {included_unused}")
    if case_mismatch:
        problems.append(f"case and certificate disagree: {case_mismatch}")
    for precinct_id, last_line in counters.items():
        if last_line != lines.get(precinct_id, 0):
            problems.append(f"precinct {precinct_id}: counter {last_line}, lines {lines}")
    return problems


# --------------------------------------------------------------------------------------------
# Never there
# --------------------------------------------------------------------------------------------


def test_sign_in_with_the_database_unreachable_answers_503() -> None:
    app = make_app(UNREACHABLE)
    client = app.test_client()
    client.set_cookie("kuelik_lang", "en")
    page = ask(client, "GET", "/login")
    assert page.status == 200  # the form itself needs no database
    answer = ask(
        client,
        "POST",
        "/login",
        {"username": "checkin_301_0", "password": PASSWORD, "csrf_token": token(page)},
    )
    assert answer.status == 503, answer.title
    assert NOT_ANSWERING in answer.text
    assert NOTHING_SAVED in answer.text


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/checkin/"), ("POST", "/checkin/"), ("GET", "/")]
)
def test_signed_in_request_with_the_database_unreachable_answers_503(
    scene: Scene, method: str, path: str
) -> None:
    """Signed in while the database was there; the next request finds it gone."""
    live = signed_in_client(scene.app, scene.desk.username)
    form = token(ask(live, "GET", "/checkin/"))
    down = make_app(UNREACHABLE).test_client()
    for name, value in cookies_of(live).items():
        down.set_cookie(name, value)
    data = {"csrf_token": form, "scan": scene.certificates[0].typed} if method == "POST" else None
    answer = ask(down, method, path, data)
    assert answer.status == 503, f"{answer.status}: {answer.title}"
    assert NOT_ANSWERING in answer.text


def test_signed_in_page_through_gunicorn_with_the_database_unreachable_answers_503(
    scene: Scene, tmp_path: Path
) -> None:
    """What the browser sees: gunicorn with its database on a port where nothing listens."""
    live = signed_in_client(scene.app, scene.desk.username)
    cookie = "; ".join(f"{name}={value}" for name, value in cookies_of(live).items())
    with gunicorn_server(
        database_url=UNREACHABLE.replace("+psycopg", ""),
        instance_path=tmp_path / "instance",
        workers=2,
    ) as server:
        client = WebClient(server.base_url)
        if client.get("/login").status != 200:
            pytest.fail("the sign-in page needs no database, yet it failed")
        page = client.get("/checkin/", headers={"Cookie": cookie})
        log = server.log_tail()
    assert page.status == 503, f"{page.status}: {page.title!r}\n{log}"
    assert NOT_ANSWERING in page.text


# --------------------------------------------------------------------------------------------
# Gone in the middle of a confirm
# --------------------------------------------------------------------------------------------


class Terminator:
    """Ends the current request's PostgreSQL backend from another connection, once."""

    def __init__(self, admin: Engine) -> None:
        self.admin = admin
        self.fired = 0
        self.ended = False

    def __call__(self) -> None:
        if self.fired:
            return
        self.fired += 1
        pid = db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with self.admin.connect() as connection:
            # Waits (up to 5 s) until the backend is gone, so the next statement surely fails.
            ended = connection.execute(
                text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}
            ).scalar_one()
        self.ended = bool(ended)


def after(original: Callable[..., Any], hook: Callable[[], None]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        hook()
        return result

    return wrapper


def before(original: Callable[..., Any], hook: Callable[[], None]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        hook()
        return original(*args, **kwargs)

    return wrapper


# Where the connection dies: (module, attribute, kill after the call or before it).
KILL_POINTS = {
    # The certificate's conditional UPDATE has run; the inclusion is not written yet.
    "after the certificate UPDATE": (services.voting_day, "close_certificate", after),
    # present_certificate has flushed the inclusion; the view has not finished its form key.
    "after the inclusion INSERT": (views.checkin, "finish_form_key", before),
    # Everything is flushed; the view is about to COMMIT.
    "at COMMIT": (views.checkin, "commit_or_replay", before),
}


def _preview(client: FlaskClient, issued: Issued) -> Answer:
    screen = ask(client, "GET", "/checkin/")
    look = ask(client, "POST", "/checkin/", {"csrf_token": token(screen), "scan": issued.typed})
    if "Confirm: include" not in look.text:
        pytest.fail(f"no preview: {look.status} {look.title!r}")
    return look


def hidden_fields_of(answer: Answer) -> dict[str, str]:
    return hidden_fields(Page(answer.status, "", answer.text))


def _confirm(client: FlaskClient, look: Answer) -> Answer:
    fields = hidden_fields_of(look)
    return ask(client, "POST", "/checkin/confirm", {"csrf_token": token(look), **fields})


def _state(engine: Engine, issued: Issued, form_key: str) -> tuple[str, int, bool]:
    with Session(engine) as session:
        state = session.scalar(
            select(Certificate._state).where(Certificate.id == issued.certificate_id)
        )
        inclusions = session.scalar(
            select(func.count()).where(Inclusion.certificate_id == issued.certificate_id)
        )
        key_kept = session.get(FormSubmission, form_key) is not None
    return str(state), int(inclusions or 0), key_kept


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_connection_killed_mid_confirm_answers_503_and_keeps_nothing(
    scene: Scene, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    module, name, placement = KILL_POINTS[point]
    terminator = Terminator(scene.engine)
    monkeypatch.setattr(module, name, placement(getattr(module, name), terminator))
    issued = scene.certificates[0]
    client = signed_in_client(scene.app, scene.desk.username)
    look = _preview(client, issued)
    form_key = hidden_fields_of(look)["form_key"]

    cut = _confirm(client, look)

    assert terminator.fired == 1
    assert terminator.ended, "the backend did not end"
    assert cut.status == 503, f"{cut.status}: {cut.title}"
    assert NOT_ANSWERING in cut.text
    assert _state(scene.engine, issued, form_key) == ("issued", 0, False)
    assert not half_done(scene.engine)
    # The clerk presses the same button again (same form key): it works, once.
    again = _confirm(client, look)
    assert "Included on line 1 " in again.text, f"{again.status}: {again.title}"
    assert _state(scene.engine, issued, form_key) == ("used", 1, True)
    assert not half_done(scene.engine)
    # And the next voter at the desk is served on the next line.
    nxt = _confirm(client, _preview(client, scene.certificates[1]))
    assert "Included on line 2 " in nxt.text, f"{nxt.status}: {nxt.title}"
    assert not half_done(scene.engine)


class Blackout:
    """From the moment it fires until `lift`, the app's engine can open no connection: the
    server went down, not just the one backend.
    """

    def __init__(self, terminator: Terminator) -> None:
        self.terminator = terminator
        self.down = False

    def __call__(self) -> None:
        self.down = True
        self.terminator()

    def refuse(self, *args: Any) -> None:
        if self.down:
            raise psycopg.OperationalError("connection refused: the server is down (test)")

    def lift(self) -> None:
        self.down = False


def test_database_gone_for_the_rest_of_the_confirm_answers_503(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    blackout = Blackout(Terminator(scene.engine))
    monkeypatch.setattr(
        services.voting_day,
        "close_certificate",
        after(services.cases.close_certificate, blackout),
    )
    with scene.app.app_context():
        app_engine = db.engine
    event.listen(app_engine, "do_connect", blackout.refuse)
    try:
        issued = scene.certificates[0]
        client = signed_in_client(scene.app, scene.desk.username)
        look = _preview(client, issued)
        cut = _confirm(client, look)
        blackout.lift()
        # Not the known bug: hard failures even under xfail (pytest.fail is no AssertionError).
        if not blackout.terminator.ended:
            pytest.fail("the backend was not terminated")
        state = _state(scene.engine, issued, hidden_fields_of(look)["form_key"])
        problems = half_done(scene.engine)
        if problems or state != ("issued", 0, False):
            pytest.fail(f"half-done after the blackout: {problems}, {state}")
        assert cut.status == 503, f"{cut.status}: {cut.title}"
        assert NOT_ANSWERING in cut.text
    finally:
        blackout.lift()
        event.remove(app_engine, "do_connect", blackout.refuse)
