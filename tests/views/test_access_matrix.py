"""Every route × every role × own or other precinct: no unexpected success, ever.

A route missing from EXPECTED fails the suite, so a new page cannot ship without a decision on who
may see it. A refusal is a 404 (the same answer as for a record that does not exist), or for the
anonymous a redirect to the sign-in page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Role, TerritorialCommission, User
from services.accounts import place_user
from services.cases import ApplicationInput, apply_for_certificate
from services.passwords import hash_password
from services.tokens import create_token
from tests.factories import World, make_election_copy, make_voter
from tests.views.conftest import PASSWORD, csrf_token

EVERYONE = frozenset({"anonymous", "admin", "territorial", "clerk", "checkin", "observer"})
SIGNED_IN = EVERYONE - {"anonymous"}
CLERK = frozenset({"clerk"})
DESK = frozenset({"clerk", "checkin"})
READERS = frozenset({"clerk", "territorial", "admin"})
MANAGERS = frozenset({"admin", "territorial"})

# endpoint -> (roles that may use it, whether it names a precinct-owned record)
EXPECTED: dict[str, tuple[frozenset[str], bool]] = {
    "public.index": (EVERYONE, False),
    "public.healthz": (EVERYONE, False),
    "auth.login": (EVERYONE, False),
    "auth.logout": (SIGNED_IN, False),
    "auth.change_password": (SIGNED_IN, False),
    "i18n.set_language": (EVERYONE, False),
    "desk.dashboard": (DESK, False),
    "desk.voters": (CLERK, False),
    "desk.apply": (CLERK, True),
    "desk.case": (READERS, True),
    "desk.issue": (CLERK, True),
    "desk.refuse": (CLERK, True),
    "desk.withdraw": (CLERK, True),
    "desk.spoil": (CLERK, True),
    "desk.lost": (CLERK, True),
    "desk.cancel": (CLERK, True),
    "desk.print_case": (CLERK, True),
    "desk.register": (READERS, False),
    "desk.register_pdf": (CLERK, False),
    "checkin.screen": (DESK, False),
    "checkin.scan": (DESK, False),
    "checkin.confirm": (DESK, False),
    "checkin.done": (DESK, False),
    "checkin.supplementary_pdf": (DESK, False),
    "checkin.marks": (DESK, False),
    "admin.users": (MANAGERS, False),
    "admin.user": (MANAGERS, True),
    "admin.reset_password": (MANAGERS, True),
    "admin.toggle_active": (MANAGERS, True),
    "admin.precincts": (MANAGERS, False),
    "admin.election": (frozenset({"admin"}), False),
    "admin.elections": (frozenset({"admin"}), False),
    "admin.figures": (frozenset({"admin", "territorial", "observer"}), False),
    "admin.reconciliation_pdf": (MANAGERS, False),
    "elections.choose": (SIGNED_IN, False),
    "elections.index": (SIGNED_IN, False),
    "elections.show": (SIGNED_IN, False),
    "elections.new": (frozenset({"admin"}), False),
    "elections.edit": (frozenset({"admin"}), False),
    "elections.setup": (MANAGERS, False),
    "tokens.mine": (SIGNED_IN, False),
    "tokens.of_user": (frozenset({"admin"}), True),
    "tokens.revoke": (SIGNED_IN, True),
}

# Records owned by one user (the Oral check-in clerk's token): only the owner and the admin.
OWNED = {"tokens.revoke": frozenset({"admin", "checkin"})}

# Who signs in for each column: the "other" clerk works at a precinct in another region.
USERS = {
    "admin": ("admin", True),
    "territorial": ("territorial_west", True),
    "clerk": ("clerk_oral", True),
    "clerk (other precinct)": ("clerk_almaly", False),
    "checkin": ("checkin_oral", True),
    "observer": ("observer", True),
    "anonymous": (None, True),
}


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every route of ours (static files excluded)."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith(("bootstrap.", "api.")):
            continue  # the API has its own matrix (tests/api/test_api_access.py)
        method = "GET" if "GET" in (rule.methods or set()) else "POST"
        found.append((rule.endpoint, method, rule.rule))
    return sorted(found)


def test_every_route_has_an_entry(app: Flask) -> None:
    endpoints = {endpoint for endpoint, _method, _rule in _routes(app)}
    assert endpoints == set(EXPECTED), (
        f"missing: {sorted(endpoints - set(EXPECTED))}, stale: {sorted(set(EXPECTED) - endpoints)}"
    )


def _arrange(session: Session, world: World) -> dict[str, int | str]:
    """An Oral voter with a received case, and an Oral check-in user to manage."""
    observer = User(
        username="observer",
        full_name="Observer",
        password_hash=hash_password(PASSWORD),
        role=Role.OBSERVER,
    )
    session.add(observer)
    voter = make_voter(session, world, world.oral_precinct, surname="Орынбаев")
    outcome = apply_for_certificate(
        session,
        world.actor("clerk_oral"),
        ApplicationInput(
            world.election.id, world.oral_precinct.id, voter.iin, "ID 9", world.almaty.id
        ),
        datetime(2022, 5, 25, 6, 0, tzinfo=UTC),
    )
    token_id = create_token(
        session,
        world.actor("checkin_oral"),
        owner_id=world.users["checkin_oral"].id,
        name="matrix",
        now=datetime(2022, 5, 25, 6, 0, tzinfo=UTC),
    ).token.id
    session.commit()
    values: dict[str, int | str] = {
        "case_id": outcome.case.id,
        "voter_id": voter.id,
        "user_id": world.users["checkin_oral"].id,
        "token_id": token_id,
        "inclusion_id": 0,
        "election_id": world.election.id,
        "code": "ru",
    }
    session.rollback()
    return values


def _client(app: Flask, username: str | None) -> FlaskClient:
    client = app.test_client()
    if username is not None:
        page = client.get("/login").get_data(as_text=True)
        signed = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(page)},
        )
        assert signed.status_code == 302
    return client


@pytest.mark.parametrize("column", list(USERS))
def test_access_matrix(
    app: Flask, world: World, session: Session, sign_in: object, column: str
) -> None:
    values = _arrange(session, world)
    username, in_scope = USERS[column]
    role = column.split(" ")[0]
    client = _client(app, username)
    token = csrf_token(client.get("/").get_data(as_text=True))
    unexpected: list[str] = []
    for endpoint, method, rule in _routes(app):
        if endpoint == "auth.logout":
            continue  # signing out would end the column's session; tested elsewhere
        url = rule
        for name, value in values.items():
            url = url.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token})
        allowed_roles, scoped = EXPECTED[endpoint]
        should_succeed = role in allowed_roles and (in_scope or not scoped)
        if endpoint in OWNED:
            should_succeed = column in OWNED[endpoint]
        refused = response.status_code == 404 or (
            response.status_code == 302 and "/login" in response.headers.get("Location", "")
        )
        assert response.status_code < 500, f"{column} {method} {url}: {response.status_code}"
        if should_succeed and refused:
            unexpected.append(f"refused {method} {url} ({response.status_code})")
        if not should_succeed and not refused:
            unexpected.append(f"ALLOWED {method} {url} ({response.status_code})")
    assert not unexpected, f"{column}: " + "; ".join(unexpected)
    if username is not None and role != "admin":
        session.rollback()
        refusals = session.scalar(
            select(AuditEvent.id).where(AuditEvent.event == "access_refused").limit(1)
        )
        assert refusals is not None, "refusals of access are audited"


def _other_election(session: Session, world: World) -> int:
    """A second election with a copy of the 2022 network and none of its staff placed."""
    other = make_election_copy(
        session,
        world,
        code="pres2022",
        kind="presidential",
        voting_day=date(2022, 11, 20),
        opens_on=date(2022, 11, 4),
        deadline_on=date(2022, 11, 19),
    )
    session.add(
        User(
            username="observer",
            full_name="Observer",
            password_hash=hash_password(PASSWORD),
            role=Role.OBSERVER,
        )
    )
    session.commit()
    other_id = other.id
    session.rollback()
    return other_id


def test_an_election_is_shown_only_to_those_who_see_it(
    app: Flask, world: World, session: Session, sign_in: object
) -> None:
    """Staff see the elections they are placed in; the central commission and observers all."""
    other = _other_election(session, world)
    pages = {
        "show": f"/elections/{other}",
        "edit": f"/admin/elections/{other}/edit",
        "setup": f"/admin/elections/{other}/setup",
    }
    may_see = {
        "admin": {"show", "edit", "setup"},
        "observer": {"show"},
        "territorial_west": set(),
        "clerk_oral": set(),
        "checkin_oral": set(),
    }
    wrong: list[str] = []
    for username, allowed in may_see.items():
        client = _client(app, username)
        for page, url in pages.items():
            status = client.get(url).status_code
            if (status == 200) != (page in allowed) or status not in (200, 404):
                wrong.append(f"{username} GET {url}: {status}")
        listed = f'href="/elections/{other}"' in client.get("/elections").get_data(as_text=True)
        if listed != bool(allowed):
            wrong.append(f"{username}: listed={listed} on /elections")
    assert not wrong, "; ".join(wrong)

    # Placed in it, the territorial commission sees it and may set it up.
    commission = session.scalar(
        select(TerritorialCommission.id).where(
            TerritorialCommission.election_id == other,
            TerritorialCommission.name_ru == "Уральская ТК",
        )
    )
    assert commission is not None
    place_user(
        session,
        world.actor("admin"),
        world.users["territorial_west"].id,
        territorial_commission_id=commission,
        now=datetime(2022, 5, 25, 6, 0, tzinfo=UTC),
    )
    session.commit()
    territorial = _client(app, "territorial_west")
    assert territorial.get(pages["show"]).status_code == 200
    assert territorial.get(pages["setup"]).status_code == 200
    assert territorial.get(pages["edit"]).status_code == 404
