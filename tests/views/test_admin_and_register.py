"""Commission screens (users, settings) and the register's CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Election, Precinct, Role, User
from services.cases import ApplicationInput, apply_for_certificate, issue_certificate
from tests.factories import World, make_voter
from tests.views.conftest import ELECTION_2022_FORM, SignIn, csrf_token


def _user(session: Session, username: str) -> User:
    session.rollback()
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


def _precinct_choices(html: str) -> set[str]:
    """The precinct ids the user form offers (without the "none" choice)."""
    select_html = re.search(r'<select[^>]*name="precinct_id"[^>]*>(.*?)</select>', html, re.S)
    assert select_html, "no precinct choice on the page"
    return set(re.findall(r'<option[^>]*value="([^"]+)"', select_html.group(1))) - {"0"}


def _placements(user: User) -> list[tuple[int, int | None, int | None]]:
    """(election, precinct, commission) of each of the user's placements."""
    return sorted(
        (p.election_id, p.precinct_id, p.territorial_commission_id) for p in user.placements
    )


def test_territorial_commission_creates_resets_moves_and_deactivates_a_clerk(
    sign_in: SignIn, world: World, session: Session
) -> None:
    oral_id, derkul_id = world.oral_precinct.id, world.derkul_precinct.id
    election_id = world.election.id
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
    assert user.role is Role.CLERK
    # Placed in the election the screens show (the 2022 referendum, the only one).
    assert _placements(user) == [(election_id, oral_id, None)]
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
    assert _placements(user) == [(election_id, derkul_id, None)]
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


# The 2022 referendum's settings as the edit screen posts them; the test clock (25 May 2022) is
# inside its window, so any change there is a correction.
ELECTION_2022 = {**ELECTION_2022_FORM, "allow_surrender": "y", "proxy_warning_threshold": "5"}
REASON = "CEC resolution No. 12 of 24 May 2022"


def _election_events(session: Session) -> list[AuditEvent]:
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.event.in_(["election_updated", "election_corrected"]))
            .order_by(AuditEvent.id)
        )
    )
    return events


