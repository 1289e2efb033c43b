"""Demo data: the 2022 referendum with its regions, a slice of precincts, voters, stock and staff.

`seed_demo` is idempotent: when the election "ref2022" exists it changes nothing. Reference rows
(regions, localities, districts, commissions, precincts, users) are found by their natural keys
before being created, so a database that already holds some of them gains no duplicates.
Voters come from a `random.Random(2022)`, so every run on an empty database builds the same list.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from models import (
    CityDistrict,
    Election,
    Locality,
    Precinct,
    Region,
    Role,
    TerritorialCommission,
    User,
    VoterEntry,
)
from seed.reference import (
    ALMATY_CITY,
    DEMO_LOCALITIES,
    DEMO_PRECINCTS,
    KAZAKH_FEMALE_GIVEN,
    KAZAKH_MALE_GIVEN,
    KAZAKH_PATRONYMIC_BASES,
    KAZAKH_SURNAMES,
    NUR_SULTAN_CITY,
    ORAL_CITY,
    REGIONS_2022,
    RUSSIAN_FEMALE_GIVEN,
    RUSSIAN_MALE_GIVEN,
    RUSSIAN_PATRONYMICS,
    RUSSIAN_SURNAMES,
    STREETS_KK_RU,
    LocalityData,
    PrecinctData,
)
from services.audit import SYSTEM, record_event
from services.passwords import check_password_strength, hash_password
from services.search import voter_search_key
from services.stock import add_stock_range
from workflow.calendar import Moment
from workflow.iin import build_iin

DEMO_ELECTION_CODE = "ref2022"
DEFAULT_VOTER_COUNT = 5_000
STOCK_PER_PRECINCT = 200
SEED = 2022
# Citizens of 18 or more on voting day (5 June 2022); the oldest demo voter was born in 1930.
_OLDEST_BIRTH = date(1930, 1, 1)
_YOUNGEST_BIRTH = date(2004, 6, 5)
_KAZAKH_SHARE = 0.7
_FEMALE_SHARE = 0.53
_SYSTEM_ZONE = "Asia/Almaty"

# Kazakh names of the demo commissions; the reference data carries the Russian ones only.
COMMISSION_NAMES_KK: dict[str, str] = {
    "Алмалинская районная территориальная комиссия г. Алматы": (
        "Алматы қаласы Алмалы аудандық аумақтық комиссиясы"
    ),
    "Ауэзовская районная территориальная комиссия г. Алматы": (
        "Алматы қаласы Әуезов аудандық аумақтық комиссиясы"
    ),
    "Бостандыкская районная территориальная комиссия г. Алматы": (
        "Алматы қаласы Бостандық аудандық аумақтық комиссиясы"
    ),
    "Медеуская районная территориальная комиссия г. Алматы": (
        "Алматы қаласы Медеу аудандық аумақтық комиссиясы"
    ),
    "Территориальная комиссия района Алматы г. Нур-Султан": (
        "Нұр-Сұлтан қаласы Алматы ауданының аумақтық комиссиясы"
    ),
    "Территориальная комиссия района Есиль г. Нур-Султан": (
        "Нұр-Сұлтан қаласы Есіл ауданының аумақтық комиссиясы"
    ),
    "Территориальная комиссия района Сарыарка г. Нур-Султан": (
        "Нұр-Сұлтан қаласы Сарыарқа ауданының аумақтық комиссиясы"
    ),
    "Территориальная комиссия района Байконур г. Нур-Султан": (
        "Нұр-Сұлтан қаласы Байқоңыр ауданының аумақтық комиссиясы"
    ),
    "Аль-Фарабийская районная территориальная комиссия г. Шымкент": (
        "Шымкент қаласы Әл-Фараби аудандық аумақтық комиссиясы"
    ),
    "Уральская городская территориальная комиссия": "Орал қалалық аумақтық комиссиясы",
    "Байтерекская районная территориальная комиссия": "Бәйтерек аудандық аумақтық комиссиясы",
    "Территориальная комиссия района Астана г. Актобе": (
        "Ақтөбе қаласы Астана ауданының аумақтық комиссиясы"
    ),
    "Территориальная комиссия района Алматы г. Актобе": (
        "Ақтөбе қаласы Алматы ауданының аумақтық комиссиясы"
    ),
    "Территориальная комиссия района имени Казыбек би г. Караганды": (
        "Қарағанды қаласы Қазыбек би атындағы ауданның аумақтық комиссиясы"
    ),
    "Территориальная комиссия района Әлихан Бөкейхан г. Караганды": (
        "Қарағанды қаласы Әлихан Бөкейхан ауданының аумақтық комиссиясы"
    ),
    "Костанайская городская территориальная комиссия": "Қостанай қалалық аумақтық комиссиясы",
    "Павлодарская городская территориальная комиссия": "Павлодар қалалық аумақтық комиссиясы",
    "Таразская городская территориальная комиссия": "Тараз қалалық аумақтық комиссиясы",
    "Кызылординская городская территориальная комиссия": ("Қызылорда қалалық аумақтық комиссиясы"),
    "Актауская городская территориальная комиссия": "Ақтау қалалық аумақтық комиссиясы",
    "Атырауская городская территориальная комиссия": "Атырау қалалық аумақтық комиссиясы",
    "Семейская городская территориальная комиссия": "Семей қалалық аумақтық комиссиясы",
    "Усть-Каменогорская городская территориальная комиссия": (
        "Өскемен қалалық аумақтық комиссиясы"
    ),
    "Кокшетауская городская территориальная комиссия": "Көкшетау қалалық аумақтық комиссиясы",
    "Петропавловская городская территориальная комиссия": ("Петропавл қалалық аумақтық комиссиясы"),
    "Туркестанская городская территориальная комиссия": ("Түркістан қалалық аумақтық комиссиясы"),
    "Талдыкорганская городская территориальная комиссия": (
        "Талдықорған қалалық аумақтық комиссиясы"
    ),
    "Жезказганская городская территориальная комиссия": ("Жезқазған қалалық аумақтық комиссиясы"),
}


@dataclass(frozen=True, slots=True)
class DemoUser:
    """One demo account: where it works is named by locality and precinct number."""

    username: str
    role: Role
    full_name: str
    locality_kato: str | None = None
    precinct_number: int | None = None
    # For the territorial account: the commission of this precinct.
    commission_of_precinct: int | None = None


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", Role.ADMIN, "Ерлан Қожахметов"),
    DemoUser(
        "territorial",
        Role.TERRITORIAL,
        "Гүлмира Сәрсенбаева",
        locality_kato=ALMATY_CITY,
        commission_of_precinct=41,
    ),
    DemoUser("clerk", Role.CLERK, "Айгүл Нұрпейісова", ALMATY_CITY, 41),
    DemoUser("clerk2", Role.CLERK, "Мария Петрова", ORAL_CITY, 1),
    # Another Oral precinct than clerk2's: the same-locality refusal can be shown at once.
    DemoUser("checkin", Role.CHECKIN, "Данияр Әлиев", ORAL_CITY, 15),
    DemoUser("checkin2", Role.CHECKIN, "Салтанат Ермекова", NUR_SULTAN_CITY, 12),
    DemoUser("observer", Role.OBSERVER, "Виктор Ким"),
)


@dataclass
class DemoSummary:
    """What one run created; `passwords` holds plain passwords of accounts created by this run."""

    created: bool
    election_id: int
    regions: int = 0
    localities: int = 0
    districts: int = 0
    commissions: int = 0
    precincts: int = 0
    voters: int = 0
    stock_ranges: int = 0
    passwords: dict[str, str] = field(default_factory=dict)


def seed_demo(
    session: Session, now: datetime, *, voter_count: int = DEFAULT_VOTER_COUNT
) -> DemoSummary:
    """Build the demo country once; a second run finds "ref2022" and changes nothing."""
    existing = session.scalar(select(Election.id).where(Election.code == DEMO_ELECTION_CODE))
    if existing is not None:
        return DemoSummary(created=False, election_id=existing)
    summary = DemoSummary(created=True, election_id=0)
    regions = _regions(session, summary)
    localities = _localities(session, summary, regions)
    precincts = _precincts(session, summary, regions, localities)
    election = _election(session)
    summary.election_id = election.id
    summary.voters = _voters(session, election, precincts, localities, voter_count)
    for index, precinct in enumerate(precincts):
        add_stock_range(
            session,
            SYSTEM,
            election_id=election.id,
            precinct_id=precinct.id,
            first_serial=1000 * index + 1,
            last_serial=1000 * index + STOCK_PER_PRECINCT,
            moment=Moment(now, precinct.time_zone),
        )
        summary.stock_ranges += 1
    summary.passwords = _users(session, precincts)
    record_event(
        session,
        actor=SYSTEM,
        moment=Moment(now, _SYSTEM_ZONE),
        event="demo_seeded",
        outcome="accepted",
        election_id=election.id,
        payload={
            "regions": summary.regions,
            "precincts": summary.precincts,
            "voters": summary.voters,
            "users": sorted(summary.passwords),
        },
    )
    session.flush()
    return summary


def _regions(session: Session, summary: DemoSummary) -> dict[str, Region]:
    found = {region.kato: region for region in session.scalars(select(Region))}
    for data in REGIONS_2022:
        if data.kato not in found:
            region = Region(
                kato=data.kato,
                name_kk=data.name_kk,
                name_ru=data.name_ru,
                name_en=data.name_en,
                time_zone=data.time_zone,
            )
            session.add(region)
            found[data.kato] = region
            summary.regions += 1
    session.flush()
    return found


def _localities(
    session: Session, summary: DemoSummary, regions: dict[str, Region]
) -> dict[str, tuple[Locality, LocalityData]]:
    katos = [data.kato for data in DEMO_LOCALITIES]
    found = {
        row.kato: row for row in session.scalars(select(Locality).where(Locality.kato.in_(katos)))
    }
    district_katos = [d.kato for data in DEMO_LOCALITIES for d in data.districts]
    districts = {
        row.kato
        for row in session.scalars(
            select(CityDistrict).where(CityDistrict.kato.in_(district_katos))
        )
    }
    result: dict[str, tuple[Locality, LocalityData]] = {}
    for data in DEMO_LOCALITIES:
        locality = found.get(data.kato)
        if locality is None:
            locality = Locality(
                kato=data.kato,
                region_id=regions[data.region_kato].id,
                name_kk=data.name_kk,
                name_ru=data.name_ru,
                kind=data.kind,
            )
            session.add(locality)
            session.flush()
            summary.localities += 1
        for district in data.districts:
            if district.kato not in districts:
                session.add(
                    CityDistrict(
                        kato=district.kato,
                        locality_id=locality.id,
                        name_kk=district.name_kk,
                        name_ru=district.name_ru,
                    )
                )
                summary.districts += 1
        result[data.kato] = (locality, data)
    session.flush()
    return result


def _precincts(
    session: Session,
    summary: DemoSummary,
    regions: dict[str, Region],
    localities: dict[str, tuple[Locality, LocalityData]],
) -> list[Precinct]:
    """The demo precincts in reference order (their index fixes their stock range)."""
    districts = {row.kato: row.id for row in session.scalars(select(CityDistrict))}
    commissions = {
        (row.region_id, row.name_ru): row for row in session.scalars(select(TerritorialCommission))
    }
    existing = {(row.region_id, row.number): row for row in session.scalars(select(Precinct))}
    precincts = []
    for data in DEMO_PRECINCTS:
        locality, locality_data = localities[data.locality_kato]
        region = regions[locality_data.region_kato]
        precinct = existing.get((region.id, data.number))
        if precinct is None:
            commission = commissions.get((region.id, data.territorial_commission))
            if commission is None:
                commission = _commission(data, region, locality)
                session.add(commission)
                session.flush()
                commissions[(region.id, data.territorial_commission)] = commission
                summary.commissions += 1
            precinct = Precinct(
                number=data.number,
                region_id=region.id,
                locality_id=locality.id,
                district_id=None if data.district_kato is None else districts[data.district_kato],
                territorial_commission_id=commission.id,
                address_kk=data.address_kk,
                address_ru=data.address_ru,
            )
            session.add(precinct)
            summary.precincts += 1
        precincts.append(precinct)
    session.flush()
    return precincts


def _commission(data: PrecinctData, region: Region, locality: Locality) -> TerritorialCommission:
    name_kk = COMMISSION_NAMES_KK.get(
        data.territorial_commission, f"{locality.name_kk} аумақтық комиссиясы"
    )
    return TerritorialCommission(
        region_id=region.id, name_kk=name_kk, name_ru=data.territorial_commission
    )


def _election(session: Session) -> Election:
    """The republican referendum of 5 June 2022 with the default policies (domain.md §1, §6)."""
    election = Election(
        code=DEMO_ELECTION_CODE,
        name_kk="Республикалық референдум 2022",
        name_ru="Республиканский референдум 2022 года",
        name_en="Republican referendum of 5 June 2022",
        voting_day=date(2022, 6, 5),
        issue_opens_on=date(2022, 5, 20),
        issue_opens_at=time(0, 0),
        issue_deadline_on=date(2022, 6, 4),
        issue_deadline_at=time(18, 0),
        voting_opens_at=time(7, 0),
        voting_closes_at=time(20, 0),
    )
    session.add(election)
    session.flush()
    return election


# --------------------------------------------------------------------------------------------
# Voters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Person:
    surname: str
    given_name: str
    patronymic: str | None
    male: bool
    kazakh: bool


def _person(rng: random.Random, born: date) -> _Person:
    male = rng.random() >= _FEMALE_SHARE
    kazakh = rng.random() < _KAZAKH_SHARE
    if kazakh:
        surname = rng.choice(KAZAKH_SURNAMES)[0 if male else 1]
        given = rng.choice(KAZAKH_MALE_GIVEN if male else KAZAKH_FEMALE_GIVEN)
        father_kk, father_ru = rng.choice(KAZAKH_PATRONYMIC_BASES)
        # The Kazakh form ("Серікұлы") spread after independence; older documents keep "-ович".
        kazakh_style = rng.random() < (0.3 if born.year < 1970 else 0.65)
        if rng.random() < 0.02:
            patronymic = None  # some lists have none (the column is optional)
        elif kazakh_style:
            patronymic = father_kk + ("ұлы" if male else "қызы")
        else:
            patronymic = father_ru + ("ович" if male else "овна")
    else:
        surname = rng.choice(RUSSIAN_SURNAMES)[0 if male else 1]
        given = rng.choice(RUSSIAN_MALE_GIVEN if male else RUSSIAN_FEMALE_GIVEN)
        patronymic = rng.choice(RUSSIAN_PATRONYMICS)[0 if male else 1]
    return _Person(surname, given, patronymic, male, kazakh)


def _address(rng: random.Random, data: LocalityData, in_kazakh: bool) -> str:
    street_kk, street_ru = rng.choice(STREETS_KK_RU)
    house = rng.randint(1, 180)
    flat = rng.randint(1, 140) if data.kind != "village" and rng.random() < 0.75 else None
    if in_kazakh:
        place = f"{data.name_kk} {'ауылы' if data.kind == 'village' else 'қ.'}"
        flat_part = "" if flat is None else f", {flat}-пәтер"
        return f"{place}, {street_kk}, {house}-үй{flat_part}"
    place = f"{'с.' if data.kind == 'village' else 'г.'} {data.name_ru}"
    flat_part = "" if flat is None else f", кв. {flat}"
    return f"{place}, {street_ru}, д. {house}{flat_part}"


def _voters(
    session: Session,
    election: Election,
    precincts: list[Precinct],
    localities: dict[str, tuple[Locality, LocalityData]],
    count: int,
) -> int:
    """Bulk-insert `count` voters with valid, unique IINs spread over the precincts."""
    rng = random.Random(SEED)
    locality_data = {locality.id: data for locality, data in localities.values()}
    span = (_YOUNGEST_BIRTH - _OLDEST_BIRTH).days
    seen: set[str] = set()
    rows = []
    for _ in range(count):
        precinct = rng.choice(precincts)
        born = _OLDEST_BIRTH + timedelta(days=rng.randint(0, span))
        person = _person(rng, born)
        iin = None
        while iin is None or iin in seen:
            iin = build_iin(born, person.male, rng.randint(0, 9999))
        seen.add(iin)
        in_kazakh = person.kazakh and rng.random() < 0.5
        rows.append(
            {
                "election_id": election.id,
                "precinct_id": precinct.id,
                "iin": iin,
                "surname": person.surname,
                "given_name": person.given_name,
                "patronymic": person.patronymic,
                "birth_date": born,
                "address": _address(rng, locality_data[precinct.locality_id], in_kazakh),
                "search_key": voter_search_key(
                    person.surname, person.given_name, person.patronymic
                ),
            }
        )
    if rows:
        session.execute(insert(VoterEntry), rows)
    return len(rows)


# --------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------


def new_demo_password() -> str:
    """A random password that passes the strength rule (token_urlsafe(9) is 12 characters)."""
    while True:
        password = secrets.token_urlsafe(9)
        if check_password_strength(password) is None:
            return password


def _users(session: Session, precincts: list[Precinct]) -> dict[str, str]:
    """Create the missing demo accounts; return their plain passwords (shown once)."""
    existing = set(
        session.scalars(
            select(User.username).where(User.username.in_([u.username for u in DEMO_USERS]))
        )
    )
    by_place = {(p.locality.kato, p.number): p for p in precincts}
    passwords: dict[str, str] = {}
    for demo in DEMO_USERS:
        if demo.username in existing:
            continue
        precinct_id = None
        commission_id = None
        if demo.precinct_number is not None and demo.locality_kato is not None:
            precinct_id = by_place[(demo.locality_kato, demo.precinct_number)].id
        if demo.commission_of_precinct is not None and demo.locality_kato is not None:
            commission_id = by_place[
                (demo.locality_kato, demo.commission_of_precinct)
            ].territorial_commission_id
        password = new_demo_password()
        session.add(
            User(
                username=demo.username,
                full_name=demo.full_name,
                password_hash=hash_password(password),
                role=demo.role,
                precinct_id=precinct_id,
                territorial_commission_id=commission_id,
            )
        )
        passwords[demo.username] = password
    session.flush()
    return passwords
