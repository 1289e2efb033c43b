"""Test data: a small country for one election, built through the models directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import count

from sqlalchemy.orm import Session

from models import (
    CityDistrict,
    Election,
    Locality,
    Precinct,
    Region,
    Role,
    StockRange,
    TerritorialCommission,
    User,
    VoterEntry,
)
from services.audit import Actor
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
        user = self.users[name]
        return Actor(user.id, user.role.value, user.precinct_id, user.territorial_commission_id)


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
    almaty_region = Region(
        kato="750000000",
        name_kk="Алматы",
        name_ru="Алматы",
        name_en="Almaty",
        time_zone="Asia/Almaty",
    )
    west = Region(
        kato="270000000",
        name_kk="Батыс Қазақстан облысы",
        name_ru="Западно-Казахстанская область",
        name_en="West Kazakhstan",
        time_zone="Asia/Oral",
    )
    session.add_all([election, almaty_region, west])
    session.flush()
    almaty = Locality(
        kato="750000000",
        region_id=almaty_region.id,
        name_kk="Алматы",
        name_ru="Алматы",
        kind="city",
    )
    oral = Locality(
        kato="271010000", region_id=west.id, name_kk="Орал", name_ru="Уральск", kind="city"
    )
    derkul = Locality(
        kato="271033100", region_id=west.id, name_kk="Деркөл", name_ru="Деркул", kind="village"
    )
    session.add_all([almaty, oral, derkul])
    session.flush()
    almaly = CityDistrict(
        kato="751110000", locality_id=almaty.id, name_kk="Алмалы", name_ru="Алмалинский"
    )
    bostandyk = CityDistrict(
        kato="751410000", locality_id=almaty.id, name_kk="Бостандық", name_ru="Бостандыкский"
    )
    tc_almaty = TerritorialCommission(
        region_id=almaty_region.id, name_kk="Алматы ТК", name_ru="Алматинская ТК"
    )
    tc_west = TerritorialCommission(region_id=west.id, name_kk="Орал ТК", name_ru="Уральская ТК")
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
            precinct_id=world.almaty_almaly.id,
        ),
        "clerk_bostandyk": User(
            username="clerk_bostandyk",
            full_name="Ербол Жанұзақов",
            password_hash="x",
            role=Role.CLERK,
            precinct_id=world.almaty_bostandyk.id,
        ),
        "clerk_oral": User(
            username="clerk_oral",
            full_name="Мария Петрова",
            password_hash="x",
            role=Role.CLERK,
            precinct_id=world.oral_precinct.id,
        ),
        "checkin_oral": User(
            username="checkin_oral",
            full_name="Данияр Әлиев",
            password_hash="x",
            role=Role.CHECKIN,
            precinct_id=world.oral_precinct.id,
        ),
        "checkin_derkul": User(
            username="checkin_derkul",
            full_name="Гүлнар Қасымова",
            password_hash="x",
            role=Role.CHECKIN,
            precinct_id=world.derkul_precinct.id,
        ),
        "checkin_bostandyk": User(
            username="checkin_bostandyk",
            full_name="Olga Ivanova",
            password_hash="x",
            role=Role.CHECKIN,
            precinct_id=world.almaty_bostandyk.id,
        ),
        "territorial_west": User(
            username="territorial_west",
            full_name="ТК",
            password_hash="x",
            role=Role.TERRITORIAL,
            territorial_commission_id=tc_west.id,
        ),
    }
    session.add_all(users.values())
    session.flush()
    world.users = users
    return world
