"""An election's own network of places: started from a shipped map or copied from an earlier
election, then edited by imports while the election is prepared; and its staff, carried over.

Copies are plain rows of the new election: editing them never touches the election they came
from, so a 2022 record keeps saying "Nur-Sultan" whatever the 2026 network calls the capital.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from maps import MAPS
from models import (
    CityDistrict,
    Election,
    Locality,
    Placement,
    Precinct,
    Region,
    TerritorialCommission,
    User,
)
from services.audit import Actor, record_event
from services.elections import CAPITAL_ZONE, phase_of, require_admin
from services.errors import InvalidInput, NotFound
from workflow.calendar import Moment
from workflow.elections import ElectionPhase


class NetworkLocked(InvalidInput):
    """The election's window has opened: its network and lists no longer change by import."""

    def __init__(self) -> None:
        super().__init__(
            "election_id",
            "The election's issue window has opened: its precincts and voter lists can no "
            "longer be imported or replaced (a voter moves by re-listing).",
        )


def require_preparing(session: Session, election: Election, now: datetime) -> None:
    """Imports and copies change an election's network only while it is prepared."""
    if phase_of(session, election, now) is not ElectionPhase.PREPARING:
        raise NetworkLocked


@dataclass
class NetworkSummary:
    """What a copy or a map brought into an election."""

    regions: int = 0
    localities: int = 0
    districts: int = 0
    commissions: int = 0
    precincts: int = 0
    placements: int = 0
    unmatched_staff: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "regions": self.regions,
            "localities": self.localities,
            "districts": self.districts,
            "commissions": self.commissions,
            "precincts": self.precincts,
            "placements": self.placements,
        }


def _load(session: Session, election_id: int) -> Election:
    election = session.get(Election, election_id)
    if election is None:
        raise NotFound("election")
    return election


def _has_network(session: Session, election_id: int) -> bool:
    return session.scalar(select(Region.id).where(Region.election_id == election_id)) is not None


def load_map(
    session: Session, actor: Actor, election_id: int, map_code: str, now: datetime
) -> NetworkSummary:
    """Give an empty network the regions of a shipped map (`kz-2022`, `kz-2026`)."""
    require_admin(actor)
    election = _load(session, election_id)
    require_preparing(session, election, now)
    regions = MAPS.get(map_code)
    if regions is None:
        raise InvalidInput("map", f"No map is called {map_code!r}; known: {', '.join(MAPS)}.")
    if _has_network(session, election.id):
        raise InvalidInput("map", "This election already has regions.")
    session.execute(
        insert(Region),
        [
            {
                "election_id": election.id,
                "kato": region.kato,
                "name_kk": region.name_kk,
                "name_ru": region.name_ru,
                "name_en": region.name_en,
                "time_zone": region.time_zone,
            }
            for region in regions
        ],
    )
    summary = NetworkSummary(regions=len(regions))
    _audit(
        session, actor, election, now, "network_map_loaded", {"map": map_code, **summary.counts()}
    )
    return summary


def copy_network(
    session: Session,
    actor: Actor,
    *,
    source_id: int,
    target_id: int,
    now: datetime,
    with_staff: bool = True,
) -> NetworkSummary:
    """Copy every place of `source` into the empty network of `target`, and (by default) place
    the source's staff at the copies of their precincts and commissions."""
    require_admin(actor)
    source, target = _load(session, source_id), _load(session, target_id)
    if source.id == target.id:
        raise InvalidInput("copy_from", "An election cannot copy its own network.")
    require_preparing(session, target, now)
    if _has_network(session, target.id):
        raise InvalidInput(
            "copy_from", "This election already has a network: copy into an empty one."
        )
    summary = NetworkSummary()
    regions = _copy(
        session,
        Region,
        source.id,
        target.id,
        ("kato", "name_kk", "name_ru", "name_en", "time_zone"),
        {},
    )
    localities = _copy(
        session,
        Locality,
        source.id,
        target.id,
        ("kato", "region_id", "name_kk", "name_ru", "kind"),
        {"region_id": regions},
    )
    districts = _copy(
        session,
        CityDistrict,
        source.id,
        target.id,
        ("kato", "locality_id", "name_kk", "name_ru"),
        {"locality_id": localities},
    )
    commissions = _copy(
        session,
        TerritorialCommission,
        source.id,
        target.id,
        ("region_id", "name_kk", "name_ru"),
        {"region_id": regions},
    )
    precincts = _copy(
        session,
        Precinct,
        source.id,
        target.id,
        (
            "number",
            "region_id",
            "locality_id",
            "district_id",
            "territorial_commission_id",
            "address_kk",
            "address_ru",
            "time_zone_override",
        ),
        {
            "region_id": regions,
            "locality_id": localities,
            "district_id": districts,
            "territorial_commission_id": commissions,
        },
    )
    summary.regions, summary.localities, summary.districts = (
        len(regions),
        len(localities),
        len(districts),
    )
    summary.commissions, summary.precincts = len(commissions), len(precincts)
    if with_staff:
        summary.placements = _place_copies(
            session, source.id, target.id, precincts, commissions, now
        )
    _audit(
        session,
        actor,
        target,
        now,
        "network_copied",
        {"source_election_id": source.id, **summary.counts()},
    )
    return summary


