"""Test data: a small country for one election, built through the models directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import count

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    CityDistrict,
    Election,
    Locality,
    Placement,
    Precinct,
    Region,
    Role,
    StockRange,
    TerritorialCommission,
    User,
    VoterEntry,
)
from services.accounts import actor_of
from services.audit import SYSTEM, Actor
from services.elections import ElectionInput, create_election
from services.network import copy_network
from services.search import voter_search_key
from workflow.iin import build_iin

_serials = count(1)


def make_iin(birth: date = date(1990, 1, 1), male: bool = True) -> str:
    """A valid IIN, different on every call."""
    while True:
        iin = build_iin(birth, male, next(_serials) % 10000)
        if iin is not None:
            return iin


@dataclass
class World:
    """Handles to everything a workflow test needs."""

    election: Election
    almaty: Locality
    oral: Locality
    derkul: Locality
    almaty_almaly: Precinct  # Almaty, Almaly district (UTC+6 in 2022)
    almaty_bostandyk: Precinct  # Almaty, Bostandyk district: same locality as the one above
    oral_precinct: Precinct  # Oral, West Kazakhstan (UTC+5 in 2022)
    derkul_precinct: Precinct  # a village under Oral's administration: its own locality
    users: dict[str, User] = field(default_factory=dict)

    def actor(self, name: str) -> Actor:
        return actor_of(self.users[name])


def make_voter(
    session: Session, world: World, precinct: Precinct, surname: str = "Нұрланов", **extra: object
) -> VoterEntry:
    values: dict[str, object] = {
        "election_id": world.election.id,
        "precinct_id": precinct.id,
        "iin": make_iin(),
        "surname": surname,
        "given_name": "Асқар",
        "patronymic": "Серікұлы",
        "birth_date": date(1990, 1, 1),
        "address": "ул. Абая, 1",
    }
    values.update(extra)
    values["search_key"] = voter_search_key(
        str(values["surname"]),
        str(values["given_name"]),
        values.get("patronymic"),  # type: ignore[arg-type]
    )
    voter = VoterEntry(**values)
    session.add(voter)
    session.flush()
    return voter


def make_world(session: Session, *, stock: int = 50, **election_settings: object) -> World:
    """The 2022 referendum with four precincts in two regions, stock, and one user per role."""
    election = Election(
        code="ref2022",
        name_kk="Республикалық референдум",
        name_ru="Республиканский референдум",
        name_en="Republican referendum",
        voting_day=date(2022, 6, 5),
        issue_opens_on=date(2022, 5, 20),
        issue_deadline_on=date(2022, 6, 4),
        **election_settings,
    )
    session.add(election)
    session.flush()
    almaty_region = Region(
        election_id=election.id,
        kato="750000000",
        name_kk="Алматы",
        name_ru="Алматы",
        name_en="Almaty",
        time_zone="Asia/Almaty",
    )
    west = Region(
        election_id=election.id,
        kato="270000000",
        name_kk="Батыс Қазақстан облысы",
        name_ru="Западно-Казахстанская область",
        name_en="West Kazakhstan",
        time_zone="Asia/Oral",
    )
    session.add_all([almaty_region, west])
    session.flush()
    almaty = Locality(
        election_id=election.id,
        kato="750000000",
        region_id=almaty_region.id,
        name_kk="Алматы",
        name_ru="Алматы",
        kind="city",
    )
    oral = Locality(
        election_id=election.id,
        kato="271010000",
        region_id=west.id,
        name_kk="Орал",
        name_ru="Уральск",
        kind="city",
    )
    derkul = Locality(
        election_id=election.id,
        kato="271033100",
        region_id=west.id,
        name_kk="Деркөл",
        name_ru="Деркул",
        kind="village",
    )
    session.add_all([almaty, oral, derkul])
    session.flush()
    almaly = CityDistrict(
        election_id=election.id,
        kato="751110000",
        locality_id=almaty.id,
        name_kk="Алмалы",
        name_ru="Алмалинский",
    )
    bostandyk = CityDistrict(
        election_id=election.id,
        kato="751410000",
        locality_id=almaty.id,
        name_kk="Бостандық",
        name_ru="Бостандыкский",
    )
    tc_almaty = TerritorialCommission(
        election_id=election.id,
        region_id=almaty_region.id,
        name_kk="Алматы ТК",
        name_ru="Алматинская ТК",
    )
    tc_west = TerritorialCommission(
        election_id=election.id, region_id=west.id, name_kk="Орал ТК", name_ru="Уральская ТК"
    )
    session.add_all([almaly, bostandyk, tc_almaty, tc_west])
    session.flush()

    def precinct(
        number: int,
        region: Region,
        locality: Locality,
        district: CityDistrict | None,
        commission: TerritorialCommission,
    ) -> Precinct:
        row = Precinct(
            election_id=election.id,
            number=number,
            region_id=region.id,
            locality_id=locality.id,
            district_id=None if district is None else district.id,
            territorial_commission_id=commission.id,
            address_kk=f"{number} учаске",
            address_ru=f"участок {number}",
        )
        session.add(row)
        return row

    world = World(
        election=election,
        almaty=almaty,
        oral=oral,
        derkul=derkul,
        almaty_almaly=precinct(101, almaty_region, almaty, almaly, tc_almaty),
        almaty_bostandyk=precinct(205, almaty_region, almaty, bostandyk, tc_almaty),
        oral_precinct=precinct(301, west, oral, None, tc_west),
        derkul_precinct=precinct(350, west, derkul, None, tc_west),
    )
    session.flush()
    base = 1
    for row in (
        world.almaty_almaly,
        world.almaty_bostandyk,
        world.oral_precinct,
        world.derkul_precinct,
    ):
        session.add(
            StockRange(
                election_id=election.id,
                precinct_id=row.id,
                first_serial=base,
                last_serial=base + stock - 1,
                next_serial=base,
            )
        )
        base += 1000
    users = {
        "admin": User(username="admin", full_name="Admin", password_hash="x", role=Role.ADMIN),
        "clerk_almaly": User(
            username="clerk_almaly",
            full_name="Айгүл Сейітова",
            password_hash="x",
            role=Role.CLERK,
        ),
        "clerk_bostandyk": User(
            username="clerk_bostandyk",
            full_name="Ербол Жанұзақов",
            password_hash="x",
            role=Role.CLERK,
        ),
        "clerk_oral": User(
            username="clerk_oral",
            full_name="Мария Петрова",
            password_hash="x",
            role=Role.CLERK,
        ),
        "checkin_oral": User(
            username="checkin_oral",
            full_name="Данияр Әлиев",
            password_hash="x",
            role=Role.CHECKIN,
        ),
        "checkin_derkul": User(
            username="checkin_derkul",
            full_name="Гүлнар Қасымова",
            password_hash="x",
            role=Role.CHECKIN,
        ),
        "checkin_bostandyk": User(
            username="checkin_bostandyk",
            full_name="Olga Ivanova",
            password_hash="x",
            role=Role.CHECKIN,
        ),
        "territorial_west": User(
            username="territorial_west",
            full_name="ТК",
            password_hash="x",
            role=Role.TERRITORIAL,
        ),
    }
    session.add_all(users.values())
    session.flush()
    placements = [
        ("clerk_almaly", world.almaty_almaly.id, None),
        ("clerk_bostandyk", world.almaty_bostandyk.id, None),
        ("clerk_oral", world.oral_precinct.id, None),
        ("checkin_oral", world.oral_precinct.id, None),
        ("checkin_derkul", world.derkul_precinct.id, None),
        ("checkin_bostandyk", world.almaty_bostandyk.id, None),
        ("territorial_west", None, tc_west.id),
    ]
    for name, precinct_id, commission_id in placements:
        session.add(
            Placement(
                user_id=users[name].id,
                election_id=election.id,
                precinct_id=precinct_id,
                territorial_commission_id=commission_id,
            )
        )
    session.flush()
    for user in users.values():
        session.refresh(user)
    world.users = users
    return world


def make_election_copy(
    session: Session,
    world: World,
    *,
    code: str = "ref2026",
    kind: str = "referendum",
    voting_day: date = date(2026, 3, 15),
    opens_on: date = date(2026, 2, 27),
    deadline_on: date = date(2026, 3, 14),
    with_staff: bool = False,
    name_en: str | None = None,
) -> Election:
    """Another election on a copy of the world's network (rows of its own), committed.

    By default the 15 March 2026 referendum with nobody placed; a by-election on the world's own
    voting day is `make_election_copy(..., code="by2022", kind="by_election",
    voting_day=date(2022, 6, 5), opens_on=date(2022, 5, 20), deadline_on=date(2022, 6, 4))`.
    It is created and copied on 1 May 2022, while both elections are being prepared.
    """
    prepared = datetime(2022, 5, 1, 6, 0, tzinfo=UTC)
    election = create_election(
        session,
        SYSTEM,
        ElectionInput(
            code=code,
            kind=kind,
            name_kk=f"Сайлау {code}",
            name_ru=f"Выборы {code}",
            name_en=name_en or f"Election {code}",
            voting_day=voting_day,
            issue_opens_on=opens_on,
            issue_deadline_on=deadline_on,
        ),
        prepared,
    )
    copy_network(
        session,
        SYSTEM,
        source_id=world.election.id,
        target_id=election.id,
        now=prepared,
        with_staff=with_staff,
    )
    session.commit()
    return election


def precinct_in(session: Session, election: Election, precinct: Precinct) -> Precinct:
    """The precinct of `election` with the same region code and number as `precinct`."""
    return session.scalars(
        select(Precinct)
        .join(Region, Region.id == Precinct.region_id)
        .where(
            Precinct.election_id == election.id,
            Region.kato == precinct.region.kato,
            Precinct.number == precinct.number,
        )
    ).one()
