"""Voting day: a certificate presented at a precinct is included, returned home, or refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Certificate, Inclusion, SupplementaryList, VoterEntry
from services.cases import cancel_certificate, report_certificate_lost, spoil_certificate
from services.errors import NotFound
from tests.factories import World, make_voter, make_world
from tests.services.support import (
    IN_WINDOW,
    VOTING,
    audit_events,
    case_by_id,
    certificate_by_serial,
    decision_count,
    issue,
    issued,
    last_decision,
    present,
    tables_snapshot,
)
from workflow.errors import RefusalCode
from workflow.numbers import format_certificate_number
from workflow.states import CaseState, CertificateState


def _oral(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time on voting day in Oral (UTC+5 in 2022), as the server's UTC instant."""
    return datetime(2022, 6, 5, hour - 5, minute, second, tzinfo=UTC)


def _almaty_voters(session: Session, count: int, **settings: object) -> tuple[World, list[int]]:
    """Voters at Almaty Almaly: a world and their ids."""
    world = make_world(session, **settings)
    voters = [make_voter(session, world, world.almaty_almaly) for _ in range(count)]
    session.commit()
    return world, [voter.id for voter in voters]


def _issue_to(session: Session, world: World, voter_id: int) -> tuple[int, int, str]:
    return issued(session, world, session.get_one(VoterEntry, voter_id))


def _mark(session: Session, voter_id: int) -> int | None:
    session.expire_all()
    return session.get_one(VoterEntry, voter_id).mark_serial


# --- accepted ----------------------------------------------------------------------------------


def test_included_elsewhere_with_line_numbers_counted_per_receiving_precinct(
    session: Session,
) -> None:
    world, voter_ids = _almaty_voters(session, 5)
    certificates = [_issue_to(session, world, voter_id) for voter_id in voter_ids]
    receivers = [
        world.oral_precinct,
        world.derkul_precinct,
        world.oral_precinct,
        world.derkul_precinct,
        world.oral_precinct,
    ]

    outcomes = [
        present(session, world, serial, code, receiver, VOTING)
        for (_, serial, code), receiver in zip(certificates, receivers, strict=True)
    ]

    assert all(outcome.accepted for outcome in outcomes), [o.refusal for o in outcomes]
    lines = [o.inclusion.line_number for o in outcomes if o.inclusion is not None]
    assert lines == [1, 1, 2, 2, 3]
    inclusions = session.scalars(select(Inclusion).order_by(Inclusion.id)).all()
    assert [(i.precinct_id, i.line_number) for i in inclusions] == [
        (receiver.id, line) for receiver, line in zip(receivers, lines, strict=True)
    ]
    counters = {
        row.precinct_id: row.last_line for row in session.scalars(select(SupplementaryList))
    }
    assert counters == {world.oral_precinct.id: 3, world.derkul_precinct.id: 2}
    for (case_id, serial, _), voter_id, inclusion in zip(
        certificates, voter_ids, inclusions, strict=True
    ):
        certificate = certificate_by_serial(session, world, serial)
        assert inclusion.certificate_id == certificate.id
        assert inclusion.included_at == VOTING
        assert inclusion.included_by_id == world.users["admin"].id
        assert (certificate.state, certificate.closed_at) == (CertificateState.USED, VOTING)
        assert case_by_id(session, case_id).state is CaseState.INCLUDED
        # Used elsewhere: the home mark stays, so no second vote at home.
        assert _mark(session, voter_id) == serial
        events = audit_events(session, case_id=case_id)
        assert [(e.event, e.outcome, e.before_state, e.after_state) for e in events][-1] == (
            "include",
            "accepted",
            "issued",
            "included",
        )
        assert events[-1].certificate_id == certificate.id
        assert events[-1].precinct_id == inclusion.precinct_id


