"""The certificate desk, service by service, accepted and refused, checked in the database."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Certificate, CertificateCase, VoterEntry
from services.audit import Actor
from services.cases import (
    ApplicationInput,
    CaseOutcome,
    apply_for_certificate,
    cancel_certificate,
    issue_certificate,
    refuse_application,
    report_certificate_lost,
    spoil_certificate,
    withdraw_application,
)
from services.errors import NotFound
from tests.factories import World, make_iin, make_voter, make_world
from tests.services.support import (
    DEADLINE_DAY_MORNING,
    IN_WINDOW,
    application_for,
    apply,
    audit_events,
    case_by_id,
    certificate_by_serial,
    decision_count,
    issue,
    issued,
    last_decision,
    payload_texts,
    present,
    representative_for,
    tables_snapshot,
)
from workflow.errors import MANUAL_REFUSAL_CODES, RefusalCode
from workflow.states import ApplicantKind, CaseState, CertificateState

# The 2022 issue deadline, 4 June 18:00 local: 12:00 UTC in Almaty (UTC+6), 13:00 UTC in Oral.
ALMATY_DEADLINE = datetime(2022, 6, 4, 12, 0, tzinfo=UTC)
ORAL_DEADLINE = datetime(2022, 6, 4, 13, 0, tzinfo=UTC)
# The window opens 20 May 00:00 local: 19 May 18:00 UTC in Almaty.
ALMATY_OPENING = datetime(2022, 5, 19, 18, 0, tzinfo=UTC)
SECOND = 1  # seconds, for readability of the edge cases below


def _at(instant: datetime, seconds: int) -> datetime:
    return datetime.fromtimestamp(instant.timestamp() + seconds, tz=UTC)


def _voter_at_almaly(session: Session) -> tuple[World, VoterEntry]:
    world = make_world(session)
    voter = make_voter(session, world, world.almaty_almaly)
    session.commit()
    return world, voter


def _only_event_of(session: Session, case_id: int) -> AuditEvent:
    events = audit_events(session, case_id=case_id)
    assert len(events) == 1, [(e.event, e.outcome, e.code) for e in events]
    return events[0]


def _assert_one_refused_event(
    session: Session, before_count: int, code: RefusalCode, event: str
) -> AuditEvent:
    assert decision_count(session) == before_count + 1
    audit = last_decision(session)
    assert (audit.event, audit.outcome, audit.code) == (event, "refused", code)
    return audit


def _mark(session: Session, voter: VoterEntry) -> int | None:
    session.expire_all()
    return session.get_one(VoterEntry, voter.id).mark_serial


# --- apply -------------------------------------------------------------------------------------


def test_apply_in_person_is_received_with_one_accepted_audit_event(session: Session) -> None:
    world, voter = _voter_at_almaly(session)

    outcome = apply(session, world, voter, stay_locality_id=world.oral.id)

    assert outcome.accepted, outcome.refusal
    case = case_by_id(session, outcome.case.id)
    assert case.state is CaseState.RECEIVED
    assert case.voter_id == voter.id
    assert case.precinct_id == world.almaty_almaly.id
    assert case.applicant_kind is ApplicantKind.VOTER
    assert case.stay_locality_id == world.oral.id
    assert case.representative_iin is None
    assert case.refusal_code is None
    event = _only_event_of(session, case.id)
    assert (event.event, event.outcome, event.code) == ("apply", "accepted", None)
    assert (event.before_state, event.after_state) == (None, "received")
    assert event.actor_id == world.users["clerk_almaly"].id
    assert event.precinct_id == world.almaty_almaly.id
    assert event.local_time == "2022-05-25T12:00:00+06:00"
    assert event.time_zone == "Asia/Almaty"


def test_apply_by_representative_stores_power_of_attorney_particulars(session: Session) -> None:
    world, voter = _voter_at_almaly(session)
    proxy = representative_for()

    outcome = apply(session, world, voter, representative=proxy)
    handed = issue(session, world, outcome.case.id)

    assert outcome.accepted, outcome.refusal
    case = case_by_id(session, outcome.case.id)
    assert case.applicant_kind is ApplicantKind.REPRESENTATIVE
    assert case.representative_iin == proxy.iin
    assert case.representative_name == proxy.full_name
    assert case.power_of_attorney_number == "POA-2022/117"
    assert case.power_of_attorney_date == date(2022, 5, 18)
    assert case.voter_id == voter.id
    assert handed.certificate is not None
    assert certificate_by_serial(session, world, handed.certificate.serial).handed_to is (
        ApplicantKind.REPRESENTATIVE
    )


def test_fourth_certificate_by_one_representative_warns_but_is_accepted(
    session: Session,
) -> None:
    world = make_world(session)
    voters = [make_voter(session, world, world.almaty_almaly) for _ in range(4)]
    session.commit()
    proxy = representative_for()

    outcomes = [apply(session, world, voter, representative=proxy) for voter in voters]

    assert all(outcome.accepted for outcome in outcomes)
    assert [outcome.transition.warnings for outcome in outcomes] == [
        (),
        (),
        (),
        ("representative_threshold",),
    ]
    assert last_decision(session).payload["warnings"] == ["representative_threshold"]


@dataclass(frozen=True)
class ApplyRefusal:
    """A way to get an application refused at the desk, and what the refused case keeps."""

    code: RefusalCode
    build: Callable[[Session, World, VoterEntry], tuple[ApplicationInput, datetime]]
    keeps_voter: bool


def _invalid_voter_iin(s: Session, w: World, v: VoterEntry) -> tuple[ApplicationInput, datetime]:
    return application_for(w, v, voter_iin="123456789012"), IN_WINDOW


def _invalid_proxy_iin(s: Session, w: World, v: VoterEntry) -> tuple[ApplicationInput, datetime]:
    proxy = representative_for(iin="123456789012")
    return application_for(w, v, representative=proxy), IN_WINDOW


def _on_another_list(s: Session, w: World, v: VoterEntry) -> tuple[ApplicationInput, datetime]:
    elsewhere = make_voter(s, w, w.oral_precinct)
    s.commit()
    return application_for(w, elsewhere, precinct=w.almaty_almaly), IN_WINDOW


def _on_no_list(s: Session, w: World, v: VoterEntry) -> tuple[ApplicationInput, datetime]:
    return application_for(w, v, voter_iin=make_iin(date(1971, 7, 7))), IN_WINDOW


def _before_opening(s: Session, w: World, v: VoterEntry) -> tuple[ApplicationInput, datetime]:
    return application_for(w, v), _at(ALMATY_OPENING, -SECOND)


def _at_deadline(s: Session, w: World, v: VoterEntry) -> tuple[ApplicationInput, datetime]:
    return application_for(w, v), ALMATY_DEADLINE


def _second_application(s: Session, w: World, v: VoterEntry) -> tuple[ApplicationInput, datetime]:
    assert apply(s, w, v).accepted
    return application_for(w, v), IN_WINDOW


def _stay_in_almaty(s: Session, w: World, v: VoterEntry) -> tuple[ApplicationInput, datetime]:
    return application_for(w, v, stay_locality_id=w.almaty.id), IN_WINDOW


def _proxy(
    **changes: Any,
) -> Callable[[Session, World, VoterEntry], tuple[ApplicationInput, datetime]]:
    def build(s: Session, w: World, v: VoterEntry) -> tuple[ApplicationInput, datetime]:
        values = {"iin": v.iin} if changes.get("iin") == "voter" else changes
        return application_for(w, v, representative=representative_for(**values)), IN_WINDOW

    return build


APPLY_REFUSALS = {
    "invalid voter IIN": ApplyRefusal(RefusalCode.INVALID_IIN, _invalid_voter_iin, False),
    "invalid representative IIN": ApplyRefusal(RefusalCode.INVALID_IIN, _invalid_proxy_iin, True),
    "on another precinct's list": ApplyRefusal(RefusalCode.NOT_ON_LIST, _on_another_list, False),
    "on no list": ApplyRefusal(RefusalCode.NOT_ON_LIST, _on_no_list, False),
    "before the window opens": ApplyRefusal(RefusalCode.WINDOW_CLOSED, _before_opening, True),
    "at the deadline": ApplyRefusal(RefusalCode.WINDOW_CLOSED, _at_deadline, True),
    "second application": ApplyRefusal(RefusalCode.ALREADY_ISSUED, _second_application, True),
    "stay in the home locality": ApplyRefusal(RefusalCode.SAME_LOCALITY, _stay_in_almaty, True),
    "representative is the voter": ApplyRefusal(
        RefusalCode.PROXY_INVALID, _proxy(iin="voter"), True
    ),
    "no power of attorney number": ApplyRefusal(
        RefusalCode.PROXY_INVALID, _proxy(power_of_attorney_number="  "), True
    ),
    "no power of attorney date": ApplyRefusal(
        RefusalCode.PROXY_INVALID, _proxy(power_of_attorney_date=None), True
    ),
    "power of attorney dated tomorrow": ApplyRefusal(
        RefusalCode.PROXY_INVALID, _proxy(power_of_attorney_date=date(2022, 5, 26)), True
    ),
    "representative without a name": ApplyRefusal(
        RefusalCode.PROXY_INVALID, _proxy(full_name=""), True
    ),
}


@pytest.mark.parametrize("scenario", APPLY_REFUSALS.values(), ids=APPLY_REFUSALS.keys())
def test_apply_refusal_is_kept_as_a_refused_case_with_one_refused_audit_event(
    session: Session, scenario: ApplyRefusal
) -> None:
    world, voter = _voter_at_almaly(session)
    application, now = scenario.build(session, world, voter)
    before = tables_snapshot(session)
    events_before = decision_count(session)

    outcome = apply_for_certificate(session, world.actor("clerk_almaly"), application, now)
    session.commit()

    assert outcome.refusal is not None
    assert outcome.refusal.code == scenario.code
    case = case_by_id(session, outcome.case.id)
    assert case.state is CaseState.REFUSED
    assert case.refusal_code == scenario.code
    assert case.refusal_note
    assert case.voter_iin == application.voter_iin
    if scenario.keeps_voter:
        assert case.voter_id == voter.id
    else:
        assert case.voter_id is None
    if application.representative is not None:
        assert case.representative_iin == application.representative.iin
    event = _only_event_of(session, case.id)
    assert (event.event, event.outcome, event.code) == ("apply", "refused", scenario.code)
    assert (event.before_state, event.after_state) == (None, "refused")
    assert decision_count(session) == events_before + 1
    # The refused case is the only new row: no certificate, no number, no mark.
    after = tables_snapshot(session)
    after["certificate_case"] = [row for row in after["certificate_case"] if row[0] != case.id]
    assert after == before


@pytest.mark.parametrize(
    ("home", "now", "accepted"),
    [
        pytest.param(
            "oral_precinct", datetime(2022, 6, 4, 12, 30, tzinfo=UTC), True, id="17:30 Oral"
        ),
        pytest.param(
            "almaty_almaly", datetime(2022, 6, 4, 12, 30, tzinfo=UTC), False, id="18:30 Almaty"
        ),
        pytest.param("almaty_almaly", ALMATY_OPENING, True, id="00:00 20 May Almaty"),
        pytest.param("oral_precinct", ALMATY_OPENING, False, id="23:00 19 May Oral"),
    ],
)
def test_apply_window_is_read_on_the_home_precincts_clock(
    session: Session, home: str, now: datetime, accepted: bool
) -> None:
    world = make_world(session)
    voter = make_voter(session, world, getattr(world, home))
    session.commit()

    outcome = apply(session, world, voter, now)

    assert outcome.accepted is accepted, outcome.refusal
    if not accepted:
        assert outcome.refusal is not None
        assert outcome.refusal.code == RefusalCode.WINDOW_CLOSED


def test_not_on_list_at_another_precinct_keeps_no_link_to_the_voters_entry(
    session: Session,
) -> None:
    world = make_world(session)
    oral_voter = make_voter(session, world, world.oral_precinct)
    session.commit()

    outcome = apply(session, world, oral_voter, actor="clerk_almaly", precinct=world.almaty_almaly)

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.NOT_ON_LIST
    case = case_by_id(session, outcome.case.id)
    assert case.voter_id is None
    assert case.voter_iin == oral_voter.iin
    assert case.precinct_id == world.almaty_almaly.id
    # The voter can still apply at home.
    assert apply(session, world, oral_voter).accepted


def _live_received(s: Session, w: World, v: VoterEntry) -> None:
    assert apply(s, w, v).accepted


def _live_issued(s: Session, w: World, v: VoterEntry) -> None:
    issued(s, w, v)


def _live_lost(s: Session, w: World, v: VoterEntry) -> None:
    case_id, _, _ = issued(s, w, v)
    assert report_certificate_lost(s, w.actor("clerk_almaly"), case_id, "lost", IN_WINDOW).accepted
    s.commit()


def _live_included(s: Session, w: World, v: VoterEntry) -> None:
    _, serial, code = issued(s, w, v)
    assert present(s, w, serial, code, w.oral_precinct).accepted


def _live_returned(s: Session, w: World, v: VoterEntry) -> None:
    _, serial, code = issued(s, w, v)
    assert present(s, w, serial, code, w.almaty_almaly).accepted


LIVE_SETUPS = {
    "received": _live_received,
    "issued": _live_issued,
    "lost": _live_lost,
    "included": _live_included,
    "returned": _live_returned,
}


@pytest.mark.parametrize("setup", LIVE_SETUPS.values(), ids=LIVE_SETUPS.keys())
def test_second_application_while_a_case_is_live_is_refused_already_issued(
    session: Session, setup: Callable[[Session, World, VoterEntry], None]
) -> None:
    world, voter = _voter_at_almaly(session)
    setup(session, world, voter)

    outcome = apply(session, world, voter)

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.ALREADY_ISSUED
    assert case_by_id(session, outcome.case.id).state is CaseState.REFUSED


def _ended_refused_at_desk(s: Session, w: World, v: VoterEntry) -> None:
    assert not apply(s, w, v, stay_locality_id=w.almaty.id).accepted


def _ended_refused_by_commission(s: Session, w: World, v: VoterEntry) -> None:
    case_id = apply(s, w, v).case.id
    refused = refuse_application(
        s, w.actor("clerk_almaly"), case_id, RefusalCode.IDENTITY_NOT_CONFIRMED, "", IN_WINDOW
    )
    s.commit()
    assert refused.accepted


def _ended_withdrawn(s: Session, w: World, v: VoterEntry) -> None:
    case_id = apply(s, w, v).case.id
    withdrawn = withdraw_application(s, w.actor("clerk_almaly"), case_id, "plans", IN_WINDOW)
    s.commit()
    assert withdrawn.accepted


def _ended_cancelled(s: Session, w: World, v: VoterEntry) -> None:
    case_id, _, _ = issued(s, w, v)
    cancelled = cancel_certificate(s, w.actor("clerk_almaly"), case_id, "stays home", IN_WINDOW)
    s.commit()
    assert cancelled.accepted


ENDED_SETUPS = {
    "refused at the desk": _ended_refused_at_desk,
    "refused by the commission": _ended_refused_by_commission,
    "withdrawn": _ended_withdrawn,
    "cancelled": _ended_cancelled,
}


@pytest.mark.parametrize("setup", ENDED_SETUPS.values(), ids=ENDED_SETUPS.keys())
def test_new_application_is_received_after_an_ended_case(
    session: Session, setup: Callable[[Session, World, VoterEntry], None]
) -> None:
    world, voter = _voter_at_almaly(session)
    setup(session, world, voter)

    outcome = apply(session, world, voter)

    assert outcome.accepted, outcome.refusal
    cases = session.scalars(
        select(CertificateCase).where(CertificateCase.voter_iin == voter.iin)
    ).all()
    assert len(cases) == 2
    assert case_by_id(session, outcome.case.id).state is CaseState.RECEIVED


def test_stay_in_almaty_from_almaly_is_refused_same_locality(session: Session) -> None:
    world, voter = _voter_at_almaly(session)

    outcome = apply(session, world, voter, stay_locality_id=world.almaty.id)

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.SAME_LOCALITY


def test_stay_in_derkul_village_from_oral_city_is_received(session: Session) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.oral_precinct)
    session.commit()

    outcome = apply(session, world, voter, stay_locality_id=world.derkul.id)

    assert outcome.accepted, outcome.refusal
    assert case_by_id(session, outcome.case.id).stay_locality_id == world.derkul.id


def test_stay_in_oral_from_oral_city_is_refused_same_locality(session: Session) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.oral_precinct)
    session.commit()

    outcome = apply(session, world, voter, stay_locality_id=world.oral.id)

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.SAME_LOCALITY


# --- issue -------------------------------------------------------------------------------------


def test_issue_marks_the_home_list_and_takes_serials_in_order(session: Session) -> None:
    world = make_world(session)
    voters = [make_voter(session, world, world.almaty_almaly) for _ in range(3)]
    session.commit()
    case_ids = [apply(session, world, voter).case.id for voter in voters]

    outcomes = [issue(session, world, case_id, actor="clerk_almaly") for case_id in case_ids]

    serials = [o.certificate.serial for o in outcomes if o.certificate is not None]
    assert serials == [1, 2, 3]
    for voter, case_id, serial in zip(voters, case_ids, serials, strict=True):
        entry = session.get_one(VoterEntry, voter.id)
        assert entry.mark_serial == serial
        assert entry.marked_at == IN_WINDOW
        certificate = certificate_by_serial(session, world, serial)
        assert certificate.state is CertificateState.ISSUED
        assert (certificate.case_id, certificate.voter_id) == (case_id, voter.id)
        assert certificate.precinct_id == world.almaty_almaly.id
        assert certificate.handed_to is ApplicantKind.VOTER
        assert certificate.issued_at == IN_WINDOW
        assert certificate.issued_by_id == world.users["clerk_almaly"].id
        assert len(certificate.verification_code) == 8
        assert case_by_id(session, case_id).state is CaseState.ISSUED
        events = audit_events(session, case_id=case_id)
        assert [(e.event, e.outcome, e.before_state, e.after_state) for e in events] == [
            ("apply", "accepted", None, "received"),
            ("issue", "accepted", "received", "issued"),
        ]
        assert events[1].certificate_id == certificate.id
        assert events[1].payload["serial"] == serial


@pytest.mark.parametrize(
    ("home", "now", "accepted"),
    [
        pytest.param(
            "oral_precinct", datetime(2022, 6, 4, 12, 30, tzinfo=UTC), True, id="17:30 Oral"
        ),
        pytest.param(
            "almaty_almaly", datetime(2022, 6, 4, 12, 30, tzinfo=UTC), False, id="18:30 Almaty"
        ),
        pytest.param("oral_precinct", _at(ORAL_DEADLINE, -SECOND), True, id="17:59:59 Oral"),
        pytest.param("oral_precinct", ORAL_DEADLINE, False, id="18:00:00 Oral"),
        pytest.param("almaty_almaly", _at(ALMATY_DEADLINE, -SECOND), True, id="17:59:59 Almaty"),
        pytest.param("almaty_almaly", ALMATY_DEADLINE, False, id="18:00:00 Almaty"),
    ],
)
def test_issue_deadline_is_1800_local_at_the_issuing_precinct(
    session: Session, home: str, now: datetime, accepted: bool
) -> None:
    world = make_world(session)
    voter = make_voter(session, world, getattr(world, home))
    session.commit()
    case_id = apply(session, world, voter, DEADLINE_DAY_MORNING).case.id
    before = tables_snapshot(session)
    events_before = decision_count(session)

    outcome = issue(session, world, case_id, now)

    if accepted:
        assert outcome.accepted, outcome.refusal
        assert _mark(session, voter) is not None
        return
    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.WINDOW_CLOSED
    assert tables_snapshot(session) == before
    event = _assert_one_refused_event(session, events_before, RefusalCode.WINDOW_CLOSED, "issue")
    assert (event.before_state, event.after_state) == ("received", "received")
    assert event.local_time.endswith("+06:00" if home == "almaty_almaly" else "+05:00")


def test_issue_is_refused_no_stock_when_the_precincts_numbers_are_used_up(
    session: Session,
) -> None:
    world = make_world(session, stock=1)
    first, second = (make_voter(session, world, world.almaty_almaly) for _ in range(2))
    session.commit()
    issued(session, world, first)
    case_id = apply(session, world, second).case.id
    before = tables_snapshot(session)
    events_before = decision_count(session)

    outcome = issue(session, world, case_id)

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.NO_STOCK
    assert case_by_id(session, case_id).state is CaseState.RECEIVED
    assert _mark(session, second) is None
    assert tables_snapshot(session) == before
    _assert_one_refused_event(session, events_before, RefusalCode.NO_STOCK, "issue")


# --- spoil, lost, cancel -----------------------------------------------------------------------


def test_spoil_voids_the_number_for_ever_and_reissue_takes_a_new_number(
    session: Session,
) -> None:
    world, voter = _voter_at_almaly(session)
    other = make_voter(session, world, world.almaty_almaly)
    session.commit()
    case_id, spoilt_serial, _ = issued(session, world, voter)

    spoilt = spoil_certificate(
        session, world.actor("clerk_almaly"), case_id, "ink smudged", IN_WINDOW
    )
    session.commit()

    assert spoilt.accepted, spoilt.refusal
    assert case_by_id(session, case_id).state is CaseState.RECEIVED
    certificate = certificate_by_serial(session, world, spoilt_serial)
    assert certificate.state is CertificateState.SPOILT
    assert certificate.closed_at == IN_WINDOW
    assert _mark(session, voter) is None
    event = last_decision(session)
    assert (event.event, event.outcome, event.before_state, event.after_state) == (
        "spoil",
        "accepted",
        "issued",
        "received",
    )
    assert event.certificate_id == certificate.id

    reissued = issue(session, world, case_id)
    _, other_serial, _ = issued(session, world, other)

    assert reissued.certificate is not None
    assert reissued.certificate.serial != spoilt_serial
    assert (reissued.certificate.serial, other_serial) == (spoilt_serial + 1, spoilt_serial + 2)
    assert _mark(session, voter) == reissued.certificate.serial
    assert certificate_by_serial(session, world, spoilt_serial).state is CertificateState.SPOILT
    serials = session.scalars(select(Certificate.serial).order_by(Certificate.serial)).all()
    assert serials == [spoilt_serial, spoilt_serial + 1, spoilt_serial + 2]


def test_report_lost_keeps_the_home_mark_and_blocks_a_new_application(
    session: Session,
) -> None:
    world, voter = _voter_at_almaly(session)
    case_id, serial, _ = issued(session, world, voter)

    lost = report_certificate_lost(
        session, world.actor("clerk_almaly"), case_id, "left on a bus", IN_WINDOW
    )
    session.commit()

    assert lost.accepted, lost.refusal
    assert case_by_id(session, case_id).state is CaseState.LOST
    certificate = certificate_by_serial(session, world, serial)
    assert (certificate.state, certificate.closed_at) == (CertificateState.LOST, IN_WINDOW)
    assert _mark(session, voter) == serial
    event = last_decision(session)
    assert (event.event, event.before_state, event.after_state) == ("report_lost", "issued", "lost")
    again = apply(session, world, voter)
    assert again.refusal is not None
    assert again.refusal.code == RefusalCode.ALREADY_ISSUED
    duplicate = issue(session, world, case_id)
    assert duplicate.refusal is not None
    assert duplicate.refusal.code == RefusalCode.INVALID_TRANSITION
    assert session.scalars(select(Certificate.serial)).all() == [serial]


def test_cancel_lifts_the_home_mark_and_allows_a_new_application(session: Session) -> None:
    world, voter = _voter_at_almaly(session)
    case_id, serial, _ = issued(session, world, voter)

    cancelled = cancel_certificate(
        session, world.actor("clerk_almaly"), case_id, "plans changed", IN_WINDOW
    )
    session.commit()

    assert cancelled.accepted, cancelled.refusal
    assert case_by_id(session, case_id).state is CaseState.CANCELLED
    certificate = certificate_by_serial(session, world, serial)
    assert (certificate.state, certificate.closed_at) == (CertificateState.CANCELLED, IN_WINDOW)
    assert _mark(session, voter) is None
    event = last_decision(session)
    assert (event.event, event.before_state, event.after_state) == (
        "surrender",
        "issued",
        "cancelled",
    )
    new_case_id, new_serial, _ = issued(session, world, voter)
    assert new_case_id != case_id
    assert new_serial == serial + 1
    assert _mark(session, voter) == new_serial


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        pytest.param(_at(ALMATY_DEADLINE, -SECOND), True, id="17:59:59 Almaty"),
        pytest.param(ALMATY_DEADLINE, False, id="18:00:00 Almaty"),
        pytest.param(datetime(2022, 6, 5, 6, 0, tzinfo=UTC), False, id="voting day"),
    ],
)
def test_cancel_is_refused_from_the_issue_deadline_on(
    session: Session, now: datetime, accepted: bool
) -> None:
    world, voter = _voter_at_almaly(session)
    case_id, serial, _ = issued(session, world, voter)
    before = tables_snapshot(session)
    events_before = decision_count(session)

    outcome = cancel_certificate(session, world.actor("clerk_almaly"), case_id, "back", now)
    session.commit()

    if accepted:
        assert outcome.accepted, outcome.refusal
        assert _mark(session, voter) is None
        return
    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.WINDOW_CLOSED
    assert tables_snapshot(session) == before
    assert _mark(session, voter) == serial
    _assert_one_refused_event(session, events_before, RefusalCode.WINDOW_CLOSED, "surrender")


def test_cancel_is_refused_when_the_election_forbids_surrender(session: Session) -> None:
    world = make_world(session, allow_surrender=False)
    voter = make_voter(session, world, world.almaty_almaly)
    session.commit()
    case_id, _, _ = issued(session, world, voter)
    before = tables_snapshot(session)
    events_before = decision_count(session)

    outcome = cancel_certificate(session, world.actor("clerk_almaly"), case_id, "back", IN_WINDOW)
    session.commit()

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.POLICY_FORBIDS
    assert tables_snapshot(session) == before
    _assert_one_refused_event(session, events_before, RefusalCode.POLICY_FORBIDS, "surrender")


@pytest.mark.parametrize(
    "action",
    [spoil_certificate, report_certificate_lost, cancel_certificate],
    ids=["spoil", "report lost", "cancel"],
)
def test_corrections_of_an_issued_certificate_need_a_reason(
    session: Session, action: Callable[..., CaseOutcome]
) -> None:
    world, voter = _voter_at_almaly(session)
    case_id, _, _ = issued(session, world, voter)
    before = tables_snapshot(session)

    outcome = action(session, world.actor("clerk_almaly"), case_id, "   ", IN_WINDOW)
    session.commit()

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.REASON_REQUIRED
    assert tables_snapshot(session) == before


@pytest.mark.parametrize(
    "action",
    [spoil_certificate, report_certificate_lost, cancel_certificate],
    ids=["spoil", "report lost", "cancel"],
)
def test_corrections_of_a_received_case_are_invalid_transitions(
    session: Session, action: Callable[..., CaseOutcome]
) -> None:
    world, voter = _voter_at_almaly(session)
    case_id = apply(session, world, voter).case.id
    before = tables_snapshot(session)
    events_before = decision_count(session)

    outcome = action(session, world.actor("clerk_almaly"), case_id, "reason", IN_WINDOW)
    session.commit()

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.INVALID_TRANSITION
    assert tables_snapshot(session) == before
    assert decision_count(session) == events_before + 1


# --- withdraw and refuse -----------------------------------------------------------------------


def test_withdraw_ends_a_received_application(session: Session) -> None:
    world, voter = _voter_at_almaly(session)
    case_id = apply(session, world, voter).case.id

    outcome = withdraw_application(
        session, world.actor("clerk_almaly"), case_id, "stays home", IN_WINDOW
    )
    session.commit()

    assert outcome.accepted, outcome.refusal
    assert case_by_id(session, case_id).state is CaseState.WITHDRAWN
    event = last_decision(session)
    assert (event.event, event.outcome, event.before_state, event.after_state) == (
        "withdraw",
        "accepted",
        "received",
        "withdrawn",
    )
    assert event.payload["reason"] == "stays home"


def test_withdraw_needs_no_reason(session: Session) -> None:
    world, voter = _voter_at_almaly(session)
    case_id = apply(session, world, voter).case.id

    outcome = withdraw_application(session, world.actor("clerk_almaly"), case_id, " ", IN_WINDOW)
    session.commit()

    assert outcome.accepted, outcome.refusal
    assert case_by_id(session, case_id).state is CaseState.WITHDRAWN
    assert last_decision(session).payload["reason"] == ""


def test_withdraw_after_issue_is_an_invalid_transition(session: Session) -> None:
    world, voter = _voter_at_almaly(session)
    case_id, serial, _ = issued(session, world, voter)
    before = tables_snapshot(session)

    outcome = withdraw_application(session, world.actor("clerk_almaly"), case_id, "x", IN_WINDOW)
    session.commit()

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.INVALID_TRANSITION
    assert tables_snapshot(session) == before
    assert _mark(session, voter) == serial


@pytest.mark.parametrize("code", sorted(MANUAL_REFUSAL_CODES))
def test_commission_refuses_a_received_application_with_a_manual_code(
    session: Session, code: RefusalCode
) -> None:
    world, voter = _voter_at_almaly(session)
    case_id = apply(session, world, voter).case.id

    outcome = refuse_application(
        session, world.actor("clerk_almaly"), case_id, code, " passport expired ", IN_WINDOW
    )
    session.commit()

    assert outcome.accepted, outcome.refusal
    case = case_by_id(session, case_id)
    assert case.state is CaseState.REFUSED
    assert (case.refusal_code, case.refusal_note) == (code, "passport expired")
    event = last_decision(session)
    assert (event.event, event.outcome, event.before_state, event.after_state) == (
        "refuse",
        "accepted",
        "received",
        "refused",
    )


@pytest.mark.parametrize(
    ("code", "note"),
    [
        pytest.param(RefusalCode.OTHER, "  ", id="other without a note"),
        pytest.param(RefusalCode.NO_STOCK, "none left", id="not a refusal ground"),
    ],
)
def test_commission_refusal_without_a_valid_ground_is_refused(
    session: Session, code: RefusalCode, note: str
) -> None:
    world, voter = _voter_at_almaly(session)
    case_id = apply(session, world, voter).case.id
    before = tables_snapshot(session)
    events_before = decision_count(session)

    outcome = refuse_application(
        session, world.actor("clerk_almaly"), case_id, code, note, IN_WINDOW
    )
    session.commit()

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.REASON_REQUIRED
    assert case_by_id(session, case_id).refusal_code is None
    assert tables_snapshot(session) == before
    _assert_one_refused_event(session, events_before, RefusalCode.REASON_REQUIRED, "refuse")


def test_refusing_an_issued_case_is_an_invalid_transition(session: Session) -> None:
    world, voter = _voter_at_almaly(session)
    case_id, _, _ = issued(session, world, voter)
    before = tables_snapshot(session)

    outcome = refuse_application(
        session, world.actor("clerk_almaly"), case_id, RefusalCode.OTHER, "late", IN_WINDOW
    )
    session.commit()

    assert outcome.refusal is not None
    assert outcome.refusal.code == RefusalCode.INVALID_TRANSITION
    assert tables_snapshot(session) == before


# --- scope -------------------------------------------------------------------------------------


CASE_ACTIONS: dict[str, Callable[[Session, Actor, int], CaseOutcome]] = {
    "refuse": lambda s, a, c: refuse_application(s, a, c, RefusalCode.OTHER, "no", IN_WINDOW),
    "withdraw": lambda s, a, c: withdraw_application(s, a, c, "no", IN_WINDOW),
    "issue": lambda s, a, c: issue_certificate(s, a, c, IN_WINDOW),
    "spoil": lambda s, a, c: spoil_certificate(s, a, c, "no", IN_WINDOW),
    "report lost": lambda s, a, c: report_certificate_lost(s, a, c, "no", IN_WINDOW),
    "cancel": lambda s, a, c: cancel_certificate(s, a, c, "no", IN_WINDOW),
}


@pytest.mark.parametrize("actor_name", ["clerk_bostandyk", "clerk_oral", "checkin_oral"])
@pytest.mark.parametrize("action", CASE_ACTIONS.values(), ids=CASE_ACTIONS.keys())
def test_case_of_another_precinct_is_not_found(
    session: Session,
    action: Callable[[Session, Actor, int], CaseOutcome],
    actor_name: str,
) -> None:
    world, voter = _voter_at_almaly(session)
    received_id = apply(session, world, voter).case.id
    other = make_voter(session, world, world.almaty_almaly)
    session.commit()
    issued_id, _, _ = issued(session, world, other)
    before = tables_snapshot(session)
    events_before = decision_count(session)

    for case_id in (received_id, issued_id):
        with pytest.raises(NotFound):
            action(session, world.actor(actor_name), case_id)
        session.rollback()

    assert tables_snapshot(session) == before
    assert decision_count(session) == events_before
    # Control: the precinct's own clerk may act on the same case.
    assert action(session, world.actor("clerk_almaly"), received_id) is not None


def test_case_that_does_not_exist_is_not_found(session: Session) -> None:
    world, _ = _voter_at_almaly(session)

    with pytest.raises(NotFound):
        issue_certificate(session, world.actor("admin"), 999_999, IN_WINDOW)


@pytest.mark.parametrize(
    "actor_name", ["clerk_bostandyk", "clerk_oral", "checkin_oral", "territorial_west"]
)
def test_applying_at_a_precinct_not_ones_own_is_not_found(
    session: Session, actor_name: str
) -> None:
    world, voter = _voter_at_almaly(session)
    before = tables_snapshot(session)

    with pytest.raises(NotFound):
        apply_for_certificate(
            session, world.actor(actor_name), application_for(world, voter), IN_WINDOW
        )
    session.rollback()

    assert tables_snapshot(session) == before
    assert decision_count(session) == 0


def test_checkin_user_cannot_apply_or_issue_at_its_own_precinct(session: Session) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.oral_precinct)
    session.commit()
    checkin = world.actor("checkin_oral")

    with pytest.raises(NotFound):
        apply_for_certificate(session, checkin, application_for(world, voter), IN_WINDOW)
    session.rollback()
    case_id = apply(session, world, voter, actor="clerk_oral").case.id
    with pytest.raises(NotFound):
        issue_certificate(session, checkin, case_id, IN_WINDOW)
    session.rollback()

    assert case_by_id(session, case_id).state is CaseState.RECEIVED
    assert issue(session, world, case_id, actor="clerk_oral").accepted


def test_admin_acts_at_any_precinct(session: Session) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.derkul_precinct)
    session.commit()

    outcome = apply(session, world, voter, actor="admin")

    assert outcome.accepted, outcome.refusal
    assert issue(session, world, outcome.case.id, actor="admin").accepted


# --- the audit trail across a whole life -------------------------------------------------------


def test_every_accepted_transition_writes_exactly_one_event_with_its_states(
    session: Session,
) -> None:
    world, voter = _voter_at_almaly(session)
    clerk = world.actor("clerk_almaly")
    steps: list[tuple[Callable[[int | None], CaseOutcome], str, str | None, str]] = [
        (
            lambda _: apply_for_certificate(
                session, clerk, application_for(world, voter), IN_WINDOW
            ),
            "apply",
            None,
            "received",
        ),
        (
            lambda c: issue_certificate(session, clerk, c or 0, IN_WINDOW),
            "issue",
            "received",
            "issued",
        ),
        (
            lambda c: spoil_certificate(session, clerk, c or 0, "torn", IN_WINDOW),
            "spoil",
            "issued",
            "received",
        ),
        (
            lambda c: issue_certificate(session, clerk, c or 0, IN_WINDOW),
            "issue",
            "received",
            "issued",
        ),
        (
            lambda c: cancel_certificate(session, clerk, c or 0, "back", IN_WINDOW),
            "surrender",
            "issued",
            "cancelled",
        ),
        (
            lambda _: apply_for_certificate(
                session, clerk, application_for(world, voter), IN_WINDOW
            ),
            "apply",
            None,
            "received",
        ),
        (
            lambda c: issue_certificate(session, clerk, c or 0, IN_WINDOW),
            "issue",
            "received",
            "issued",
        ),
        (
            lambda c: report_certificate_lost(session, clerk, c or 0, "gone", IN_WINDOW),
            "report_lost",
            "issued",
            "lost",
        ),
    ]
    case_id: int | None = None
    for action, event_name, before_state, after_state in steps:
        events_before = decision_count(session)
        outcome = action(case_id)
        session.commit()
        assert outcome.accepted, (event_name, outcome.refusal)
        case_id = outcome.case.id
        assert decision_count(session) == events_before + 1, event_name
        event = last_decision(session)
        assert (event.event, event.outcome, event.code) == (event_name, "accepted", None)
        assert (event.before_state, event.after_state) == (before_state, after_state)
        assert event.case_id == case_id
        assert case_by_id(session, case_id).state == after_state


def _desk_day_with_a_proxy(session: Session) -> tuple[World, list[str]]:
    """Accepted and refused calls of every kind, leaving IINs everywhere they could leak."""
    world = make_world(session)
    voters = [make_voter(session, world, world.almaty_almaly) for _ in range(3)]
    session.commit()
    proxy = representative_for()
    clerk = world.actor("clerk_almaly")
    case_a, serial_a, code_a = issued(session, world, voters[0], representative=proxy)
    spoil_certificate(session, clerk, case_a, "torn", IN_WINDOW)
    session.commit()
    issue(session, world, case_a)
    case_b, _, _ = issued(session, world, voters[1])
    report_certificate_lost(session, clerk, case_b, "lost", IN_WINDOW)
    session.commit()
    apply(session, world, voters[1])  # already_issued
    apply(session, world, voters[2], stay_locality_id=world.almaty.id)  # same_locality
    apply(session, world, voters[2], representative=representative_for(iin=voters[2].iin))
    case_c = apply(session, world, voters[2]).case.id
    withdraw_application(session, clerk, case_c, "changed plans", IN_WINDOW)
    session.commit()
    present(session, world, serial_a, code_a, world.oral_precinct)  # spoilt: void
    return world, [*(voter.iin for voter in voters), proxy.iin]


def test_no_audit_payload_holds_a_clear_iin(session: Session) -> None:
    _, iins = _desk_day_with_a_proxy(session)

    texts = payload_texts(session)

    assert len(texts) >= 12
    leaks = [(iin, text) for text in texts for iin in iins if iin in text]
    assert leaks == []


def _recover_iin(masked: str, digest: str) -> str | None:
    """What anyone with the audit export can do: try the ~2,000 IINs the mask leaves open."""
    prefix, suffix = masked[:6], masked[-2:]
    for century_digit in "123456":
        for middle in range(1000):
            candidate = f"{prefix}{century_digit}{middle:03d}{suffix}"
            text = f"kuelik-iin:{candidate}".encode()
            if hashlib.sha256(text).hexdigest()[:16] == digest:
                return candidate
    return None


def test_audit_payload_does_not_let_a_reader_recover_the_iin(session: Session) -> None:
    world, voter = _voter_at_almaly(session)
    apply(session, world, voter)

    payload = audit_events(session)[0].payload["voter"]

    assert _recover_iin(payload["iin_masked"], payload["iin_digest"]) is None


def test_audit_payloads_are_json_objects_with_masked_iins(session: Session) -> None:
    world, voter = _voter_at_almaly(session)
    apply(session, world, voter)

    payload = audit_events(session)[0].payload

    assert json.loads(json.dumps(payload)) == payload
    assert payload["voter"]["iin_masked"] == f"{voter.iin[:6]}••••{voter.iin[10:]}"
