"""Demo data: two shipped elections, each with its map, a slice of precincts, voters, stock
and staff.

* `ref2022`: the republican referendum of 5 June 2022 (window 20 May to 4 June, 18:00), on the
  map of June 2022 (17 regions, Nur-Sultan; Almaty at UTC+6, Oral at UTC+5).
* `ref2026`: the constitutional referendum of 15 March 2026 (window 27 February to 14 March,
  18:00), on the map of March 2026 (20 regions, Astana; every clock at UTC+5), created through
  the same service an administrator uses.

`seed_demo` is idempotent: when the election exists it changes nothing. Each election gets its
own network; the demo accounts are shared, and placed in each election at the same precincts.
Voters come from a `random.Random` seeded with the election's year, so every run on an empty
database builds the same list.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

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
    RUSSIAN_FEMALE_GIVEN,
    RUSSIAN_MALE_GIVEN,
    RUSSIAN_PATRONYMICS,
    RUSSIAN_SURNAMES,
    STREETS_KK_RU,
    DistrictData,
    LocalityData,
    PrecinctData,
)
from services.audit import SYSTEM, record_event
from services.elections import ElectionInput, create_election
from services.passwords import check_password_strength, hash_password
from services.search import voter_search_key
from services.stock import add_stock_range
from workflow.calendar import Moment
from workflow.iin import build_iin

DEMO_ELECTION_CODE = "ref2022"
DEFAULT_VOTER_COUNT = 5_000
STOCK_PER_PRECINCT = 200
# The oldest demo voter was born in 1930; everyone is 18 or more on voting day.
_OLDEST_BIRTH = date(1930, 1, 1)
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


# Localities that moved to the oblasts formed on 8 June 2022: their 2026 codes (region prefix
# right, the rest plausible) and kinds (each became an oblast centre).
_MOVED_2022: dict[str, tuple[str, str, str]] = {
    "632810000": ("101010000", "100000000", "city"),  # Semey: East Kazakhstan -> Abai
    "191010000": ("331010000", "330000000", "city"),  # Taldykorgan: Almaty Region -> Zhetysu
    "351810000": ("621010000", "620000000", "city"),  # Zhezkazgan: Karaganda -> Ulytau
}


def _astana(text: str) -> str:
    """Nur-Sultan became Astana again on 17 September 2022."""
    return text.replace("Нур-Султан", "Астана").replace("Нұр-Сұлтан", "Астана")


def _locality_2026(data: LocalityData) -> LocalityData:
    kato, region_kato, kind = _MOVED_2022.get(data.kato, (data.kato, data.region_kato, data.kind))
    return LocalityData(
        kato=kato,
        region_kato=region_kato,
        name_kk=_astana(data.name_kk),
        name_ru=_astana(data.name_ru),
        kind=kind,
        districts=tuple(
            DistrictData(d.kato, _astana(d.name_kk), _astana(d.name_ru)) for d in data.districts
        ),
    )


def _precinct_2026(data: PrecinctData) -> PrecinctData:
    moved = _MOVED_2022.get(data.locality_kato)
    return PrecinctData(
        number=data.number,
        locality_kato=data.locality_kato if moved is None else moved[0],
        district_kato=data.district_kato,
        address_kk=data.address_kk,
        address_ru=data.address_ru,
        territorial_commission=_astana(data.territorial_commission),
    )


@dataclass(frozen=True, slots=True)
class DemoElection:
    """One shipped election: its calendar, map and slice of the country as of its day."""

    code: str
    map_code: str
    name_kk: str
    name_ru: str
    name_en: str
    voting_day: date
    opens_on: date
    deadline_on: date
    localities: tuple[LocalityData, ...]
    precincts: tuple[PrecinctData, ...]
    seed: int


DEMO_ELECTIONS: dict[str, DemoElection] = {
    "ref2022": DemoElection(
        code="ref2022",
        map_code="kz-2022",
        name_kk="Республикалық референдум 2022",
        name_ru="Республиканский референдум 2022 года",
        name_en="Republican referendum of 5 June 2022",
        voting_day=date(2022, 6, 5),
        opens_on=date(2022, 5, 20),
        deadline_on=date(2022, 6, 4),
        localities=DEMO_LOCALITIES,
        precincts=DEMO_PRECINCTS,
        seed=2022,
    ),
    "ref2026": DemoElection(
        code="ref2026",
        map_code="kz-2026",
        name_kk="Республикалық референдум 2026",
        name_ru="Республиканский референдум 2026 года",
        name_en="Republican referendum of 15 March 2026",
        voting_day=date(2026, 3, 15),
        opens_on=date(2026, 2, 27),
        deadline_on=date(2026, 3, 14),
        localities=tuple(_locality_2026(data) for data in DEMO_LOCALITIES),
        precincts=tuple(_precinct_2026(data) for data in DEMO_PRECINCTS),
        seed=2026,
    ),
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
    session: Session,
    now: datetime,
    *,
    voter_count: int = DEFAULT_VOTER_COUNT,
    election_code: str = DEMO_ELECTION_CODE,
) -> DemoSummary:
    """Build one demo election once; a second run finds its code and changes nothing."""
    demo = DEMO_ELECTIONS[election_code]
    existing = session.scalar(select(Election.id).where(Election.code == demo.code))
    if existing is not None:
        return DemoSummary(created=False, election_id=existing)
    summary = DemoSummary(created=True, election_id=0)
    election = _election(session, demo, now)
    summary.election_id = election.id
    regions = _regions(session, summary, election, demo)
    localities = _localities(session, summary, election, regions, demo)
    precincts = _precincts(session, summary, election, regions, localities, demo)
    summary.voters = _voters(session, election, precincts, localities, voter_count, demo)
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
    summary.passwords = _users(session, election, precincts, now)
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


def _regions(
    session: Session, summary: DemoSummary, election: Election, demo: DemoElection
) -> dict[str, Region]:
    found: dict[str, Region] = {}
    for data in MAPS[demo.map_code]:
        region = Region(
            election_id=election.id,
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
    session: Session,
    summary: DemoSummary,
    election: Election,
    regions: dict[str, Region],
    demo: DemoElection,
) -> dict[str, tuple[Locality, LocalityData]]:
    result: dict[str, tuple[Locality, LocalityData]] = {}
    for data in demo.localities:
        locality = Locality(
            election_id=election.id,
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
            session.add(
                CityDistrict(
                    election_id=election.id,
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
    election: Election,
    regions: dict[str, Region],
    localities: dict[str, tuple[Locality, LocalityData]],
    demo: DemoElection,
) -> list[Precinct]:
    """The demo precincts in reference order (their index fixes their stock range)."""
    districts = {
        row.kato: row.id
        for row in session.scalars(
            select(CityDistrict).where(CityDistrict.election_id == election.id)
        )
    }
    commissions: dict[tuple[int, str], TerritorialCommission] = {}
    precincts = []
    for data in demo.precincts:
        locality, locality_data = localities[data.locality_kato]
        region = regions[locality_data.region_kato]
        commission = commissions.get((region.id, data.territorial_commission))
        if commission is None:
            commission = _commission(data, region, locality, election)
            session.add(commission)
            session.flush()
            commissions[(region.id, data.territorial_commission)] = commission
            summary.commissions += 1
        precinct = Precinct(
            election_id=election.id,
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


def _commission(
    data: PrecinctData, region: Region, locality: Locality, election: Election
) -> TerritorialCommission:
    names_kk = {_astana(ru): _astana(kk) for ru, kk in COMMISSION_NAMES_KK.items()}
    name_kk = COMMISSION_NAMES_KK.get(data.territorial_commission) or names_kk.get(
        data.territorial_commission, f"{locality.name_kk} аумақтық комиссиясы"
    )
    return TerritorialCommission(
        election_id=election.id,
        region_id=region.id,
        name_kk=name_kk,
        name_ru=data.territorial_commission,
    )


def _election(session: Session, demo: DemoElection, now: datetime) -> Election:
    """The demo election with the default policies (domain.md §1, §6).

    The 2022 referendum predates number series: it is written as it was, numbers without one.
    Every later election is created through the administrator's own service.
    """
    if demo.code == DEMO_ELECTION_CODE:
        election = Election(
            code=demo.code,
            kind="referendum",
            name_kk=demo.name_kk,
            name_ru=demo.name_ru,
            name_en=demo.name_en,
            voting_day=demo.voting_day,
            issue_opens_on=demo.opens_on,
            issue_opens_at=time(0, 0),
            issue_deadline_on=demo.deadline_on,
            issue_deadline_at=time(18, 0),
            voting_opens_at=time(7, 0),
            voting_closes_at=time(20, 0),
            created_at=now,
        )
        session.add(election)
        session.flush()
        return election
    return create_election(
        session,
        SYSTEM,
        ElectionInput(
            code=demo.code,
            name_kk=demo.name_kk,
            name_ru=demo.name_ru,
            name_en=demo.name_en,
            voting_day=demo.voting_day,
            issue_opens_on=demo.opens_on,
            issue_deadline_on=demo.deadline_on,
        ),
        now,
    )


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
    demo: DemoElection,
) -> int:
    """Bulk-insert `count` voters with valid, unique IINs spread over the precincts."""
    rng = random.Random(demo.seed)
    locality_data = {locality.id: data for locality, data in localities.values()}
    youngest = demo.voting_day.replace(year=demo.voting_day.year - 18)
    span = (youngest - _OLDEST_BIRTH).days
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


def _users(
    session: Session, election: Election, precincts: list[Precinct], now: datetime
) -> dict[str, str]:
    """Create the missing demo accounts and place each in this election; return the plain
    passwords of the accounts created (shown once)."""
    existing = {
        user.username: user
        for user in session.scalars(
            select(User).where(User.username.in_([u.username for u in DEMO_USERS]))
        )
    }
    by_place = {(p.locality.kato, p.number): p for p in precincts}
    passwords: dict[str, str] = {}
    for demo in DEMO_USERS:
        user = existing.get(demo.username)
        if user is None:
            password = new_demo_password()
            user = User(
                username=demo.username,
                full_name=demo.full_name,
                password_hash=hash_password(password),
                role=demo.role,
            )
            session.add(user)
            session.flush()
            passwords[demo.username] = password
        precinct_id = None
        commission_id = None
        if demo.precinct_number is not None and demo.locality_kato is not None:
            precinct_id = by_place[(demo.locality_kato, demo.precinct_number)].id
        if demo.commission_of_precinct is not None and demo.locality_kato is not None:
            commission_id = by_place[
                (demo.locality_kato, demo.commission_of_precinct)
            ].territorial_commission_id
        if precinct_id is not None or commission_id is not None:
            session.add(
                Placement(
                    user_id=user.id,
                    election_id=election.id,
                    precinct_id=precinct_id,
                    territorial_commission_id=commission_id,
                    placed_at=now,
                )
            )
    session.flush()
    return passwords