def test_included_by_the_receiving_precincts_checkin_user_in_its_own_time_zone(
    session: Session,
) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    _, serial, code = _issue_to(session, world, voter_id)

    outcome = present(
        session, world, serial, code, world.oral_precinct, _oral(9), actor="checkin_oral"
    )

    assert outcome.accepted, outcome.refusal
    event = last_decision(session)
    assert (event.local_time, event.time_zone) == ("2022-06-05T09:00:00+05:00", "Asia/Oral")
    assert event.actor_id == world.users["checkin_oral"].id


def test_number_typed_with_spaces_and_a_lowercase_code_is_included(session: Session) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    _, serial, code = _issue_to(session, world, voter_id)
    typed = " " + format_certificate_number(serial).replace("-", " ") + " "

    outcome = present(session, world, typed, f" {code.lower()} ", world.oral_precinct)

    assert outcome.accepted, outcome.refusal


def test_presented_at_the_home_precinct_is_returned_and_the_mark_lifted(
    session: Session,
) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    case_id, serial, code = _issue_to(session, world, voter_id)

    outcome = present(
        session, world, serial, code, world.almaty_almaly, VOTING, actor="clerk_almaly"
    )

    assert outcome.accepted, outcome.refusal
    assert outcome.inclusion is None
    assert case_by_id(session, case_id).state is CaseState.RETURNED
    certificate = certificate_by_serial(session, world, serial)
    assert (certificate.state, certificate.closed_at) == (CertificateState.RETURNED, VOTING)
    assert _mark(session, voter_id) is None
    assert session.scalars(select(Inclusion)).all() == []
    event = last_decision(session)
    assert (event.event, event.outcome, event.before_state, event.after_state) == (
        "return_home",
        "accepted",
        "issued",
        "returned",
    )


def test_return_home_is_refused_when_the_election_forbids_it(session: Session) -> None:
    world, (voter_id,) = _almaty_voters(session, 1, allow_return_home=False)
    case_id, serial, code = _issue_to(session, world, voter_id)
    before = tables_snapshot(session)
    events_before = decision_count(session)

    outcome = present(session, world, serial, code, world.almaty_almaly)

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.POLICY_FORBIDS
    assert tables_snapshot(session) == before
    assert _mark(session, voter_id) == serial
    assert decision_count(session) == events_before + 1
    assert (last_decision(session).outcome, last_decision(session).code) == (
        "refused",
        RefusalCode.POLICY_FORBIDS,
    )
    assert case_by_id(session, case_id).state is CaseState.ISSUED


# --- voting hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        pytest.param(_oral(6, 59, 59), False, id="06:59:59"),
        pytest.param(_oral(7), True, id="07:00:00"),
        pytest.param(_oral(19, 59, 59), True, id="19:59:59"),
        pytest.param(_oral(20), False, id="20:00:00"),
        pytest.param(datetime(2022, 6, 4, 6, 0, tzinfo=UTC), False, id="day before, 11:00"),
        pytest.param(datetime(2022, 6, 6, 6, 0, tzinfo=UTC), False, id="day after, 11:00"),
    ],
)
def test_inclusion_only_during_voting_hours_local_at_the_receiving_precinct(
    session: Session, now: datetime, accepted: bool
) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    _, serial, code = _issue_to(session, world, voter_id)
    before = tables_snapshot(session)
    events_before = decision_count(session)

    outcome = present(session, world, serial, code, world.oral_precinct, now)

    if accepted:
        assert outcome.accepted, outcome.refusal
        return
    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.NOT_VOTING_HOURS
    assert tables_snapshot(session) == before
    assert decision_count(session) == events_before + 1


def test_receiving_precincts_clock_decides_not_the_issuing_one(session: Session) -> None:
    world, (early, late) = _almaty_voters(session, 2)
    _, early_serial, early_code = _issue_to(session, world, early)
    _, late_serial, late_code = _issue_to(session, world, late)

    # 01:30 UTC: 07:30 in Almaty (home) but 06:30 in Oral (receiving).
    too_early = present(session, world, early_serial, early_code, world.oral_precinct, _oral(6, 30))
    # 14:30 UTC: 20:30 in Almaty (home) but 19:30 in Oral (receiving).
    still_open = present(session, world, late_serial, late_code, world.oral_precinct, _oral(19, 30))

    assert too_early.refusal is not None
    assert too_early.refusal.code == RefusalCode.NOT_VOTING_HOURS
    assert still_open.accepted, still_open.refusal


