"""`flask create-user`: role and placement checked first, the password never on the command line.

A clerk or check-in account is placed at a precinct of the election named by `--election`; a
territorial account at a commission (which names its election). Placements are rows of
`Placement`, one per user and election.
"""

from __future__ import annotations

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Election, Placement, Precinct, Region, Role, User
from services.passwords import verify_password
from tests.factories import World, make_election_copy, make_world

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


def placements_of(session: Session, user: User) -> list[tuple[int, int | None, int | None]]:
    """(election, precinct, commission) of every placement of the user, by election."""
    session.expire_all()
    return [
        (p.election_id, p.precinct_id, p.territorial_commission_id)
        for p in session.scalars(
            select(Placement).where(Placement.user_id == user.id).order_by(Placement.election_id)
        )
    ]


def placement_count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(Placement)) or 0)


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
        "--election",
        "ref2022",
        "--precinct-region",
        "270000000",
        "--precinct-number",
        "301",
        "--password-stdin",
    )

    assert result.exit_code == 0, result.output
    assert "Created user 'aigul' (clerk) at precinct 301 (Уральск)" in result.output
    assert PASSWORD not in result.output
    user = user_named(session, "aigul")
    assert user is not None
    assert user.role is Role.CLERK
    assert placements_of(session, user) == [(world.election.id, world.oral_precinct.id, None)]
    assert user.full_name == "Айгүл Сейітова"
    assert user.password_hash.startswith("scrypt:65536:8:1$")
    assert verify_password(user.password_hash, PASSWORD)
    event = session.scalars(select(AuditEvent).where(AuditEvent.event == "user_created")).one()
    assert event.payload["user_id"] == user.id
    assert (event.election_id, event.precinct_id) == (world.election.id, world.oral_precinct.id)
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
    assert placements_of(session, user) == []  # an observer works nowhere in particular


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
    assert "Created user 'tk-oral' (territorial) in Уральская ТК." in result.output
    user = user_named(session, "tk-oral")
    assert user is not None
    # The commission names its election: the placement is in it.
    assert placements_of(session, user) == [(world.election.id, None, commission_id)]


def test_mismatched_password_confirmation_creates_nobody(
    app: Flask, session: Session, world: World
) -> None:
    before = user_count(session)
    placements = placement_count(session)
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
    assert placement_count(session) == placements


AT_ORAL = ["--precinct-region", "270000000", "--precinct-number", "301"]
IN_2022 = ["--election", "ref2022"]

PLACEMENT_ERRORS = [
    pytest.param(
        ["--role", "clerk"],
        2,
        "A clerk account works at a precinct",
        id="clerk-without-precinct",
    ),
    pytest.param(
        ["--role", "checkin", *IN_2022, "--precinct-region", "270000000"],
        2,
        "--precinct-number N",
        id="checkin-without-number",
    ),
    pytest.param(
        ["--role", "clerk", *AT_ORAL],
        2,
        "give --election CODE",
        id="clerk-without-election",
    ),
    pytest.param(
        ["--role", "admin", *IN_2022, *AT_ORAL],
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
        ["--role", "clerk", *IN_2022, *AT_ORAL, "--territorial-commission-id", "1"],
        2,
        "belongs to a precinct, not to a territorial commission",
        id="clerk-with-commission",
    ),
    pytest.param(
        ["--role", "clerk", "--election", "ref2099", *AT_ORAL],
        1,
        "No election has the code 'ref2099'",
        id="unknown-election",
    ),
    pytest.param(
        ["--role", "clerk", *IN_2022, "--precinct-region", "990000000", "--precinct-number", "301"],
        1,
        "No region of ref2022 has the KATO code '990000000'",
        id="unknown-region",
    ),
    pytest.param(
        ["--role", "clerk", *IN_2022, "--precinct-region", "270000000", "--precinct-number", "999"],
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
    placements = placement_count(session)

    result = create(app, "newuser", "--full-name", "Жаңа Қызметкер", *options)

    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert "Password:" not in result.output
    assert "Traceback" not in result.output
    assert user_count(session) == before
    assert placement_count(session) == placements


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


def second_election(session: Session, world: World) -> Election:
    """The 2026 referendum, prepared, with a copy of the 2022 network (new precinct rows)."""
    return make_election_copy(session, world)


def test_the_precinct_is_looked_up_in_the_named_election(
    app: Flask, session: Session, world: World
) -> None:
    other = second_election(session, world)
    oral_2026 = session.scalars(
        select(Precinct)
        .join(Region, Region.id == Precinct.region_id)
        .where(Precinct.election_id == other.id, Region.kato == "270000000", Precinct.number == 301)
    ).one()
    assert oral_2026.id != world.oral_precinct.id

    result = create(
        app,
        "checkin-2026",
        "--role",
        "checkin",
        "--full-name",
        "Данияр Әлиев",
        "--election",
        "ref2026",
        *AT_ORAL,
        "--password-stdin",
    )

    assert result.exit_code == 0, result.output
    assert "Created user 'checkin-2026' (checkin) at precinct 301" in result.output
    user = user_named(session, "checkin-2026")
    assert user is not None
    assert placements_of(session, user) == [(other.id, oral_2026.id, None)]
    event = session.scalars(select(AuditEvent).where(AuditEvent.event == "user_created")).one()
    assert (event.election_id, event.payload["precinct_id"]) == (other.id, oral_2026.id)


def test_a_precinct_missing_from_the_named_election_is_not_taken_from_another(
    app: Flask, session: Session, world: World
) -> None:
    # ref2026 has a network of its own, without West Kazakhstan's precinct 350.
    other = second_election(session, world)
    derkul_2026 = session.scalars(
        select(Precinct)
        .join(Region, Region.id == Precinct.region_id)
        .where(Precinct.election_id == other.id, Region.kato == "270000000", Precinct.number == 350)
    ).one()
    derkul_2026.number = 351
    session.commit()
    before = user_count(session)

    result = create(
        app,
        "clerk-2026",
        "--role",
        "clerk",
        "--full-name",
        "Гүлнар Қасымова",
        "--election",
        "ref2026",
        "--precinct-region",
        "270000000",
        "--precinct-number",
        "350",
        "--password-stdin",
    )

    assert result.exit_code == 1
    assert "No precinct 350 in region 270000000." in result.output
    assert "Password:" not in result.output
    assert user_count(session) == before
