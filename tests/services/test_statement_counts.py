"""Round trips of the desk's hot path: apply and issue each stay within a counted budget.

The budgets are what the services reach today (issue 11, part 3): a repeated SELECT of the
precinct, election, locality, voter or stock, or an extra flush, fails here before it shows up as
a slower desk. Counted on both backends with SQLAlchemy's `before_cursor_execute`; SQLite's
`BEGIN IMMEDIATE` (models/__init__.py) is transaction control and is left out, as psycopg's
implicit BEGIN never reaches the listener.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models import AuditEvent, Certificate, CertificateCase, VoterEntry, db
from services.cases import apply_for_certificate, issue_certificate
from tests.factories import make_voter, make_world
from tests.services.support import IN_WINDOW, application_for
from workflow.states import CaseState

# Precinct, election, place of stay, the voter locked and the live-case check (one SELECT), the
# case (ON CONFLICT DO NOTHING: no savepoint), its audit event.
APPLY_STATEMENTS = 3
# The case locked with its precinct, election and stock peek (one SELECT), the stock cursor, the
# case's state, the certificate, its audit event, the home-list mark.
ISSUE_STATEMENTS = 6


@contextmanager
def counted() -> Iterator[list[str]]:
    """The SQL statements sent to the app's database inside the block."""
    statements: list[str] = []

    def record(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool
    ) -> None:
        if statement.strip().upper() != "BEGIN IMMEDIATE":
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_apply_and_issue_stay_within_their_statement_budgets(session: Session) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.almaty_almaly)
    session.commit()
    clerk, voter_id = world.actor("clerk_almaly"), voter.id
    application = application_for(world, voter)
    # Nothing in the identity map, as a new request finds it.
    session.expunge_all()

    with counted() as applying:
        applied = apply_for_certificate(session, clerk, application, IN_WINDOW)
        session.commit()
    assert applied.accepted, applied.refusal
    case_id = applied.case.id
    session.expunge_all()

    with counted() as issuing:
        issued = issue_certificate(session, clerk, case_id, IN_WINDOW)
        session.commit()
    assert issued.accepted, issued.refusal
    session.expunge_all()

    # The work itself was done, so the budgets are not met by skipping any of it.
    case = session.get_one(CertificateCase, case_id)
    assert case.state is CaseState.ISSUED
    certificate = session.scalars(select(Certificate).where(Certificate.case_id == case_id)).one()
    assert session.get_one(VoterEntry, voter_id).mark_serial == certificate.serial
    events = session.scalars(
        select(AuditEvent.event).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)
    ).all()
    assert list(events) == ["apply", "issue"]

    assert len(applying) <= APPLY_STATEMENTS, "\n".join(applying)
    assert len(issuing) <= ISSUE_STATEMENTS, "\n".join(issuing)