# --- refusals ----------------------------------------------------------------------------------


def _one_digit_changed(number: str) -> str:
    digit = number[3]
    return number[:3] + str((int(digit) + 1) % 10) + number[4:]


def _void_lost(session: Session, world: World, case_id: int) -> None:
    clerk = world.actor("clerk_almaly")
    assert report_certificate_lost(session, clerk, case_id, "lost", IN_WINDOW).accepted
    session.commit()


def _void_spoilt(session: Session, world: World, case_id: int) -> None:
    clerk = world.actor("clerk_almaly")
    assert spoil_certificate(session, clerk, case_id, "torn", IN_WINDOW).accepted
    session.commit()


def _void_spoilt_and_reissued(session: Session, world: World, case_id: int) -> None:
    _void_spoilt(session, world, case_id)
    assert issue(session, world, case_id).accepted


def _void_cancelled(session: Session, world: World, case_id: int) -> None:
    clerk = world.actor("clerk_almaly")
    assert cancel_certificate(session, clerk, case_id, "back", IN_WINDOW).accepted
    session.commit()


VOIDING = {
    "lost": _void_lost,
    "spoilt": _void_spoilt,
    "spoilt and reissued": _void_spoilt_and_reissued,
    "cancelled": _void_cancelled,
}


def _refused_presentation(
    session: Session,
    world: World,
    number: str,
    code: str | None,
    code_expected: RefusalCode,
    now: datetime = VOTING,
    receiving: str = "oral_precinct",
) -> None:
    """Present, and check the refusal changed nothing but added one refused audit event."""
    before = tables_snapshot(session)
    events_before = decision_count(session)

    outcome = present(session, world, number, code, getattr(world, receiving), now)

    assert outcome.refusal is not None
    assert outcome.refusal.code == code_expected
    assert tables_snapshot(session) == before
    assert decision_count(session) == events_before + 1
    event = last_decision(session)
    assert (event.outcome, event.code) == ("refused", code_expected)
    assert event.precinct_id == getattr(world, receiving).id


def test_number_with_one_digit_changed_is_refused_as_mistyped(session: Session) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    _, serial, code = _issue_to(session, world, voter_id)
    number = _one_digit_changed(format_certificate_number(serial))

    _refused_presentation(session, world, number, code, RefusalCode.MISTYPED_NUMBER)


@pytest.mark.parametrize(
    "number",
    [
        pytest.param(format_certificate_number(999), id="well-formed, in no stock"),
        pytest.param(format_certificate_number(2), id="well-formed, in stock, not issued"),
        pytest.param("абв", id="not a number"),
    ],
)
def test_number_never_issued_is_refused_as_not_found(session: Session, number: str) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    _, serial, code = _issue_to(session, world, voter_id)
    assert serial == 1

    _refused_presentation(session, world, number, code, RefusalCode.NOT_FOUND)


@pytest.mark.parametrize("wrong_code", ["AAAAAAAA", "", None])
def test_wrong_verification_code_is_refused_as_forged(
    session: Session, wrong_code: str | None
) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    case_id, serial, _ = _issue_to(session, world, voter_id)

    _refused_presentation(
        session, world, format_certificate_number(serial), wrong_code, RefusalCode.FORGED
    )

    assert last_decision(session).case_id == case_id


