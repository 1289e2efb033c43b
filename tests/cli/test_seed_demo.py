"""`flask seed-demo`: the 2022 demo country, built once, with valid and plausible voters."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
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
from seed.reference import (
    DEMO_PRECINCTS,
    KAZAKH_FEMALE_GIVEN,
    KAZAKH_MALE_GIVEN,
    RUSSIAN_FEMALE_GIVEN,
    RUSSIAN_MALE_GIVEN,
)
from services.passwords import verify_password
from services.search import voter_search_key
from workflow.iin import parse_iin

TABLES = (
    Region,
    Locality,
    CityDistrict,
    TerritorialCommission,
    Precinct,
    Election,
    VoterEntry,
    StockRange,
    User,
)
PASSWORD_LINE = re.compile(r"^ {2}(\S+) +(\S+)$", re.MULTILINE)
FEMALE_GIVEN = frozenset(KAZAKH_FEMALE_GIVEN + RUSSIAN_FEMALE_GIVEN)
MALE_GIVEN = frozenset(KAZAKH_MALE_GIVEN + RUSSIAN_MALE_GIVEN)


def table_counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        model.__name__: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model in TABLES
    }


def test_seed_demo_builds_the_country_once_and_a_second_run_changes_nothing(
    app: Flask, session: Session
) -> None:
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed-demo"])

    assert first.exit_code == 0, first.output
    counts = table_counts(session)
    assert counts["Region"] == 17
    assert counts["Precinct"] == len(DEMO_PRECINCTS)
    assert counts["Election"] == 1
    assert counts["StockRange"] == len(DEMO_PRECINCTS)
    assert counts["User"] == 7
    assert 4_500 <= counts["VoterEntry"] <= 5_500

    second = runner.invoke(args=["seed-demo"])

    assert second.exit_code == 0, second.output
    assert "already present" in second.output
    assert not PASSWORD_LINE.search(second.output)
    assert table_counts(session) == counts

    # The first run printed each password once, and it is the one stored (hashed).
    printed = dict(PASSWORD_LINE.findall(first.output))
    assert set(printed) == {
        "admin",
        "territorial",
        "clerk",
        "clerk2",
        "checkin",
        "checkin2",
        "observer",
    }
    admin = session.scalars(select(User).where(User.username == "admin")).one()
    assert admin.password_hash != printed["admin"]
    assert verify_password(admin.password_hash, printed["admin"])
    assert len(set(printed.values())) == 7

    check_voters(session)
    check_users(session)
    check_stock(session)


def check_voters(session: Session) -> None:
    voters = session.scalars(select(VoterEntry)).all()
    iins = [voter.iin for voter in voters]
    assert len(set(iins)) == len(iins)
    for voter in voters:
        info = parse_iin(voter.iin)  # raises on an invalid IIN
        assert info.birth_date == voter.birth_date
        assert 1930 <= voter.birth_date.year <= 2004
        # The IIN's sex digit agrees with the name's gender.
        if voter.given_name in FEMALE_GIVEN:
            assert not info.male, voter.id
        else:
            assert voter.given_name in MALE_GIVEN
            assert info.male, voter.id
        assert voter.search_key == voter_search_key(
            voter.surname, voter.given_name, voter.patronymic
        )
        assert voter.mark_serial is None
    kazakh = sum(
        voter.given_name in KAZAKH_MALE_GIVEN or voter.given_name in KAZAKH_FEMALE_GIVEN
        for voter in voters
    )
    assert 0.6 < kazakh / len(voters) < 0.8
    female_kazakh_surnames = Counter(
        voter.surname[-1] for voter in voters if voter.given_name in KAZAKH_FEMALE_GIVEN
    )
    assert set(female_kazakh_surnames) == {"а"}  # Нұрланова, not Нұрланов
    patronymics = Counter(
        "kk" if (voter.patronymic or "").endswith(("ұлы", "қызы")) else "other"
        for voter in voters
        if voter.given_name in KAZAKH_MALE_GIVEN or voter.given_name in KAZAKH_FEMALE_GIVEN
    )
    assert patronymics["kk"] > 0
    assert patronymics["other"] > 0
    # Every precinct has voters, and each voter's address is in the precinct's locality.
    per_precinct = Counter(voter.precinct_id for voter in voters)
    assert len(per_precinct) == len(DEMO_PRECINCTS)
    localities = {precinct.id: precinct.locality for precinct in session.scalars(select(Precinct))}
    for voter in voters:
        locality = localities[voter.precinct_id]
        assert locality.name_ru in voter.address or locality.name_kk in voter.address


def check_users(session: Session) -> None:
    users = {user.username: user for user in session.scalars(select(User))}
    assert {user.role for user in users.values()} == set(Role)
    clerk = users["clerk"]
    assert clerk.precinct is not None
    assert (clerk.precinct.region.kato, clerk.precinct.number) == ("750000000", 41)
    territorial = users["territorial"]
    assert territorial.territorial_commission is not None
    assert territorial.territorial_commission.region.kato == "750000000"
    assert territorial.territorial_commission_id == clerk.precinct.territorial_commission_id
    for name in ("clerk2", "checkin"):
        precinct = users[name].precinct
        assert precinct is not None
        assert precinct.locality.name_ru == "Уральск"
    checkin2 = users["checkin2"].precinct
    assert checkin2 is not None
    assert checkin2.locality.name_ru == "Нур-Султан"
    assert users["admin"].precinct_id is None
    assert users["observer"].precinct_id is None


def check_stock(session: Session) -> None:
    ranges = sorted(
        (stock.first_serial, stock.last_serial, stock.precinct_id)
        for stock in session.scalars(select(StockRange))
    )
    assert all(last - first + 1 == 200 for first, last, _ in ranges)
    assert all(earlier[1] < later[0] for earlier, later in pairwise(ranges))
    assert len({precinct for _, _, precinct in ranges}) == len(DEMO_PRECINCTS)
    stock_events = session.scalar(select(func.count()).where(AuditEvent.event == "stock_received"))
    assert stock_events == len(DEMO_PRECINCTS)


def test_seed_demo_reuses_reference_rows_that_already_exist(app: Flask, session: Session) -> None:
    # A region and a voter-less precinct imported earlier: the seed must not duplicate them.
    runner = app.test_cli_runner()
    oral_region = Region(
        kato="270000000",
        name_kk="Батыс Қазақстан облысы",
        name_ru="Западно-Казахстанская область",
        name_en="West Kazakhstan Region",
        time_zone="Asia/Oral",
    )
    session.add(oral_region)
    session.flush()
    oral = Locality(
        kato="271010000", region_id=oral_region.id, name_kk="Орал", name_ru="Уральск", kind="city"
    )
    commission = TerritorialCommission(
        region_id=oral_region.id,
        name_kk="Орал қалалық аумақтық комиссиясы",
        name_ru="Уральская городская территориальная комиссия",
    )
    session.add_all([oral, commission])
    session.flush()
    session.add(
        Precinct(
            number=1,
            region_id=oral_region.id,
            locality_id=oral.id,
            territorial_commission_id=commission.id,
            address_kk="мекенжай",
            address_ru="адрес",
        )
    )
    session.add(
        User(username="admin", full_name="Existing Admin", password_hash="x", role=Role.ADMIN)
    )
    session.commit()

    result = runner.invoke(args=["seed-demo", "--voters", "60"])

    assert result.exit_code == 0, result.output
    counts = table_counts(session)
    assert counts["Region"] == 17
    assert counts["Precinct"] == len(DEMO_PRECINCTS)
    assert counts["VoterEntry"] == 60
    assert counts["User"] == 7
    assert session.scalar(select(func.count()).where(Locality.kato == "271010000")) == 1
    printed = dict(PASSWORD_LINE.findall(result.output))
    assert "admin" not in printed  # it existed: its password is not ours to show
    assert len(printed) == 6
