"""Voting day through the web: scan or type, look, confirm, and every refusal explained."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Certificate, Inclusion, VoterEntry
from services.cases import ApplicationInput, apply_for_certificate, issue_certificate
from services.clock import FixedClock
from services.sealing import election_seal, seal_certificate
from tests.factories import World
from tests.views.conftest import SignIn, csrf_token
from workflow.numbers import format_certificate_number

VOTING_MORNING = datetime(2022, 6, 5, 4, 0, tzinfo=UTC)  # 09:00 in Oral, 10:00 in Almaty


def _issued(session: Session, world: World) -> tuple[int, str, str]:
    voter = session.scalar(select(VoterEntry).where(VoterEntry.surname == "Сәрсенбаев"))
    assert voter is not None
    clerk = world.actor("clerk_almaly")
    now = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
    applied = apply_for_certificate(
        session,
        clerk,
        ApplicationInput(
            world.election.id, world.almaty_almaly.id, voter.iin, "ID 1", world.oral.id
        ),
        now,
    )
    issued = issue_certificate(session, clerk, applied.case.id, now)
    session.commit()
    assert issued.certificate is not None
    result = (
        issued.certificate.id,
        format_certificate_number(issued.certificate.serial),
        issued.certificate.verification_code,
    )
    session.rollback()
    return result


def _scan(client: object, text: str) -> str:
    page = client.get("/checkin/").get_data(as_text=True)  # type: ignore[attr-defined]
    response = client.post(  # type: ignore[attr-defined]
        "/checkin/", data={"csrf_token": csrf_token(page), "scan": text}
    )
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def _confirm(client: object, page: str) -> str:
    fields = dict(re.findall(r'id="(scan|form_key)" name="\1" type="hidden" value="([^"]*)"', page))
    response = client.post(  # type: ignore[attr-defined]
        "/checkin/confirm",
        data={"csrf_token": csrf_token(page), **fields},
        follow_redirects=True,
    )
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_typed_number_and_code_include_the_voter_once(
    sign_in: SignIn, world: World, session: Session, clock: FixedClock
) -> None:
    certificate_id, number, code = _issued(session, world)
    clock.instant = VOTING_MORNING
    client = sign_in("checkin_oral")
    look = _scan(client, f"{number} {code}")
    assert "Сәрсенбаев" in look
    assert "Confirm: include" in look
    done = _confirm(client, look)
    assert "Included on line 1" in done
    session.rollback()
    assert session.scalar(select(Inclusion.line_number)) == 1
    again = _scan(client, f"{number} {code}")
    assert "already been used" in again
    assert "precinct No. 301" in again
    session.rollback()
    assert session.get_one(Certificate, certificate_id).state.value == "used"


def test_scanned_seal_is_verified_and_a_tampered_one_is_forged(
    app: Flask, sign_in: SignIn, world: World, session: Session, clock: FixedClock
) -> None:
    certificate_id, _number, _code = _issued(session, world)
    certificate = session.get_one(Certificate, certificate_id)
    seal = election_seal(Path(app.instance_path), world.election.code)
    text = seal_certificate(seal, certificate, certificate.voter.iin)
    session.rollback()
    clock.instant = VOTING_MORNING
    client = sign_in("checkin_oral")
    tampered = text[:-3] + ("A" if text[-3] != "A" else "B") + text[-2:]
    assert "signature does not match" in _scan(client, tampered)
    look = _scan(client, text.lower())  # scanners may send lower case
    assert "Сәрсенбаев" in look
    assert "Included on line 1" in _confirm(client, look)


def test_refusals_say_why_same_locality_and_hours(
    sign_in: SignIn, world: World, session: Session, clock: FixedClock
) -> None:
    _id, number, code = _issued(session, world)
    clock.instant = VOTING_MORNING
    same_city = sign_in("checkin_bostandyk")
    page = _scan(same_city, f"{number} {code}")
    assert "home precinct No. 101" in page
    clock.instant = datetime(2022, 6, 5, 1, 59, 59, tzinfo=UTC)  # 06:59:59 in Oral
    early = sign_in("checkin_oral")
    assert "only during voting hours" in _scan(early, f"{number} {code}")
    session.rollback()
    refused = session.scalars(
        select(AuditEvent.code).where(
            AuditEvent.event == "include", AuditEvent.outcome == "refused"
        )
    ).all()
    assert sorted(refused) == ["not_voting_hours", "same_locality"]


def test_home_list_shows_the_mark_of_every_certificate_holder(
    sign_in: SignIn, world: World, session: Session
) -> None:
    _id, number, _code = _issued(session, world)
    page = sign_in("clerk_almaly").get("/checkin/marks").get_data(as_text=True)
    assert "Сәрсенбаев" in page
    assert number in page
    other = sign_in("checkin_oral").get("/checkin/marks").get_data(as_text=True)
    assert "Сәрсенбаев" not in other
