"""Every API operation × every role × own or other precinct: no unexpected success, ever.

An operation missing from EXPECTED fails the suite. A refusal is a 404 problem (as for a record
that does not exist) and is audited; without a token the answer is 401.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Role, User
from services.cases import ApplicationInput, apply_for_certificate, issue_certificate
from services.tokens import create_token
from tests.api.conftest import Api
from tests.factories import World, make_voter
from views.api.core import OPERATIONS

EVERYONE = frozenset({"admin", "territorial", "clerk", "checkin", "observer"})
CLERK = frozenset({"clerk"})
STAFF = frozenset({"clerk", "checkin"})
READERS = frozenset({"clerk", "territorial", "admin"})
DAY_READERS = READERS | {"checkin"}
MANAGERS = frozenset({"admin", "territorial"})
PUBLIC = frozenset({"anonymous"}) | EVERYONE

# operation id -> (roles that may use it, whether its path names a precinct-owned record)
EXPECTED: dict[str, tuple[frozenset[str], bool]] = {
    "me": (EVERYONE, False),
    "list_elections": (EVERYONE, False),
    "get_election": (EVERYONE, False),
    "list_precincts": (EVERYONE, False),
    "get_precinct": (EVERYONE, False),
    "list_localities": (EVERYONE, False),
    "list_tokens": (EVERYONE, False),
    "new_token": (EVERYONE, False),
    "revoke": (EVERYONE, True),
    "lookup_voters": (READERS, False),
    "apply_case": (CLERK, False),
    "list_cases": (READERS, False),
    "get_case": (READERS, True),
    "case_events": (READERS, True),
    "issue_case": (CLERK, True),
    "refuse_case": (CLERK, True),
    "withdraw_case": (CLERK, True),
    "spoil_case": (CLERK, True),
    "report_lost": (CLERK, True),
    "cancel_case": (CLERK, True),
    "case_document": (CLERK, True),
    "register": (READERS, False),
    "register_pdf": (READERS, True),
    "get_certificate": (READERS, True),
    "certificate_document": (CLERK, True),
    "preview_checkin": (STAFF, False),
    "checkin": (STAFF, False),
    "list_inclusions": (DAY_READERS, False),
    "supplementary_pdf": (DAY_READERS, True),
    "list_stock": (READERS, False),
    "add_stock": (MANAGERS, False),
    "precinct_reconciliation": (READERS, True),
    "territory_reconciliation": (MANAGERS, False),
    "figures": (MANAGERS | {"observer"}, False),
    "import_precincts_job": (frozenset({"admin"}), False),
    "import_voters_job": (MANAGERS, False),
    "get_import": (MANAGERS, True),
    "verify": (PUBLIC, False),
    "create": (frozenset({"admin"}), False),
    "patch": (frozenset({"admin"}), False),
    "network": (frozenset({"admin"}), False),
    "staff": (frozenset({"admin"}), False),
    "allot": (MANAGERS, False),
    "list_users": (MANAGERS, False),
    "new_user": (MANAGERS, False),
    "place": (MANAGERS, False),
    "move": (MANAGERS, True),
}

# Valid bodies, so that a refusal can only come from role or scope, never from validation.
BODIES: dict[str, dict[str, object]] = {
    "refuse_case": {"code": "other", "note": "matrix"},
    "withdraw_case": {"reason": "matrix"},
    "spoil_case": {"reason": "matrix"},
    "report_lost": {"reason": "matrix"},
    "cancel_case": {"reason": "matrix"},
    "issue_case": {},
}

# Who holds the token for each column: the "other" clerk works in another region.
USERS = {
    "admin": ("admin", True),
    "territorial": ("territorial_west", True),
    "clerk": ("clerk_oral", True),
    "clerk (other precinct)": ("clerk_almaly", False),
    "checkin": ("checkin_oral", True),
    "observer": ("observer", True),
    "anonymous": (None, True),
}


def test_every_operation_has_an_entry(app: Flask) -> None:
    """`app`: creating it imports the modules that declare the operations."""
    operations = {op.endpoint for op in OPERATIONS}
    missing, stale = operations - set(EXPECTED), set(EXPECTED) - operations
    assert not missing, f"operations without an entry: {sorted(missing)}"
    assert not stale, f"entries without an operation: {sorted(stale)}"


def _arrange(session: Session, world: World) -> dict[str, int]:
    """An Oral voter with a received case; an import job and a token owned by Oral's people."""
    observer = User(
        username="observer", full_name="Observer", password_hash="x", role=Role.OBSERVER
    )
    session.add(observer)
    session.flush()
    session.refresh(observer)  # its (empty) placements loaded: usable once the session is gone
    world.users["observer"] = observer
    voter = make_voter(session, world, world.oral_precinct, surname="Орынбаев")
    now = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
    outcome = apply_for_certificate(
        session,
        world.actor("clerk_oral"),
        ApplicationInput(
            world.election.id, world.oral_precinct.id, voter.iin, "ID 9", world.almaty.id
        ),
        now,
    )
    holder = make_voter(session, world, world.oral_precinct, surname="Сейтқали")
    held = apply_for_certificate(
        session,
        world.actor("clerk_oral"),
        ApplicationInput(
            world.election.id, world.oral_precinct.id, holder.iin, "ID 10", world.almaty.id
        ),
        now,
    )
    issued = issue_certificate(session, world.actor("clerk_oral"), held.case.id, now)
    assert issued.certificate is not None
    from models import ImportJob

    job = ImportJob(
        kind="voters",
        status="done",
        file_name="x.csv",
        created_by_id=world.users["territorial_west"].id,
        created_at=now,
    )
    session.add(job)
    token = create_token(
        session, world.actor("clerk_oral"), owner_id=world.users["clerk_oral"].id, name="t", now=now
    )
    session.commit()
    return {
        "case_id": outcome.case.id,
        "election_id": world.election.id,
        "precinct_id": world.oral_precinct.id,
        "job_id": job.id,
        "certificate_id": issued.certificate.id,
        "token_id": token.token.id,
        "user_id": world.users["checkin_oral"].id,
        "voter_id": voter.id,
    }


