"""Finding voters on the list: by IIN exactly, or by a forgiving name search."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Precinct, VoterEntry
from services.audit import Actor
from services.scope import scoped
from services.search import fold_name
from workflow.iin import is_valid_iin

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
    """IIN (12 digits) matches exactly; anything else matches folded names, word by word."""
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
    rows = list(
        session.scalars(
            statement.order_by(VoterEntry.surname, VoterEntry.given_name).limit(SEARCH_LIMIT + 1)
        )
    )
    return VoterSearch(rows[:SEARCH_LIMIT], truncated=len(rows) > SEARCH_LIMIT)
