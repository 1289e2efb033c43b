"""Voters on the list: finding them (by IIN exactly, or by a forgiving name search) and
moving them to another list of the same election (re-listing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, Text, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from models import CertificateCase, Election, Precinct, Role, VoterEntry
from services.audit import Actor, record_event, safe_iin
from services.errors import InvalidInput, NotFound
from services.scope import oversees, scoped, visible_precincts
from services.search import fold_name
from workflow.calendar import Moment
from workflow.errors import RuleViolation
from workflow.iin import is_valid_iin
from workflow.rules import check_reason, check_relisting
from workflow.states import LIVE_CASE_STATES

SEARCH_LIMIT = 50
# The longest word beginning migration 0009's index keeps.
NAME_PREFIX_LENGTH = 6


@dataclass(frozen=True, slots=True)
class VoterSearch:
    """Matches on the actor's lists; for an exact IIN found elsewhere, only where to go."""

    voters: list[VoterEntry]
    elsewhere: Precinct | None = None
    truncated: bool = False


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_prefix_keys(election_id: int, words: list[str]) -> list[str]:
    """The keys of migration 0009's index that the typed words need: each word's first
    NAME_PREFIX_LENGTH letters behind the election's id. A one-letter word has no key (it is
    checked on the rows the others find)."""
    keys = {f"{election_id} {word[:NAME_PREFIX_LENGTH]}" for word in words if len(word) >= 2}
    return sorted(keys)


def _wide_scope(session: Session, actor: Actor, election_id: int) -> Select[VoterEntry]:
    """The election's list as far as a territorial or central commission may read it.

    A territory's precincts are read first and named: joined in, the planner would scan the
    index of word beginnings once per precinct (884 ms at p95 on a national list), where one
    scan and a filter by precinct serve all of them.
    """
    statement = select(VoterEntry).where(VoterEntry.election_id == election_id)
    allowed = visible_precincts(actor)
    if allowed is None:
        return statement
    ids = list(session.scalars(allowed.where(Precinct.election_id == election_id)))
    return statement.where(VoterEntry.precinct_id.in_(ids))


def _by_word_beginnings(
    session: Session, base: Select[VoterEntry], election_id: int, words: list[str]
) -> Select[VoterEntry]:
    statement = base
    for word in words:
        escaped = _escape_like(word)
        statement = statement.where(
            or_(
                VoterEntry.search_key.like(f"{escaped}%", escape="\\"),
                VoterEntry.search_key.like(f"% {escaped}%", escape="\\"),
            )
        )
    keys = name_prefix_keys(election_id, words)
    if keys and session.get_bind().dialect.name == "postgresql":
        # The very expression of the index, so the planner can use it; the LIKEs above keep the
        # longer words' remaining letters exact.
        prefixes = func.kuelik_name_prefixes(VoterEntry.election_id, VoterEntry.search_key)
        statement = statement.where(prefixes.op("@>")(literal(keys, postgresql.ARRAY(Text))))
    return statement


def search_voters(session: Session, actor: Actor, election_id: int, query: str) -> VoterSearch:
    """IIN (12 digits) matches exactly; anything else matches folded names, word by word:
    anywhere in the name within a precinct, at a word's beginning beyond (see below).

    Up to SEARCH_LIMIT voters come back in alphabetical order: within a precinct the first ones
    in that order, across a territory or the country the first ones found.
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
    words = fold_name(text).split()[:5]
    if not words:
        return VoterSearch([])
    if actor.role in (Role.CLERK.value, Role.CHECKIN.value):
        # One precinct's list (its index narrows it to a thousand rows or so): each word may
        # match anywhere in the name, and sorting every match is cheap, so the page is the
        # first in order.
        statement = base
        for word in words:
            statement = statement.where(
                VoterEntry.search_key.like(f"%{_escape_like(word)}%", escape="\\")
            )
        page = statement.order_by(VoterEntry.surname, VoterEntry.given_name)
        rows = list(session.scalars(page.limit(SEARCH_LIMIT + 1)))
    else:
        # A territory's or the country's: each word matches the beginning of a word of the
        # name, which an index can answer among 12 million (a fragment from the middle, "ова",
        # would match a good part of the country). A common name still matches tens of
        # thousands, and sorting them all takes seconds: the first matches found are taken,
        # then shown in order; past the limit, the page says to narrow the search.
        statement = _by_word_beginnings(
            session, _wide_scope(session, actor, election_id), election_id, words
        )
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