@pytest.mark.parametrize("column", list(USERS))
def test_api_access_matrix(app: Flask, world: World, session: Session, column: str) -> None:
    values = _arrange(session, world)
    username, in_scope = USERS[column]
    role = column.split(" ")[0] if username is not None else "anonymous"
    secret = None
    if username is not None:
        user = world.users[username]
        secret = create_token(
            session,
            world.actor(username),
            owner_id=user.id,
            name="matrix",
            now=datetime(2022, 5, 25, 5, 0, tzinfo=UTC),
        ).secret
        session.commit()
    api = Api(app.test_client(), secret)
    unexpected: list[str] = []
    for op in OPERATIONS:
        path = op.path
        for name, value in values.items():
            path = path.replace("{" + name + "}", str(value))
        body = BODIES.get(op.endpoint, {})
        if op.method == "GET":
            response = api.get(path)
        elif op.method == "PATCH":
            response = api.patch(path, body)
        else:
            response = api.post(path, body)
        allowed_roles, scoped = EXPECTED[op.endpoint]
        # The token to revoke is the Oral clerk's own: only they and the admin reach it.
        if op.endpoint == "revoke":
            should = column in ("admin", "clerk")
        elif op.endpoint == "get_import":
            should = column in ("admin", "territorial")
        else:
            should = role in allowed_roles and (in_scope or not scoped)
        assert response.status_code < 500, f"{column} {op.method} {path}: {response.status_code}"
        refused = response.status_code in (401, 404)
        if should and refused:
            unexpected.append(f"refused {op.method} {path} ({response.status_code})")
        if not should and not refused:
            unexpected.append(f"ALLOWED {op.method} {path} ({response.status_code})")
        if refused:
            assert response.content_type == "application/problem+json"
    assert not unexpected, f"{column}: " + "; ".join(unexpected)
    if username is not None and role != "admin":
        session.rollback()
        refusals = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.event == "access_refused")
        )
        assert refusals, "refusals of access are audited"
