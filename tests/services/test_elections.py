"""Elections as data, in the database: created, edited while prepared, corrected with a reason
once their window opened, never changed once closed; every refusal stores nothing and every
accepted change leaves its audit event. Run on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Election
from services.audit import Actor
from services.elections import (
    ElectionInput,
    change_election,
    corrections,
    create_election,
    default_election_for,
    election_for,
    network_zones,
    phase_of,
    visible_elections,
)
from services.errors import NotFound
from services.network import load_map
from tests.factories import World, make_world
from tests.services.support import tables_snapshot
from workflow.elections import ElectionPhase, ElectionRefused

ADMIN = Actor(user_id=None, role="admin")
# 1 February 2026: the 2026 referendum is being prepared.
PREPARING = datetime(2026, 2, 1, 6, 0, tzinfo=UTC)
# 1 March 2026, 11:00 in Almaty: its window is open.
ISSUING = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
# 16 March 2026: voting is over everywhere.
CLOSED = datetime(2026, 3, 16, 6, 0, tzinfo=UTC)

REFERENDUM_2026 = ElectionInput(
    code="ref2026",
    name_kk="Республикалық референдум 2026",
    name_ru="Республиканский референдум 2026 года",
    name_en="Republican referendum of 15 March 2026",
    voting_day=date(2026, 3, 15),
    issue_opens_on=date(2026, 2, 27),
    issue_deadline_on=date(2026, 3, 14),
)


def refused(session: Session, call: Any) -> set[tuple[str, str]]:
    """The problems of a refused call, and proof that it stored nothing."""
    before = tables_snapshot(session)
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(ElectionRefused) as caught:
        call()
    session.rollback()
    assert tables_snapshot(session) == before
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events
    return {(p.name, p.code) for p in caught.value.problems}


@pytest.fixture
def election(session: Session) -> Election:
    created = create_election(session, ADMIN, REFERENDUM_2026, PREPARING)
    load_map(session, ADMIN, created.id, "kz-2026", PREPARING)
    session.commit()
    return created


# --------------------------------------------------------------------------------------------
# Creating
# --------------------------------------------------------------------------------------------


def test_an_election_is_created_with_every_policy_at_its_default(
    session: Session, election: Election
) -> None:
    assert election.kind == "referendum"
    assert election.allow_surrender
    assert election.allow_return_home
    assert election.refuse_inclusion_in_home_locality
    assert election.proxy_warning_threshold == 3
    assert (election.issue_opens_at, election.issue_deadline_at) == (time(0, 0), time(18, 0))
    assert (election.voting_opens_at, election.voting_closes_at) == (time(7, 0), time(20, 0))
    # The series is the voting day's YYMM unless the administrator chose one.
    assert election.number_series == "2603"
    created = session.scalars(select(AuditEvent).where(AuditEvent.event == "election_created"))
    (event,) = created
    assert event.election_id == election.id
    assert event.payload["issue_deadline_on"] == "2026-03-14"


def test_a_taken_series_moves_to_the_next_free_one(session: Session, election: Election) -> None:
    second = create_election(
        session, ADMIN, replace(REFERENDUM_2026, code="by2026", kind="by_election"), PREPARING
    )
    assert second.number_series == "2604"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"issue_deadline_on": date(2026, 2, 20)}, {("issue_deadline_on", "window_order")}),
        (
            {"issue_deadline_on": date(2026, 3, 16)},
            {("issue_deadline_on", "deadline_after_voting")},
        ),
        ({"voting_closes_at": time(6, 0)}, {("voting_closes_at", "hours_order")}),
        ({"code": "ref 2026!"}, {("code", "code_format")}),
        ({"name_kk": "   "}, {("name_kk", "required")}),
        ({"kind": "plebiscite"}, {("kind", "unknown_kind")}),
        ({"number_series": "26"}, {("number_series", "series_format")}),
        ({"issue_opens_on": None}, {("issue_opens_on", "required")}),
        (
            {"kind": "senate"},
            {
                ("issue_opens_on", "window_without_certificates"),
                ("issue_deadline_on", "window_without_certificates"),
            },
        ),
        ({"proxy_warning_threshold": -1}, {("proxy_warning_threshold", "out_of_range")}),
        ({"voting_day": date(3026, 3, 15)}, {("voting_day", "day_out_of_range")}),
    ],
)
def test_each_calendar_violation_is_a_field_error_and_nothing_is_stored(
    session: Session, changes: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    data = replace(REFERENDUM_2026, **changes)
    assert expected <= refused(session, lambda: create_election(session, ADMIN, data, PREPARING))


def test_a_code_or_series_in_use_is_refused(session: Session, election: Election) -> None:
    again = replace(REFERENDUM_2026, code="REF2026")
    assert refused(session, lambda: create_election(session, ADMIN, again, PREPARING)) == {
        ("code", "code_taken")
    }
    clash = replace(REFERENDUM_2026, code="other", number_series="2603")
    assert refused(session, lambda: create_election(session, ADMIN, clash, PREPARING)) == {
        ("number_series", "series_taken")
    }


def test_a_senate_election_has_no_window_and_no_certificates(session: Session) -> None:
    senate = create_election(
        session,
        ADMIN,
        replace(
            REFERENDUM_2026,
            code="senate2026",
            kind="senate",
            issue_opens_on=None,
            issue_deadline_on=None,
        ),
        PREPARING,
    )
    assert not senate.rules().has_window
    assert phase_of(session, senate, ISSUING) is ElectionPhase.PREPARING


def test_only_the_central_commission_creates_elections(session: Session) -> None:
    for role in ("territorial", "clerk", "checkin", "observer"):
        with pytest.raises(NotFound):
            create_election(session, Actor(None, role), REFERENDUM_2026, PREPARING)


# --------------------------------------------------------------------------------------------
# Changing, correcting, closing
# --------------------------------------------------------------------------------------------


def test_while_prepared_anything_changes_and_the_trail_keeps_before_and_after(
    session: Session, election: Election
) -> None:
    change_election(
        session,
        ADMIN,
        election.id,
        {"issue_deadline_at": time(17, 0), "kind": "mazhilis", "number_series": "2690"},
        PREPARING,
    )
    session.commit()
    assert (election.issue_deadline_at, election.kind, election.number_series) == (
        time(17, 0),
        "mazhilis",
        "2690",
    )
    event = session.scalars(select(AuditEvent).where(AuditEvent.event == "election_updated")).one()
    assert event.payload["changed"] == {
        "issue_deadline_at": ["18:00", "17:00"],
        "kind": ["referendum", "mazhilis"],
        "number_series": ["2603", "2690"],
    }
    assert "reason" not in event.payload


def test_no_change_writes_no_event(session: Session, election: Election) -> None:
    change_election(session, ADMIN, election.id, {"name_en": election.name_en}, PREPARING)
    assert not session.scalars(
        select(AuditEvent).where(AuditEvent.event.in_(["election_updated", "election_corrected"]))
    ).all()


def test_a_bad_edit_changes_nothing(session: Session, election: Election) -> None:
    found = refused(
        session,
        lambda: change_election(
            session, ADMIN, election.id, {"issue_deadline_on": date(2026, 3, 20)}, PREPARING
        ),
    )
    assert found == {("issue_deadline_on", "deadline_after_voting")}
    assert session.get_one(Election, election.id).issue_deadline_on == date(2026, 3, 14)


def test_the_window_opens_at_the_first_second_of_27_february_local(
    session: Session, election: Election
) -> None:
    """Every clock reads UTC+5 in 2026: 27 February 00:00 local is 26 February 19:00 UTC."""
    opening = datetime(2026, 2, 26, 19, 0, tzinfo=UTC)
    assert phase_of(session, election, opening - timedelta(seconds=1)) is ElectionPhase.PREPARING
    assert phase_of(session, election, opening) is ElectionPhase.ISSUING
    change_election(session, ADMIN, election.id, {"name_en": "x"}, opening - timedelta(seconds=1))
    with pytest.raises(ElectionRefused):
        change_election(session, ADMIN, election.id, {"name_en": "y"}, opening)


def test_after_the_window_opened_an_edit_without_a_reason_is_refused(
    session: Session, election: Election
) -> None:
    found = refused(
        session,
        lambda: change_election(
            session, ADMIN, election.id, {"issue_deadline_at": time(20, 0)}, ISSUING
        ),
    )
    assert found == {("reason", "correction_needs_reason")}


def test_a_correction_with_its_reason_is_audited_and_listed(
    session: Session, election: Election
) -> None:
    reason = "Resolution of the CEC No. 17 of 1 March 2026"
    change_election(
        session,
        ADMIN,
        election.id,
        {"issue_deadline_at": time(20, 0), "allow_return_home": False},
        ISSUING,
        reason=reason,
    )
    session.commit()
    (correction,) = corrections(session, election.id)
    assert correction.payload["reason"] == reason
    assert correction.payload["changed"] == {
        "allow_return_home": [True, False],
        "issue_deadline_at": ["18:00", "20:00"],
    }
    assert session.get_one(Election, election.id).issue_deadline_at == time(20, 0)


@pytest.mark.parametrize(
    "changes",
    [{"code": "ref2026b"}, {"number_series": "2699"}, {"kind": "presidential"}],
)
def test_a_correction_never_touches_what_certificates_carry(
    session: Session, election: Election, changes: dict[str, Any]
) -> None:
    (name,) = changes
    found = refused(
        session,
        lambda: change_election(session, ADMIN, election.id, changes, ISSUING, reason="a court"),
    )
    assert found == {(name, "frozen_once_open")}


def test_a_correction_cannot_send_the_opening_back_into_the_future(
    session: Session, election: Election
) -> None:
    found = refused(
        session,
        lambda: change_election(
            session,
            ADMIN,
            election.id,
            {"issue_opens_on": date(2026, 3, 5)},
            ISSUING,
            reason="a court",
        ),
    )
    assert found == {("issue_opens_on", "window_already_open")}


def test_a_closed_election_is_never_changed_but_stays_readable(
    session: Session, election: Election
) -> None:
    found = refused(
        session,
        lambda: change_election(
            session, ADMIN, election.id, {"name_en": "x"}, CLOSED, reason="a court"
        ),
    )
    assert found == {("name_en", "election_closed")}
    assert election_for(session, ADMIN, election.id, CLOSED).id == election.id


# --------------------------------------------------------------------------------------------
# Several elections: clocks, who sees which, which one a screen opens on
# --------------------------------------------------------------------------------------------


def test_an_election_reads_its_deadlines_on_its_own_networks_clocks(
    session: Session, election: Election
) -> None:
    world = make_world(session)
    session.commit()
    assert network_zones(session, world.election.id) == ("Asia/Almaty", "Asia/Oral")
    assert "Asia/Aqtobe" in network_zones(session, election.id)


def test_staff_see_only_the_elections_they_are_placed_in(
    session: Session, election: Election
) -> None:
    world = make_world(session)
    session.commit()
    clerk = world.actor("clerk_oral")
    assert [e.id for e in visible_elections(session, clerk)] == [world.election.id]
    with pytest.raises(NotFound):
        election_for(session, clerk, election.id, ISSUING)
    assert {e.id for e in visible_elections(session, ADMIN)} == {world.election.id, election.id}


def test_a_users_screens_open_on_the_election_whose_window_is_current(
    session: Session, election: Election
) -> None:
    world = make_world(session)
    session.commit()
    in_2022 = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
    assert default_election_for(session, ADMIN, in_2022).id == world.election.id  # type: ignore[union-attr]
    assert default_election_for(session, ADMIN, ISSUING).id == election.id  # type: ignore[union-attr]


def test_the_2022_election_prints_the_offsets_it_had(session: Session) -> None:
    """Almaty was UTC+6 in 2022 and is UTC+5 since 1 March 2024: each election keeps its own."""
    world: World = make_world(session)
    session.commit()
    rules_2022 = world.election.rules()
    assert rules_2022.issue_window("Asia/Almaty")[1].utcoffset() == timedelta(hours=6)
    later = create_election(session, ADMIN, REFERENDUM_2026, PREPARING).rules()
    assert later.issue_window("Asia/Almaty")[1].utcoffset() == timedelta(hours=5)
