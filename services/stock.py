"""Certificate number stock: ranges handed to precincts, allocation, and reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Exists, and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from models import Certificate, Precinct, StockRange
from models.base import table_of
from services.audit import SYSTEM, Actor, record_event
from services.errors import InvalidInput, NotFound
from services.scope import oversees
from workflow.calendar import Moment
from workflow.numbers import MAX_SERIAL
from workflow.states import CertificateState

MAX_PER_PRECINCT = 100_000


def add_stock_range(
    session: Session,
    actor: Actor,
    *,
    election_id: int,
    precinct_id: int,
    first_serial: int,
    last_serial: int,
    moment: Moment,
) -> StockRange:
    """Hand a range of serials to a precinct; ranges never overlap within an election.

    Only the central commission (or the system) and the precinct's own territorial commission
    hand down stock; anyone else gets NotFound, as for a precinct that does not exist.
    """
    precinct = session.get(Precinct, precinct_id)
    # A precinct of another election's network is no precinct of this one.
    if precinct is None or precinct.election_id != election_id or not _may_stock(actor, precinct):
        raise NotFound("precinct")
    if not 1 <= first_serial <= last_serial <= MAX_SERIAL:
        raise InvalidInput("range", "A range runs from a first to a last serial, 1 or more.")
    overlapping = session.scalar(
        select(StockRange.id).where(
            StockRange.election_id == election_id,
            StockRange.first_serial <= last_serial,
            StockRange.last_serial >= first_serial,
        )
    )
    if overlapping is not None:
        raise InvalidInput("range", "This range overlaps numbers already handed out.")
    stock = StockRange(
        election_id=election_id,
        precinct_id=precinct_id,
        first_serial=first_serial,
        last_serial=last_serial,
        next_serial=first_serial,
        received_at=moment.now,
    )
    session.add(stock)
    session.flush()
    record_event(
        session,
        actor=actor,
        moment=moment,
        event="stock_received",
        outcome="accepted",
        precinct_id=precinct_id,
        election_id=election_id,
        payload={"first": first_serial, "last": last_serial},
    )
    return stock


@dataclass(frozen=True, slots=True)
class Allotment:
    """What one hand-down to every precinct without stock gave out."""

    ranges: int
    first: int
    last: int


def allot_stock(
    session: Session,
    actor: Actor,
    *,
    election_id: int,
    per_precinct: int,
    now: datetime,
    first_serial: int | None = None,
) -> Allotment:
    """Hand `per_precinct` consecutive numbers to each precinct of the election (in the actor's
    territory) that holds none yet, in precinct order, from `first_serial` or just after the
    last number handed out in the election. One audit event per range, as for a single one."""
    if not 1 <= per_precinct <= MAX_PER_PRECINCT:
        raise InvalidInput("per_precinct", "Between 1 and 100,000 numbers per precinct.")
    statement = (
        select(Precinct)
        .where(
            Precinct.election_id == election_id,
            ~select(StockRange.id).where(StockRange.precinct_id == Precinct.id).exists(),
        )
        .order_by(Precinct.region_id, Precinct.number)
    )
    precincts = [p for p in session.scalars(statement) if _may_stock(actor, p)]
    if not precincts:
        return Allotment(0, 0, 0)
    start = first_serial
    if start is None:
        start = (
            int(
                session.scalar(
                    select(func.coalesce(func.max(StockRange.last_serial), 0)).where(
                        StockRange.election_id == election_id
                    )
                )
                or 0
            )
            + 1
        )
    last = start + per_precinct * len(precincts) - 1
    if start < 1 or last > MAX_SERIAL:
        raise InvalidInput("range", "The numbers would run past the last serial.")
    if session.scalar(
        select(StockRange.id).where(
            StockRange.election_id == election_id,
            StockRange.first_serial <= last,
            StockRange.last_serial >= start,
        )
    ):
        raise InvalidInput("range", "These numbers overlap numbers already handed out.")
    rows = []
    for index, precinct in enumerate(precincts):
        first = start + index * per_precinct
        rows.append(
            {
                "election_id": election_id,
                "precinct_id": precinct.id,
                "first_serial": first,
                "last_serial": first + per_precinct - 1,
                "next_serial": first,
                "received_at": now,
            }
        )
    session.execute(insert(StockRange), rows)
    for row, precinct in zip(rows, precincts, strict=True):
        record_event(
            session,
            actor=actor,
            moment=Moment(now, precinct.time_zone),
            event="stock_received",
            outcome="accepted",
            precinct_id=precinct.id,
            election_id=election_id,
            payload={"first": row["first_serial"], "last": row["last_serial"]},
        )
    session.flush()
    return Allotment(len(rows), start, last)


def _may_stock(actor: Actor, precinct: Precinct) -> bool:
    return actor.role == SYSTEM.role or oversees(actor, precinct)


def free_stock_exists(election_id: Any, precinct_id: Any) -> Exists:
    """Whether the precinct still holds an unused serial, as an expression: a caller folds it
    into the query that loads its rows (the ids may be columns of the outer query)."""
    return (
        select(StockRange.id)
        .where(
            StockRange.election_id == election_id,
            StockRange.precinct_id == precinct_id,
            StockRange.next_serial <= StockRange.last_serial,
        )
        .exists()
    )


def has_free_stock(session: Session, election_id: int, precinct_id: int) -> bool:
    """Whether the precinct still holds an unused serial."""
    return bool(session.scalar(select(free_stock_exists(election_id, precinct_id))))


def allocate_serial(session: Session, election_id: int, precinct_id: int) -> int | None:
    """Take the next free serial of the precinct's lowest open range, or None when out of stock.

    One conditional UPDATE per attempt: the row lock it takes makes a concurrent allocator wait
    and then see the moved cursor, so no two transactions get the same number. The first attempt
    finds its range in a subquery (one round trip); only when that range was emptied meanwhile
    do the other open ranges get read and tried one by one.
    """
    # Core on the session's connection: no autoflush, none of the ORM's bulk-update work.
    moved = (
        session.connection()
        .execute(
            _TAKE_LOWEST_OPEN, {"for_election_id": election_id, "for_precinct_id": precinct_id}
        )
        .scalar_one_or_none()
    )
    if moved is not None:
        return int(moved) - 1
    candidates = session.scalars(
        select(StockRange.id)
        .where(
            StockRange.election_id == election_id,
            StockRange.precinct_id == precinct_id,
            StockRange.next_serial <= StockRange.last_serial,
        )
        .order_by(StockRange.first_serial)
    ).all()
    for range_id in candidates:
        taken = _advance(session, range_id)
        if taken is not None:
            return taken
    return None


def _advance(session: Session, range_id: int) -> int | None:
    """Move one range's cursor if it is still open; the serial taken, or None."""
    moved = session.execute(
        update(StockRange)
        .where(StockRange.id == range_id, StockRange.next_serial <= StockRange.last_serial)
        .values(next_serial=StockRange.next_serial + 1)
        .returning(StockRange.next_serial)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return None if moved is None else int(moved) - 1


_STOCK = table_of(StockRange)
# An alias, so the subquery reads the table itself rather than correlating to the UPDATE's row.
_candidate = _STOCK.alias("candidate")
# Built once (the hot path of every issue): a statement costs as much to build as to send.
_TAKE_LOWEST_OPEN = (
    update(_STOCK)
    .where(
        _STOCK.c.id
        == select(_candidate.c.id)
        .where(
            _candidate.c.election_id == bindparam("for_election_id"),
            _candidate.c.precinct_id == bindparam("for_precinct_id"),
            _candidate.c.next_serial <= _candidate.c.last_serial,
        )
        .order_by(_candidate.c.first_serial)
        .limit(1)
        .scalar_subquery(),
        _STOCK.c.next_serial <= _STOCK.c.last_serial,
    )
    .values(next_serial=_STOCK.c.next_serial + 1)
    .returning(_STOCK.c.next_serial)
)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """received = issued + spoilt + unused, for one precinct or any group of them (§7)."""

    received: int
    issued: int
    spoilt: int
    unused: int

    @property
    def balanced(self) -> bool:
        return self.received == self.issued + self.spoilt + self.unused


def reconcile(
    session: Session, election_id: int, precinct_ids: list[int] | None = None
) -> Reconciliation:
    """Count the stock of some precincts (all when None) for the reconciliation act."""
    range_filter = [StockRange.election_id == election_id]
    certificate_filter = [Certificate.election_id == election_id]
    if precinct_ids is not None:
        range_filter.append(StockRange.precinct_id.in_(precinct_ids))
        certificate_filter.append(Certificate.precinct_id.in_(precinct_ids))
    received, unused = session.execute(
        select(
            func.coalesce(func.sum(StockRange.last_serial - StockRange.first_serial + 1), 0),
            func.coalesce(func.sum(StockRange.last_serial - StockRange.next_serial + 1), 0),
        ).where(and_(*range_filter))
    ).one()
    spoilt_state = Certificate._state == CertificateState.SPOILT
    issued = session.scalar(select(func.count()).where(and_(*certificate_filter), ~spoilt_state))
    spoilt = session.scalar(select(func.count()).where(and_(*certificate_filter), spoilt_state))
    return Reconciliation(int(received), int(issued or 0), int(spoilt or 0), int(unused))
