"""The clerk's day through the web forms: find, apply, issue, print, correct."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Certificate, CertificateCase, VoterEntry
from tests.factories import World
from tests.views.conftest import SignIn, csrf_token, form_key
from workflow.states import CaseState


def _voter_id(session: Session, surname: str) -> int:
    """Look a voter up and end the read, so later reads see what the requests commit."""
    voter_id = session.scalar(select(VoterEntry.id).where(VoterEntry.surname == surname))
    assert voter_id is not None
    session.rollback()
    return voter_id


def test_clerk_finds_applies_and_issues_in_person(
    sign_in: SignIn, world: World, session: Session
) -> None:
    oral_id = world.oral.id
    session.rollback()
    client = sign_in("clerk_almaly")
    dashboard = client.get("/desk/")
    assert dashboard.status_code == 200
    assert "101" in dashboard.get_data(as_text=True)
    found = client.get("/desk/voters", query_string={"q": "сарсенбаев"})
    assert "Сәрсенбаев" in found.get_data(as_text=True)
    voter_id = _voter_id(session, "Сәрсенбаев")
    got = client.get(f"/desk/voters/{voter_id}/apply")
    page = got.get_data(as_text=True)
    assert got.status_code == 200, page[-800:]
    response = client.post(
        f"/desk/voters/{voter_id}/apply",
        data={
            "csrf_token": csrf_token(page),
            "form_key": form_key(page),
            "mode": "voter",
            "applicant_document": "ID 045678123",
            "stay_locality_id": oral_id,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    case_url = response.headers["Location"]
    case_page = client.get(case_url).get_data(as_text=True)
    session.rollback()
    case = session.scalar(select(CertificateCase).where(CertificateCase.voter_id == voter_id))
    assert case is not None
    assert case.state is CaseState.RECEIVED
    case_id = case.id
    session.rollback()  # end the read: the next check must see what the requests commit
    issue_key = case_page.split('action="/desk/cases/')[1]
    key = form_key(case_page[case_page.index('id="issue-title"') :])
    issued = client.post(
        f"/desk/cases/{case_id}/issue",
        data={
            "csrf_token": csrf_token(case_page),
            "form_key": key,
            "handed_to": "voter",
            "confirm": "y",
        },
    )
    assert issued.status_code == 302, issue_key
    after = client.get(issued.headers["Location"]).get_data(as_text=True)
    assert "Certificate issued" in after, after[after.index("<main") :][:1500]
    session.rollback()
    certificate = session.scalar(select(Certificate).where(Certificate.case_id == case_id))
    assert certificate is not None
    session.commit()
    # The same submission again (a double click) acts only once.
    replay = client.post(
        f"/desk/cases/{case_id}/issue",
        data={
            "csrf_token": csrf_token(case_page),
            "form_key": key,
            "handed_to": "voter",
            "confirm": "y",
        },
    )
    assert replay.status_code == 302
    session.rollback()
    assert len(session.scalars(select(Certificate)).all()) == 1
    session.commit()
    printed = client.get(f"/desk/cases/{case_id}/print")
    assert printed.status_code == 200
    assert printed.mimetype == "application/pdf"
    assert printed.data.startswith(b"%PDF")
    client.get(f"/desk/cases/{case_id}/print")
    session.rollback()
    prints = session.scalars(
        select(AuditEvent.payload).where(AuditEvent.event == "print").order_by(AuditEvent.id)
    ).all()
    assert [payload["repeat"] for payload in prints] == [False, True]
    session.rollback()


def test_clerk_of_another_precinct_cannot_see_the_case(
    sign_in: SignIn, world: World, session: Session
) -> None:
    voter_id = _voter_id(session, "Петров")
    other = sign_in("clerk_almaly")
    assert other.get(f"/desk/voters/{voter_id}/apply").status_code == 404