def test_second_presentation_is_refused_already_used_and_the_inclusion_says_where_and_when(
    session: Session,
) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    case_id, serial, code = _issue_to(session, world, voter_id)
    first = present(session, world, serial, code, world.derkul_precinct, _oral(8))
    assert first.accepted, first.refusal

    for receiving in ("derkul_precinct", "oral_precinct", "almaty_almaly"):
        _refused_presentation(
            session,
            world,
            format_certificate_number(serial),
            code,
            RefusalCode.ALREADY_USED,
            _oral(11),
            receiving,
        )

    certificate = certificate_by_serial(session, world, serial)
    inclusion = session.scalars(
        select(Inclusion).where(Inclusion.certificate_id == certificate.id)
    ).one()
    assert (inclusion.precinct_id, inclusion.included_at) == (world.derkul_precinct.id, _oral(8))
    assert case_by_id(session, case_id).state is CaseState.INCLUDED


def test_returned_certificate_presented_elsewhere_is_refused_already_used(
    session: Session,
) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    _, serial, code = _issue_to(session, world, voter_id)
    assert present(session, world, serial, code, world.almaty_almaly).accepted

    _refused_presentation(
        session, world, format_certificate_number(serial), code, RefusalCode.ALREADY_USED
    )


@pytest.mark.parametrize("how", VOIDING.values(), ids=VOIDING.keys())
@pytest.mark.parametrize("receiving", ["oral_precinct", "almaty_almaly"], ids=["elsewhere", "home"])
def test_void_certificate_is_refused(
    session: Session, how: Callable[[Session, World, int], None], receiving: str
) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    case_id, serial, code = _issue_to(session, world, voter_id)
    how(session, world, case_id)

    _refused_presentation(
        session,
        world,
        format_certificate_number(serial),
        code,
        RefusalCode.VOID,
        receiving=receiving,
    )


def test_reissued_certificate_is_included_after_its_spoilt_predecessor_was_refused(
    session: Session,
) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    case_id, spoilt_serial, spoilt_code = _issue_to(session, world, voter_id)
    _void_spoilt_and_reissued(session, world, case_id)
    new = session.scalars(
        select(Certificate).where(
            Certificate.case_id == case_id, Certificate.serial != spoilt_serial
        )
    ).one()

    refused = present(session, world, spoilt_serial, spoilt_code, world.oral_precinct)
    included = present(session, world, new.serial, new.verification_code, world.oral_precinct)

    assert refused.refusal is not None
    assert refused.refusal.code == RefusalCode.VOID
    assert included.accepted, included.refusal
    assert included.inclusion is not None
    assert included.inclusion.line_number == 1


def test_certificate_from_almaly_presented_at_bostandyk_is_refused_same_locality(
    session: Session,
) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    _, serial, code = _issue_to(session, world, voter_id)

    _refused_presentation(
        session,
        world,
        format_certificate_number(serial),
        code,
        RefusalCode.SAME_LOCALITY,
        receiving="almaty_bostandyk",
    )

    assert last_decision(session).event == "include"


def test_certificate_from_oral_city_is_included_in_derkul_village(session: Session) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.oral_precinct)
    session.commit()
    _, serial, code = issued(session, world, voter)

    outcome = present(session, world, serial, code, world.derkul_precinct, _oral(10))

    assert outcome.accepted, outcome.refusal


def test_checkin_user_of_another_precinct_is_not_found(session: Session) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    _, serial, code = _issue_to(session, world, voter_id)
    before = tables_snapshot(session)
    events_before = decision_count(session)

    with pytest.raises(NotFound):
        present(session, world, serial, code, world.oral_precinct, actor="checkin_derkul")
    session.rollback()

    assert tables_snapshot(session) == before
    assert decision_count(session) == events_before
    assert present(session, world, serial, code, world.oral_precinct, actor="checkin_oral").accepted


def test_iin_typed_into_the_number_field_is_not_kept_in_clear(session: Session) -> None:
    world, (voter_id,) = _almaty_voters(session, 1)
    iin = session.get_one(VoterEntry, voter_id).iin

    outcome = present(session, world, iin, None, world.oral_precinct)

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.MISTYPED_NUMBER
    assert iin not in json.dumps(last_decision(session).payload)
