"""`flask create-user`: role and placement checked first, the password never on the command line."""

from __future__ import annotations

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Role, User
from services.passwords import verify_password
from tests.factories import World, make_world

PASSWORD = "Kuelik-2022-desk"


@pytest.fixture
def world(session: Session) -> World:
    built = make_world(session)
    session.commit()
    return built


def create(app: Flask, *args: str, password_input: str | None = PASSWORD + "\n") -> Result:
    return app.test_cli_runner().invoke(args=["create-user", *args], input=password_input)


def user_named(session: Session, username: str) -> User | None:
    session.expire_all()
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def user_count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_a_clerk_is_created_at_the_named_precinct_with_a_password_from_stdin(
    app: Flask, session: Session, world: World
) -> None:
    result = create(
        app,
        "aigul",
        "--role",
        "clerk",
        "--full-name",
        "Айгүл Сейітова",
        "--precinct-region",
        "270000000",
        "--precinct-number",
        "301",
        "--password-stdin",
    )

    assert result.exit_code == 0, result.output
    assert "Created user 'aigul' (clerk) at precinct 301" in result.output
    assert PASSWORD not in result.output
    user = user_named(session, "aigul")
    assert user is not None
    assert user.role is Role.CLERK
    assert user.precinct_id == world.oral_precinct.id
    assert user.full_name == "Айгүл Сейітова"
    assert user.territorial_commission_id is None
    assert user.password_hash.startswith("scrypt:65536:8:1$")
    assert verify_password(user.password_hash, PASSWORD)
    event = session.scalars(select(AuditEvent).where(AuditEvent.event == "user_created")).one()
    assert event.payload["user_id"] == user.id
    assert PASSWORD not in str(event.payload)


def test_the_password_is_asked_twice_with_hidden_input(
    app: Flask, session: Session, world: World
) -> None:
    result = create(
        app,
        "observer1",
        "--role",
        "observer",
        "--full-name",
        "Виктор Ким",
        password_input=f"{PASSWORD}\n{PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    assert "Password:" in result.output
    assert "Repeat for confirmation:" in result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    user = user_named(session, "observer1")
    assert user is not None
    assert user.role is Role.OBSERVER
    assert verify_password(user.password_hash, PASSWORD)


def test_a_territorial_account_belongs_to_the_given_commission(
    app: Flask, session: Session, world: World
) -> None:
    commission_id = world.oral_precinct.territorial_commission_id
    result = create(
        app,
        "tk-oral",
        "--role",
        "territorial",
        "--full-name",
        "Ержан Омаров",
        "--territorial-commission-id",
        str(commission_id),
        "--password-stdin",
    )

    assert result.exit_code == 0, result.output
    user = user_named(session, "tk-oral")
    assert user is not None
    assert user.territorial_commission_id == commission_id
    assert user.precinct_id is None


def test_mismatched_password_confirmation_creates_nobody(
    app: Flask, session: Session, world: World
) -> None:
    before = user_count(session)
    result = create(
        app,
        "admin2",
        "--role",
        "admin",
        "--full-name",
        "Second Admin",
        password_input=f"{PASSWORD}\n{PASSWORD}x\n",
    )
    assert result.exit_code != 0
    assert user_count(session) == before


PLACEMENT_ERRORS = [
    pytest.param(
        ["--role", "clerk"],
        2,
        "A clerk account works at a precinct",
        id="clerk-without-precinct",
    ),
    pytest.param(
        ["--role", "checkin", "--precinct-region", "270000000"],
        2,
        "--precinct-number N",
        id="checkin-without-number",
    ),
    pytest.param(
        ["--role", "admin", "--precinct-region", "270000000", "--precinct-number", "301"],
        2,
        "Only clerk and checkin accounts work at a precinct",
        id="admin-with-precinct",
    ),
    pytest.param(
        ["--role", "territorial"],
        2,
        "give --territorial-commission-id",
        id="territorial-without-commission",
    ),
    pytest.param(
        ["--role", "observer", "--territorial-commission-id", "1"],
        2,
        "Only territorial accounts belong to a commission",
        id="observer-with-commission",
    ),
    pytest.param(
        [
            "--role",
            "clerk",
            "--precinct-region",
            "270000000",
            "--precinct-number",
            "301",
            "--territorial-commission-id",
            "1",
        ],
        2,
        "belongs to a precinct, not to a territorial commission",
        id="clerk-with-commission",
    ),
    pytest.param(
        ["--role", "clerk", "--precinct-region", "990000000", "--precinct-number", "301"],
        1,
        "No region has the KATO code '990000000'",
        id="unknown-region",
    ),
    pytest.param(
        ["--role", "clerk", "--precinct-region", "270000000", "--precinct-number", "999"],
        1,
        "No precinct 999 in region 270000000",
        id="unknown-precinct",
    ),
    pytest.param(
        ["--role", "territorial", "--territorial-commission-id", "9999"],
        1,
        "No territorial commission has the id 9999",
        id="unknown-commission",
    ),
    pytest.param(
        ["--role", "superuser"],
        2,
        "'superuser' is not one of",
        id="unknown-role",
    ),
]


@pytest.mark.parametrize(("options", "exit_code", "message"), PLACEMENT_ERRORS)
def test_a_role_with_the_wrong_placement_is_refused_before_any_password_prompt(
    app: Flask, session: Session, world: World, options: list[str], exit_code: int, message: str
) -> None:
    before = user_count(session)

    result = create(app, "newuser", "--full-name", "Жаңа Қызметкер", *options)

    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert "Password:" not in result.output
    assert "Traceback" not in result.output
    assert user_count(session) == before


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "at least 10 characters"),
        ("aaaaaaaaaaaa", "different characters"),
        ("", "No password on standard input"),
    ],
)
def test_a_weak_or_missing_password_is_refused(
    app: Flask, session: Session, world: World, password: str, message: str
) -> None:
    before = user_count(session)
    result = create(
        app,
        "weak",
        "--role",
        "observer",
        "--full-name",
        "Weak Password",
        "--password-stdin",
        password_input=password + "\n",
    )
    assert result.exit_code == 1
    assert message in result.output
    assert user_count(session) == before


def test_a_taken_username_is_refused(app: Flask, session: Session, world: World) -> None:
    # make_world already created "admin".
    before = user_count(session)
    result = create(
        app, "Admin", "--role", "admin", "--full-name", "Another Admin", "--password-stdin"
    )
    assert result.exit_code == 1
    assert "taken" in result.output
    assert user_count(session) == before


@pytest.mark.parametrize("username", ["two words", " ", "x" * 81])
def test_a_malformed_username_is_refused(
    app: Flask, session: Session, world: World, username: str
) -> None:
    result = create(app, username, "--role", "observer", "--full-name", "Name", "--password-stdin")
    assert result.exit_code == 2
    assert "A username has 1 to 80 characters and no spaces." in result.output