def test_admin_corrects_election_policies_with_a_reason_and_an_audit_trail(
    sign_in: SignIn, world: World, session: Session
) -> None:
    election_id = world.election.id
    session.rollback()
    client = sign_in("admin")
    page = client.get("/admin/election").get_data(as_text=True)
    assert 'name="reason"' in page, "the shown election's edit screen asks for a reason"
    response = client.post(
        "/admin/election",
        data={"csrf_token": csrf_token(page), **ELECTION_2022, "reason": REASON},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"] == f"/elections/{election_id}"
    session.rollback()
    election = session.scalars(select(Election)).one()
    assert (election.allow_return_home, election.proxy_warning_threshold) == (False, 5)
    assert (election.code, election.number_series, election.name_en) == (
        "ref2022",
        None,
        "Referendum",
    )
    events = _election_events(session)
    assert [event.event for event in events] == ["election_corrected"]
    event = events[0]
    assert event.election_id == election_id
    assert event.payload["reason"] == REASON
    changed = event.payload["changed"]
    assert changed["proxy_warning_threshold"] == [3, 5]
    assert changed["allow_return_home"] == [True, False]
    assert changed["name_en"] == ["Republican referendum", "Referendum"]
    assert "code" not in changed
    assert "issue_opens_on" not in changed
    session.rollback()
    # The election's page lists the correction with its reason.
    shown = client.get(f"/elections/{election_id}").get_data(as_text=True)
    assert REASON in shown
    assert "proxy_warning_threshold" in shown


def test_election_change_inside_the_window_without_a_reason_is_refused_and_nothing_stored(
    sign_in: SignIn, world: World, session: Session
) -> None:
    session.rollback()
    client = sign_in("admin")
    page = client.get("/admin/election").get_data(as_text=True)
    response = client.post(
        "/admin/election",
        data={"csrf_token": csrf_token(page), **ELECTION_2022, "reason": "  "},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="reason-errors"' in html
    assert "needs its written reason" in html
    session.rollback()
    election = session.scalars(select(Election)).one()
    assert (election.allow_return_home, election.proxy_warning_threshold) == (True, 3)
    assert election.name_en == "Republican referendum"
    assert _election_events(session) == []
    session.rollback()


def test_election_code_series_and_kind_never_change_once_the_window_opened(
    sign_in: SignIn, world: World, session: Session
) -> None:
    session.rollback()
    client = sign_in("admin")
    page = client.get("/admin/election").get_data(as_text=True)
    response = client.post(
        "/admin/election",
        data={
            "csrf_token": csrf_token(page),
            **ELECTION_2022,
            "code": "ref2022b",
            "kind": "presidential",
            "number_series": "2206",
            "reason": REASON,
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in ("code", "kind", "number_series"):
        assert f'id="{name}-errors"' in html, name
    session.rollback()
    election = session.scalars(select(Election)).one()
    assert (election.code, election.kind, election.number_series) == ("ref2022", "referendum", None)
    assert election.proxy_warning_threshold == 3
    assert _election_events(session) == []
    session.rollback()


def test_admin_creates_an_election_with_a_copied_network_and_places_staff_in_the_one_shown(
    sign_in: SignIn, world: World, session: Session
) -> None:
    old_id, oral_number = world.election.id, world.oral_precinct.number
    session.rollback()
    client = sign_in("admin")
    page = client.get("/admin/elections/new").get_data(as_text=True)
    created = client.post(
        "/admin/elections/new",
        data={
            "csrf_token": csrf_token(page),
            "code": "pres2022",
            "kind": "presidential",
            "number_series": "2211",
            "name_kk": "Президент сайлауы",
            "name_ru": "Выборы Президента",
            "name_en": "Presidential election",
            "voting_day": "2022-11-20",
            "issue_opens_on": "2022-11-04",
            "issue_opens_at": "00:00",
            "issue_deadline_on": "2022-11-19",
            "issue_deadline_at": "18:00",
            "voting_opens_at": "07:00",
            "voting_closes_at": "20:00",
            "allow_surrender": "y",
            "allow_return_home": "y",
            "refuse_inclusion_in_home_locality": "y",
            "proxy_warning_threshold": "3",
            "network": f"copy:{old_id}",
            "with_staff": "y",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    session.rollback()
    new = session.scalar(select(Election).where(Election.code == "pres2022"))
    assert new is not None
    new_id = new.id
    assert (new.kind, new.number_series) == ("presidential", "2211")
    assert created.headers["Location"] == f"/elections/{new_id}"
    new_oral = session.scalar(
        select(Precinct.id).where(Precinct.election_id == new_id, Precinct.number == oral_number)
    )
    assert new_oral is not None
    assert new_oral != world.oral_precinct.id
    # The copy placed the staff at the copies of their precincts.
    clerk = _user(session, "clerk_oral")
    assert _placements(clerk) == [
        (old_id, world.oral_precinct.id, None),
        (new_id, new_oral, None),
    ]
    session.rollback()

    # Creating it chose it for this session's screens: the users page places staff there.
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert "Presidential election" in users_page
    offered = _precinct_choices(users_page)
    assert str(new_oral) in offered
    assert str(world.oral_precinct.id) not in offered
    placed = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token(users_page),
            "username": "autumn.clerk",
            "full_name": "Күзгі Хатшы",
            "role": "clerk",
            "precinct_id": str(new_oral),
            "territorial_commission_id": "0",
            "password": "long enough secret",
        },
    )
    assert placed.status_code == 302
    assert _placements(_user(session, "autumn.clerk")) == [(new_id, new_oral, None)]
    session.rollback()

    # Choosing the 2022 referendum again: its precincts are offered, not the copies.
    chosen = client.post(
        "/elections/choose",
        data={
            "csrf_token": csrf_token(users_page),
            "election_id": str(old_id),
            "next": "/admin/users",
        },
    )
    assert chosen.status_code == 302
    assert chosen.headers["Location"] == "/admin/users"
    again = client.get("/admin/users").get_data(as_text=True)
    offered = _precinct_choices(again)
    assert str(world.oral_precinct.id) in offered
    assert str(new_oral) not in offered


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
