"""Commission screens (users, settings) and the register's CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Election, Role, User
from services.cases import ApplicationInput, apply_for_certificate, issue_certificate
from tests.factories import World, make_voter
from tests.views.conftest import SignIn, csrf_token


def _user(session: Session, username: str) -> User:
    session.rollback()
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


def test_territorial_commission_creates_resets_moves_and_deactivates_a_clerk(
    sign_in: SignIn, world: World, session: Session
) -> None:
    oral_id, derkul_id = world.oral_precinct.id, world.derkul_precinct.id
    session.rollback()
    client = sign_in("territorial_west")
    page = client.get("/admin/users").get_data(as_text=True)
    created = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token(page),
            "username": "new.clerk",
            "full_name": "Жаңа Хатшы",
            "role": "clerk",
            "precinct_id": str(oral_id),
            "territorial_commission_id": "0",
            "password": "long enough secret",
        },
    )
    assert created.status_code == 302
    user = _user(session, "new.clerk")
    assert (user.role, user.precinct_id) == (Role.CLERK, oral_id)
    user_id, token_before = user.id, user.session_token
    session.rollback()
    page = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    token = csrf_token(page)
    moved = client.post(
        f"/admin/users/{user_id}",
        data={
            "csrf_token": token,
            "move-full_name": "Жаңа Хатшы",
            "move-role": "clerk",
            "move-precinct_id": str(derkul_id),
            "move-territorial_commission_id": "0",
        },
    )
    assert moved.status_code == 302
    user = _user(session, "new.clerk")
    assert user.precinct_id == derkul_id
    assert user.session_token != token_before  # the move ends the user's sessions
    session.rollback()
    client.post(f"/admin/users/{user_id}/password", data={"csrf_token": token, "pw-password": "x"})
    assert (
        client.post(f"/admin/users/{user_id}/active", data={"csrf_token": token}).status_code == 302
    )
    assert _user(session, "new.clerk").active is False
    session.rollback()
    # A territorial commission cannot create a central-commission account.
    escalated = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "boss",
            "full_name": "Boss",
            "role": "admin",
            "precinct_id": "0",
            "territorial_commission_id": "0",
            "password": "long enough secret",
        },
    )
    assert escalated.status_code == 200
    session.rollback()
    assert session.scalar(select(User).where(User.username == "boss")) is None
    session.rollback()


def test_admin_changes_election_policies_with_an_audit_trail(
    sign_in: SignIn, world: World, session: Session
) -> None:
    session.rollback()
    client = sign_in("admin")
    page = client.get("/admin/election").get_data(as_text=True)
    response = client.post(
        "/admin/election",
        data={
            "csrf_token": csrf_token(page),
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
            "allow_surrender": "y",
            "proxy_warning_threshold": "5",
        },
    )
    assert response.status_code == 302
    session.rollback()
    election = session.scalars(select(Election)).one()
    assert (election.allow_return_home, election.proxy_warning_threshold) == (False, 5)
    event = session.scalar(select(AuditEvent).where(AuditEvent.event == "election_updated"))
    assert event is not None
    assert event.payload["changed"]["proxy_warning_threshold"] == [3, 5]
    session.rollback()


def test_register_csv_neutralises_formula_cells(
    sign_in: SignIn, world: World, session: Session
) -> None:
    voter = make_voter(
        session, world, world.almaty_almaly, surname="=HYPERLINK(1)", given_name="+1"
    )
    clerk = world.actor("clerk_almaly")
    now = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
    case = apply_for_certificate(
        session,
        clerk,
        ApplicationInput(world.election.id, world.almaty_almaly.id, voter.iin, "ID", world.oral.id),
        now,
    ).case
    issue_certificate(session, clerk, case.id, now)
    session.commit()
    session.rollback()
    response = sign_in("clerk_almaly").get("/desk/register", query_string={"format": "csv"})
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 2
    assert rows[1][1].startswith("'=HYPERLINK(1)")
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in rows[1])
