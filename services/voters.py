"""Voters on the list: finding them (by IIN exactly, or by a forgiving name search) and
moving them to another list of the same election (re-listing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from models import CertificateCase, Election, Precinct, Role, VoterEntry
from services.audit import Actor, record_event, safe_iin
from services.errors import InvalidInput, NotFound
from services.scope import oversees, scoped
from services.search import fold_name
from workflow.calendar import Moment
from workflow.errors import RuleViolation
from workflow.iin import is_valid_iin
from workflow.rules import check_reason, check_relisting
from workflow.states import LIVE_CASE_STATES

SEARCH_LIMIT = 50


@dataclass(frozen=True, slots=True)
class VoterSearch:
    """Matches on the actor's lists; for an exact IIN found elsewhere, only where to go."""

    voters: list[VoterEntry]
    elsewhere: Precinct | None = None
    truncated: bool = False


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_voters(session: Session, actor: Actor, election_id: int, query: str) -> VoterSearch:
    """IIN (12 digits) matches exactly; anything else matches folded names, word by word.

    Up to SEARCH_LIMIT voters come back in alphabetical order: within a precinct the first ones
    in that order, across a territory or the country the first ones found (see below).
    """
    text = query.strip()
    base = scoped(select(VoterEntry), VoterEntry.precinct_id, actor).where(
        VoterEntry.election_id == election_id
    )
    if len(text) == 12 and text.isascii() and text.isdigit():
        voters = list(session.scalars(base.where(VoterEntry.iin == text)))
        elsewhere = None
        if not voters and is_valid_iin(text):
            # Tell the clerk where the voter must apply, without showing anyone's name.
            elsewhere = session.scalar(
                select(Precinct)
                .join(VoterEntry, VoterEntry.precinct_id == Precinct.id)
                .where(VoterEntry.election_id == election_id, VoterEntry.iin == text)
            )
        return VoterSearch(voters, elsewhere)
    words = fold_name(text).split()
    if not words:
        return VoterSearch([])
    statement = base
    for word in words[:5]:
        statement = statement.where(
            VoterEntry.search_key.like(f"%{_escape_like(word)}%", escape="\\")
        )
    if actor.role in (Role.CLERK.value, Role.CHECKIN.value):
        # One precinct's list: sorting every match is cheap, so the page is the first in order.
        page = statement.order_by(VoterEntry.surname, VoterEntry.given_name)
        rows = list(session.scalars(page.limit(SEARCH_LIMIT + 1)))
    else:
        # A territory's or the country's: a common name matches tens of thousands among 12
        # million, and sorting them all takes seconds. The first matches found are taken, then
        # shown in order; past the limit, the page says to narrow the search.
        found = aliased(VoterEntry, statement.limit(SEARCH_LIMIT + 1).subquery())
        rows = list(session.scalars(select(found).order_by(found.surname, found.given_name)))
    return VoterSearch(rows[:SEARCH_LIMIT], truncated=len(rows) > SEARCH_LIMIT)


def move_voter(
    session: Session,
    actor: Actor,
    voter_id: int,
    to_precinct_id: int,
    reason: str,
    now: datetime,
) -> VoterEntry:
    """Re-listing: the akimat moves a voter from one list to another of the same election
    (domain.md §10), recorded by the territorial or central commission with a written reason.

    Refused (RuleViolation, audited) while the voter holds a live application or certificate,
    and once voting day has begun at the voter's precinct. The voter's row is locked first, so an
    application being taken for the same voter either finishes before the move (and the move is
    refused) or sees the voter already moved. NotFound for a voter or precinct out of scope.
    """
    voter = _locked_voter(session, voter_id)
    if voter is None or not oversees(actor, voter.precinct):
        raise NotFound("voter")
    target = session.get(Precinct, to_precinct_id)
    if target is None or target.election_id != voter.election_id or not oversees(actor, target):
        raise NotFound("precinct")
    if target.id == voter.precinct_id:
        raise InvalidInput("to_precinct_id", "The voter is already on this precinct's list.")
    election = session.get_one(Election, voter.election_id)
    moment = Moment(now, voter.precinct.time_zone)
    payload = {
        "voter": safe_iin(voter.iin),
        "from_precinct_id": voter.precinct_id,
        "to_precinct_id": target.id,
        "reason": reason.strip()[:500],
    }
    try:
        check_reason(reason)
        check_relisting(election.rules(), moment, _has_live_case(session, voter))
    except RuleViolation as violation:
        record_event(
            session,
            actor=actor,
            moment=moment,
            event="voter_relisted",
            outcome="refused",
            precinct_id=voter.precinct_id,
            election_id=election.id,
            code=str(violation.code),
            payload=payload,
        )
        session.flush()
        raise
    record_event(
        session,
        actor=actor,
        moment=moment,
        event="voter_relisted",
        outcome="accepted",
        precinct_id=voter.precinct_id,
        election_id=election.id,
        payload=payload,
    )
    voter.precinct_id = target.id
    session.flush()
    session.expire(voter, ["precinct"])
    return voter


def _locked_voter(session: Session, voter_id: int) -> VoterEntry | None:
    """The entry, row-locked until the move commits (see services.cases)."""
    return session.scalar(select(VoterEntry).where(VoterEntry.id == voter_id).with_for_update())


def _has_live_case(session: Session, voter: VoterEntry) -> bool:
    """Asked after the voter's row is locked, so a concurrent application is seen committed."""
    return (
        session.scalar(
            select(CertificateCase.id)
            .where(
                CertificateCase.voter_id == voter.id,
                CertificateCase._state.in_(LIVE_CASE_STATES),
            )
            .limit(1)
        )
        is not None
    )