ModelWithId = (
    type[Region]
    | type[Locality]
    | type[CityDistrict]
    | type[TerritorialCommission]
    | type[Precinct]
)


def _copy(
    session: Session,
    model: ModelWithId,
    source_id: int,
    target_id: int,
    columns: tuple[str, ...],
    remap: dict[str, dict[int, int]],
) -> dict[int, int]:
    """Copy one table's rows between elections; old id -> new id."""
    table = model.__table__
    rows = session.execute(
        select(table.c.id, *(table.c[name] for name in columns))
        .where(table.c.election_id == source_id)
        .order_by(table.c.id)
    ).all()
    if not rows:
        return {}
    values = []
    for row in rows:
        item = dict(zip(columns, row[1:], strict=True))
        for column, ids in remap.items():
            if item[column] is not None:
                item[column] = ids[int(item[column])]
        values.append({"election_id": target_id, **item})
    new_ids = session.scalars(
        insert(model).returning(model.id, sort_by_parameter_order=True), values
    ).all()
    return {int(row[0]): int(new_id) for row, new_id in zip(rows, new_ids, strict=True)}


def _place_copies(
    session: Session,
    source_id: int,
    target_id: int,
    precincts: dict[int, int],
    commissions: dict[int, int],
    now: datetime,
) -> int:
    placed = {
        int(user_id)
        for user_id in session.scalars(
            select(Placement.user_id).where(Placement.election_id == target_id)
        )
    }
    rows = []
    for placement in session.scalars(select(Placement).where(Placement.election_id == source_id)):
        if placement.user_id in placed:
            continue
        rows.append(
            {
                "user_id": placement.user_id,
                "election_id": target_id,
                "precinct_id": None
                if placement.precinct_id is None
                else precincts[placement.precinct_id],
                "territorial_commission_id": None
                if placement.territorial_commission_id is None
                else commissions[placement.territorial_commission_id],
                "placed_at": now,
            }
        )
    if rows:
        session.execute(insert(Placement), rows)
    return len(rows)


def carry_over_staff(
    session: Session, actor: Actor, *, source_id: int, target_id: int, now: datetime
) -> NetworkSummary:
    """Place the staff of `source` in `target` where their precinct (same region code and number)
    or commission (same region code and Russian name) exists there too. Users already placed in
    `target` stay where they are; the ones with no match are listed, never guessed."""
    require_admin(actor)
    source, target = _load(session, source_id), _load(session, target_id)
    precincts = {
        (kato, number): precinct_id
        for precinct_id, kato, number in session.execute(
            select(Precinct.id, Region.kato, Precinct.number)
            .join(Region, Region.id == Precinct.region_id)
            .where(Precinct.election_id == target.id)
        )
    }
    commissions = {
        (kato, name): commission_id
        for commission_id, kato, name in session.execute(
            select(TerritorialCommission.id, Region.kato, TerritorialCommission.name_ru)
            .join(Region, Region.id == TerritorialCommission.region_id)
            .where(TerritorialCommission.election_id == target.id)
        )
    }
    placed = set(
        session.scalars(select(Placement.user_id).where(Placement.election_id == target.id))
    )
    summary = NetworkSummary()
    for placement, username in session.execute(
        select(Placement, User.username)
        .join(User, User.id == Placement.user_id)
        .where(Placement.election_id == source.id)
        .order_by(User.username)
    ):
        if placement.user_id in placed:
            continue
        precinct_id = commission_id = None
        if placement.precinct is not None:
            precinct_id = precincts.get((placement.precinct.region.kato, placement.precinct.number))
        if placement.territorial_commission is not None:
            commission = placement.territorial_commission
            commission_id = commissions.get((commission.region.kato, commission.name_ru))
        if precinct_id is None and commission_id is None:
            summary.unmatched_staff.append(username)
            continue
        session.add(
            Placement(
                user_id=placement.user_id,
                election_id=target.id,
                precinct_id=precinct_id,
                territorial_commission_id=commission_id,
                placed_at=now,
            )
        )
        summary.placements += 1
    session.flush()
    _audit(
        session,
        actor,
        target,
        now,
        "staff_carried_over",
        {
            "source_election_id": source.id,
            "placements": summary.placements,
            "unmatched": len(summary.unmatched_staff),
        },
    )
    return summary


def _audit(
    session: Session,
    actor: Actor,
    election: Election,
    now: datetime,
    event: str,
    payload: dict[str, object],
) -> None:
    record_event(
        session,
        actor=actor,
        moment=Moment(now, CAPITAL_ZONE),
        event=event,
        outcome="accepted",
        election_id=election.id,
        payload=payload,
    )
    session.flush()
