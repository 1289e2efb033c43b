"""Each election's own network: shipped maps, copies that never touch their source, staff
carried over by natural keys, re-listing, and certificates that never cross elections."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
    Certificate,
    Election,
    Locality,
    Placement,
    Precinct,
    Region,
    VoterEntry,
)
from seal import sign_payload, verify_qr_text
from services.accounts import actor_of
from services.audit import SYSTEM, Actor
from services.cases import ApplicationInput, apply_for_certificate, issue_certificate
from services.elections import ElectionInput, create_election
from services.errors import InvalidInput, NotFound
from services.network import NetworkLocked, carry_over_staff, copy_network, load_map
from services.scope import placed_precinct
from services.sealing import election_seal, read_presented, seal_certificate, seals_in
from services.stock import add_stock_range
from services.voters import move_voter
from services.voting_day import present_certificate
from tests.factories import World, make_voter, make_world
from tests.services.support import IN_WINDOW, VOTING, issued
from workflow.calendar import Moment
from workflow.errors import RefusalCode, RuleViolation
from workflow.numbers import format_certificate_number

ADMIN = Actor(user_id=None, role="admin")
BEFORE_2022 = datetime(2022, 5, 1, 6, 0, tzinfo=UTC)


def second_election(session: Session, world: World, code: str = "by2022") -> Election:
    """A by-election overlapping the 2022 referendum, on a copy of its network and staff."""
    election = create_election(
        session,
        ADMIN,
        ElectionInput(
            code=code,
            kind="by_election",
            name_kk="Қосымша сайлау",
            name_ru="Дополнительные выборы",
            name_en="By-election",
            voting_day=date(2022, 6, 5),
            issue_opens_on=date(2022, 5, 20),
            issue_deadline_on=date(2022, 6, 4),
        ),
        BEFORE_2022,
    )
    copy_network(
        session, SYSTEM, source_id=world.election.id, target_id=election.id, now=BEFORE_2022
    )
    session.commit()
    return election


def test_the_2022_map_has_17_regions_with_nur_sultan(session: Session) -> None:
    election = create_election(
        session,
        ADMIN,
        ElectionInput(
            "old", "kk", "ru", "en", date(2022, 6, 5), date(2022, 5, 20), date(2022, 6, 4)
        ),
        BEFORE_2022,
    )
    summary = load_map(session, ADMIN, election.id, "kz-2022", BEFORE_2022)
    names = set(session.scalars(select(Region.name_en).where(Region.election_id == election.id)))
    assert summary.regions == 17
    assert "Nur-Sultan" in names
    assert not names & {"Astana", "Abai Region", "Zhetysu Region", "Ulytau Region"}


def test_the_2026_map_has_20_regions_with_astana(session: Session) -> None:
    election = create_election(
        session,
        ADMIN,
        ElectionInput(
            "new", "kk", "ru", "en", date(2026, 3, 15), date(2026, 2, 27), date(2026, 3, 14)
        ),
        BEFORE_2022,
    )
    load_map(session, ADMIN, election.id, "kz-2026", BEFORE_2022)
    regions = {
        r.kato: r for r in session.scalars(select(Region).where(Region.election_id == election.id))
    }
    assert len(regions) == 20
    assert regions["710000000"].name_en == "Astana"
    assert {regions[k].name_en for k in ("100000000", "330000000", "620000000")} == {
        "Abai Region",
        "Zhetysu Region",
        "Ulytau Region",
    }


def test_a_map_goes_only_into_an_empty_network(session: Session) -> None:
    world = make_world(session)
    with pytest.raises(InvalidInput):
        load_map(session, ADMIN, world.election.id, "kz-2022", BEFORE_2022)


def test_a_copy_is_independent_of_its_source(session: Session) -> None:
    world = make_world(session)
    copy = second_election(session, world)
    copied = session.scalar(
        select(Locality).where(Locality.election_id == copy.id, Locality.kato == "750000000")
    )
    assert copied is not None
    assert copied.id != world.almaty.id
    copied.name_ru = "Алматы (2026)"
    session.commit()
    session.refresh(world.almaty)
    assert world.almaty.name_ru == "Алматы"
    precincts = session.scalars(select(Precinct).where(Precinct.election_id == copy.id)).all()
    assert sorted(p.number for p in precincts) == [101, 205, 301, 350]
    assert all(p.region.election_id == copy.id for p in precincts)
    assert all(p.territorial_commission.election_id == copy.id for p in precincts)


def test_a_copy_places_the_staff_at_the_copies_of_their_precincts(session: Session) -> None:
    world = make_world(session)
    copy = second_election(session, world)
    clerk = _actor(session, world, "clerk_oral")
    here = placed_precinct(session, clerk, copy.id)
    assert here is not None
    assert (here.number, here.election_id) == (301, copy.id)
    assert placed_precinct(session, clerk, world.election.id).id == world.oral_precinct.id  # type: ignore[union-attr]


def _actor(session: Session, world: World, name: str) -> Actor:
    """The actor as the user is now (placements added after the world was built included)."""
    user = world.users[name]
    session.refresh(user)
    return actor_of(user)


def test_staff_are_carried_over_by_region_code_and_number_and_the_rest_listed(
    session: Session,
) -> None:
    world = make_world(session)
    target = create_election(
        session,
        ADMIN,
        ElectionInput("t", "kk", "ru", "en", date(2022, 6, 5), date(2022, 5, 20), date(2022, 6, 4)),
        BEFORE_2022,
    )
    copy_network(
        session,
        SYSTEM,
        source_id=world.election.id,
        target_id=target.id,
        now=BEFORE_2022,
        with_staff=False,
    )
    # Precinct 350 (Derkul) was redrawn away: its staff member has no match.
    gone = session.scalar(
        select(Precinct).where(Precinct.election_id == target.id, Precinct.number == 350)
    )
    assert gone is not None
    session.delete(gone)
    session.flush()
    summary = carry_over_staff(
        session, ADMIN, source_id=world.election.id, target_id=target.id, now=BEFORE_2022
    )
    assert summary.unmatched_staff == ["checkin_derkul"]
    assert summary.placements == 6
    placed = session.scalars(select(Placement).where(Placement.election_id == target.id)).all()
    assert {p.user.username for p in placed} == set(world.users) - {"admin", "checkin_derkul"}
    again = carry_over_staff(
        session, ADMIN, source_id=world.election.id, target_id=target.id, now=BEFORE_2022
    )
    assert again.placements == 0


def test_the_network_is_locked_once_the_window_opened(session: Session) -> None:
    world = make_world(session)
    target = create_election(
        session,
        ADMIN,
        ElectionInput("t", "kk", "ru", "en", date(2022, 6, 5), date(2022, 5, 20), date(2022, 6, 4)),
        BEFORE_2022,
    )
    with pytest.raises(NetworkLocked):
        copy_network(
            session, SYSTEM, source_id=world.election.id, target_id=target.id, now=IN_WINDOW
        )


# --------------------------------------------------------------------------------------------
# Re-listing
# --------------------------------------------------------------------------------------------


def test_a_voter_moves_to_another_list_with_a_reason(session: Session) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.oral_precinct)
    session.commit()
    moved = move_voter(
        session, ADMIN, voter.id, world.derkul_precinct.id, "akimat decision 12", IN_WINDOW
    )
    session.commit()
    assert moved.precinct_id == world.derkul_precinct.id
    event = session.scalars(select(AuditEvent).where(AuditEvent.event == "voter_relisted")).one()
    assert event.outcome == "accepted"
    assert event.payload["from_precinct_id"] == world.oral_precinct.id
    assert event.payload["to_precinct_id"] == world.derkul_precinct.id
    assert voter.iin not in str(event.payload)


def test_a_voter_holding_a_certificate_is_not_moved(session: Session) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.oral_precinct)
    session.commit()
    issued(session, world, voter)
    with pytest.raises(RuleViolation) as caught:
        move_voter(session, ADMIN, voter.id, world.derkul_precinct.id, "akimat", IN_WINDOW)
    session.commit()
    assert caught.value.code is RefusalCode.HOLDS_CERTIFICATE
    assert session.get_one(VoterEntry, voter.id).precinct_id == world.oral_precinct.id
    event = session.scalars(select(AuditEvent).where(AuditEvent.event == "voter_relisted")).one()
    assert (event.outcome, event.code) == ("refused", "holds_certificate")


def test_lists_are_final_from_the_opening_of_voting(session: Session) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.oral_precinct)
    session.commit()
    # 07:00 on 5 June 2022 in Oral (UTC+5) is 02:00 UTC.
    opening = datetime(2022, 6, 5, 2, 0, tzinfo=UTC)
    move_voter(
        session,
        ADMIN,
        voter.id,
        world.derkul_precinct.id,
        "in time",
        opening - timedelta(seconds=1),
    )
    with pytest.raises(RuleViolation) as caught:
        move_voter(session, ADMIN, voter.id, world.oral_precinct.id, "too late", opening)
    assert caught.value.code is RefusalCode.RELISTING_CLOSED


def test_a_move_needs_its_reason_and_a_precinct_of_the_same_election(session: Session) -> None:
    world = make_world(session)
    other = second_election(session, world)
    voter = make_voter(session, world, world.oral_precinct)
    session.commit()
    with pytest.raises(RuleViolation) as caught:
        move_voter(session, ADMIN, voter.id, world.derkul_precinct.id, "  ", IN_WINDOW)
    assert caught.value.code is RefusalCode.REASON_REQUIRED
    elsewhere = session.scalar(select(Precinct.id).where(Precinct.election_id == other.id))
    assert elsewhere is not None
    with pytest.raises(NotFound):
        move_voter(session, ADMIN, voter.id, elsewhere, "x", IN_WINDOW)


def test_a_territorial_commission_moves_only_within_its_territory(session: Session) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.oral_precinct)
    session.commit()
    west = world.actor("territorial_west")
    with pytest.raises(NotFound):
        move_voter(session, west, voter.id, world.almaty_almaly.id, "x", IN_WINDOW)
    move_voter(session, west, voter.id, world.derkul_precinct.id, "x", IN_WINDOW)


# --------------------------------------------------------------------------------------------
# One voter, two overlapping elections, a certificate in each
# --------------------------------------------------------------------------------------------


def test_a_voter_holds_a_certificate_in_each_of_two_elections_and_each_stays_its_own(
    session: Session,
) -> None:
    world = make_world(session)
    by_election = second_election(session, world)
    voter = make_voter(session, world, world.oral_precinct)
    copy_oral = session.scalar(
        select(Precinct).where(Precinct.election_id == by_election.id, Precinct.number == 301)
    )
    copy_almaty = session.scalar(
        select(Locality).where(Locality.election_id == by_election.id, Locality.kato == "750000000")
    )
    assert copy_oral is not None
    assert copy_almaty is not None
    session.add(
        VoterEntry(
            election_id=by_election.id,
            precinct_id=copy_oral.id,
            iin=voter.iin,
            surname=voter.surname,
            given_name=voter.given_name,
            patronymic=voter.patronymic,
            birth_date=voter.birth_date,
            address=voter.address,
            search_key=voter.search_key,
        )
    )
    # The same numbers as the referendum's Oral precinct: numbers restart in every election.
    add_stock_range(
        session,
        SYSTEM,
        election_id=by_election.id,
        precinct_id=copy_oral.id,
        first_serial=2001,
        last_serial=2050,
        moment=Moment(BEFORE_2022, "Asia/Oral"),
    )
    session.commit()
    _case, serial, code = issued(session, world, voter)
    clerk = _actor(session, world, "clerk_oral")
    applied = apply_for_certificate(
        session,
        clerk,
        ApplicationInput(by_election.id, copy_oral.id, voter.iin, "ID 1", copy_almaty.id),
        IN_WINDOW,
    )
    assert applied.accepted, applied.refusal
    second = issue_certificate(session, clerk, applied.case.id, IN_WINDOW)
    session.commit()
    assert second.certificate is not None
    assert second.certificate.serial == serial  # numbers restart per election...
    numbers = {format_certificate_number(serial), second.certificate.number}
    assert len(numbers) == 2  # ...and never read the same

    # The by-election's certificate presented at the referendum's desk is another election's.
    checkin = _actor(session, world, "checkin_bostandyk")
    refused = present_certificate(
        session,
        checkin,
        election_id=world.election.id,
        receiving_precinct_id=world.almaty_bostandyk.id,
        number_text=second.certificate.number,
        verification_code=second.certificate.verification_code,
        now=VOTING,
    )
    assert refused.refusal is not None
    assert refused.refusal.code is RefusalCode.WRONG_ELECTION
    assert refused.refusal.params["election_code"] == by_election.code
    # And the referendum's own certificate is taken in there, once.
    taken = present_certificate(
        session,
        checkin,
        election_id=world.election.id,
        receiving_precinct_id=world.almaty_bostandyk.id,
        number_text=format_certificate_number(serial),
        verification_code=code,
        now=VOTING,
    )
    assert taken.accepted, taken.refusal


# --------------------------------------------------------------------------------------------
# A QR seal of another election
# --------------------------------------------------------------------------------------------


def test_a_genuine_seal_of_another_election_is_wrong_election_and_a_fake_one_forged(
    session: Session, tmp_path: Path
) -> None:
    world = make_world(session)
    by_election = second_election(session, world)
    voter = make_voter(session, world, world.oral_precinct)
    session.commit()
    _case, serial, _code = issued(session, world, voter)
    certificate = session.scalar(
        select(Certificate).where(
            Certificate.election_id == world.election.id, Certificate.serial == serial
        )
    )
    assert certificate is not None
    referendum_seal = election_seal(tmp_path, world.election.code)
    by_seal = election_seal(tmp_path, by_election.code)
    qr = seal_certificate(referendum_seal, certificate, voter.iin)
    seal_of = seals_in(session, tmp_path)

    # At a desk of the by-election, the referendum's genuine seal names its own election.
    with pytest.raises(RuleViolation) as caught:
        read_presented(qr, by_seal, seal_of)
    assert caught.value.code is RefusalCode.WRONG_ELECTION
    assert caught.value.params["election_code"] == world.election.code
    # Without the other election's key nobody can tell it is genuine: a forgery, as before.
    with pytest.raises(RuleViolation) as blind:
        read_presented(qr, by_seal)
    assert blind.value.code is RefusalCode.FORGED
    # Signed by the by-election's key while claiming the referendum: forged.
    payload = verify_qr_text(referendum_seal.public_key, qr)
    fake = sign_payload(by_seal.private_key, payload)
    with pytest.raises(RuleViolation) as forged:
        read_presented(fake, by_seal, seal_of)
    assert forged.value.code is RefusalCode.FORGED
    # A seal that claims an election that does not exist creates no key for it.
    ghost = sign_payload(by_seal.private_key, replace(payload, election_code="ghost2030"))
    with pytest.raises(RuleViolation) as unknown:
        read_presented(ghost, by_seal, seal_of)
    assert unknown.value.code is RefusalCode.FORGED
    assert not list(tmp_path.glob("seal-ghost2030*"))
    # And at the referendum's own desk it reads as itself.
    assert read_presented(qr, referendum_seal, seal_of).payload == payload
