"""Sign-in, sessions that end on the server side, throttling, and audit of it all."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, User
from services.clock import FixedClock
from tests.factories import World
from tests.views.conftest import PASSWORD, SignIn, csrf_token


def _events(session: Session, event: str) -> list[AuditEvent]:
    session.rollback()
    rows = list(session.scalars(select(AuditEvent).where(AuditEvent.event == event)))
    session.rollback()
    return rows


def test_a_captured_cookie_does_not_survive_logout(app: Flask, sign_in: SignIn) -> None:
    client = sign_in("clerk_almaly")
    cookie = client.get_cookie("session")
    assert cookie is not None
    page = client.get("/desk/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token(page)}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    response = thief.get("/desk/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_deactivation_and_moves_take_effect_on_the_next_request(
    sign_in: SignIn, world: World, session: Session
) -> None:
    client = sign_in("clerk_almaly")
    assert client.get("/desk/").status_code == 200
    user = session.scalar(select(User).where(User.username == "clerk_almaly"))
    assert user is not None
    user.active = False
    session.commit()
    assert client.get("/desk/").status_code == 302


def test_idle_timeout_and_absolute_limit(sign_in: SignIn, clock: FixedClock) -> None:
    client = sign_in("clerk_almaly")
    clock.advance(timedelta(minutes=29))
    assert client.get("/desk/").status_code == 200
    clock.advance(timedelta(minutes=31))
    assert client.get("/desk/").status_code == 302
    client = sign_in("clerk_almaly")
    for _ in range(25):  # active all along, every 29 minutes, past 12 hours in all
        clock.advance(timedelta(minutes=29))
        last = client.get("/desk/")
    assert last.status_code == 302


def test_wrong_passwords_are_throttled_and_audited(
    app: Flask, world: World, session: Session
) -> None:
    client = app.test_client()
    client.set_cookie("kuelik_lang", "en")
    for _ in range(5):
        page = client.get("/login").get_data(as_text=True)
        client.post(
            "/login",
            data={"username": "clerk_almaly", "password": "wrong", "csrf_token": csrf_token(page)},
        )
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"username": "clerk_almaly", "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 200  # even the right password waits out the lockout
    assert "Too many failed attempts" in response.get_data(as_text=True)
    codes = [event.code for event in _events(session, "sign_in")]
    assert codes.count("bad_credentials") == 5
    assert codes[-1] == "throttled"
    # No username or password in clear in the trail.
    assert all("clerk_almaly" not in str(event.payload) for event in _events(session, "sign_in"))


def test_password_change_ends_other_sessions(app: Flask, sign_in: SignIn) -> None:
    first = sign_in("clerk_almaly")
    second = sign_in("clerk_almaly")
    page = first.get("/password").get_data(as_text=True)
    response = first.post(
        "/password",
        data={
            "csrf_token": csrf_token(page),
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm_password": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert second.get("/desk/").status_code == 302


def test_out_of_scope_request_is_not_found_and_audited(
    sign_in: SignIn, world: World, session: Session
) -> None:
    client = sign_in("checkin_oral")
    assert client.get("/admin/users").status_code == 404
    refused = _events(session, "access_refused")
    assert len(refused) == 1
    assert refused[0].actor_role == "checkin"
