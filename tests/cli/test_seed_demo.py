"""`flask seed-demo`: each shipped election built once, on its own network, with valid and
plausible voters; the demo accounts are shared and placed in every election seeded."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
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
from seed.reference import (
    DEMO_PRECINCTS,
    KAZAKH_FEMALE_GIVEN,
    KAZAKH_MALE_GIVEN,
    NUR_SULTAN_CITY,
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
    Placement,
)
# The network's tables: every row carries its election.
NETWORK = (Region, Locality, CityDistrict, TerritorialCommission, Precinct)
PASSWORD_LINE = re.compile(r"^ {2}(\S+) +(\S+)$", re.MULTILINE)
FEMALE_GIVEN = frozenset(KAZAKH_FEMALE_GIVEN + RUSSIAN_FEMALE_GIVEN)
MALE_GIVEN = frozenset(KAZAKH_MALE_GIVEN + RUSSIAN_MALE_GIVEN)
DEMO_USERNAMES = {"admin", "territorial", "clerk", "clerk2", "checkin", "checkin2", "observer"}
# Every demo account but the admin and the observer works somewhere in each election.
PLACED_USERNAMES = DEMO_USERNAMES - {"admin", "observer"}
# What each shipped election looks like: its map's regions and what its capital is called.
SHIPPED = {
    "ref2022": {"regions": 17, "capital": "Нур-Султан", "series": None},
    "ref2026": {"regions": 20, "capital": "Астана", "series": "2603"},
}


def table_counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        model.__name__: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model in TABLES
    }


def election_coded(session: Session, code: str) -> Election:
    return session.scalars(select(Election).where(Election.code == code)).one()


def network_rows(session: Session, election: Election) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the election's network, read straight from the database."""
    session.expire_all()
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for model in NETWORK:
        table = model.__table__
        rows[model.__name__] = [
            tuple(row)
            for row in session.execute(
                select(table).where(table.c.election_id == election.id).order_by(table.c.id)
            )
        ]
    return rows


@pytest.mark.parametrize("code", sorted(SHIPPED))
def test_seed_demo_builds_the_election_once_and_a_second_run_changes_nothing(
    app: Flask, session: Session, code: str
) -> None:
    runner = app.test_cli_runner()
    shipped = SHIPPED[code]

    first = runner.invoke(args=["seed-demo", "--election", code])

    assert first.exit_code == 0, first.output
    assert f"Created election {code}" in first.output
    counts = table_counts(session)
    assert counts["Region"] == shipped["regions"]
    assert counts["Precinct"] == len(DEMO_PRECINCTS)
    assert counts["Election"] == 1
    assert counts["StockRange"] == len(DEMO_PRECINCTS)
    assert counts["User"] == 7
    assert counts["Placement"] == len(PLACED_USERNAMES)
    assert 4_500 <= counts["VoterEntry"] <= 5_500
    election = election_coded(session, code)
    assert election.number_series == shipped["series"]
    for model in NETWORK:
        assert set(session.scalars(select(model.election_id))) == {election.id}, model.__name__

    second = runner.invoke(args=["seed-demo", "--election", code])

    assert second.exit_code == 0, second.output
    assert "already present" in second.output
    assert not PASSWORD_LINE.search(second.output)
    assert table_counts(session) == counts

    # The first run printed each password once, and it is the one stored (hashed).
    printed = dict(PASSWORD_LINE.findall(first.output))
    assert set(printed) == DEMO_USERNAMES
    admin = session.scalars(select(User).where(User.username == "admin")).one()
    assert admin.password_hash != printed["admin"]
    assert verify_password(admin.password_hash, printed["admin"])
    assert len(set(printed.values())) == 7

    check_voters(session, election)
    check_users(session, election, str(shipped["capital"]))
    check_stock(session, election)


def test_seed_demo_without_an_election_builds_the_2022_referendum(
    app: Flask, session: Session
) -> None:
    result = app.test_cli_runner().invoke(args=["seed-demo", "--voters", "10"])

    assert result.exit_code == 0, result.output
    assert "Created election ref2022" in result.output
    assert [election.code for election in session.scalars(select(Election))] == ["ref2022"]
    assert table_counts(session)["VoterEntry"] == 10


def test_seeding_ref2026_after_ref2022_builds_a_second_network_and_reuses_the_accounts(
    app: Flask, session: Session
) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--election", "ref2022", "--voters", "60"])
    assert first.exit_code == 0, first.output
    ref2022 = election_coded(session, "ref2022")
    network_2022 = network_rows(session, ref2022)
    users_2022 = {
        user.username: (user.id, user.password_hash) for user in session.scalars(select(User))
    }
    placements_2022 = sorted(
        (p.user_id, p.precinct_id, p.territorial_commission_id)
        for p in session.scalars(select(Placement).where(Placement.election_id == ref2022.id))
    )

    result = runner.invoke(args=["seed-demo", "--election", "ref2026", "--voters", "60"])

    assert result.exit_code == 0, result.output
    assert "Created election ref2026" in result.output
    # The accounts existed: no password of theirs is shown, none is changed.
    assert not PASSWORD_LINE.search(result.output)
    assert "Demo accounts" not in result.output
    session.expire_all()
    assert {
        user.username: (user.id, user.password_hash) for user in session.scalars(select(User))
    } == users_2022
    ref2026 = election_coded(session, "ref2026")
    counts = table_counts(session)
    assert counts["Election"] == 2
    assert counts["User"] == 7
    assert counts["VoterEntry"] == 120
    assert counts["StockRange"] == 2 * len(DEMO_PRECINCTS)
    assert counts["Placement"] == 2 * len(PLACED_USERNAMES)

    # A second network, and the first one untouched.
    assert network_rows(session, ref2022) == network_2022
    network_2026 = network_rows(session, ref2026)
    assert len(network_2026["Region"]) == 20
    assert len(network_2026["Precinct"]) == len(DEMO_PRECINCTS)
    assert counts["Region"] == 17 + 20
    assert counts["Precinct"] == 2 * len(DEMO_PRECINCTS)
    capitals = {
        int(election_id): str(name)
        for election_id, name in session.execute(
            select(Locality.election_id, Locality.name_ru).where(Locality.kato == NUR_SULTAN_CITY)
        )
    }
    assert capitals == {ref2022.id: "Нур-Султан", ref2026.id: "Астана"}

    # The 2022 placements stay; each account is placed in 2026 too, on the 2026 network.
    assert (
        sorted(
            (p.user_id, p.precinct_id, p.territorial_commission_id)
            for p in session.scalars(select(Placement).where(Placement.election_id == ref2022.id))
        )
        == placements_2022
    )
    check_users(session, ref2026, "Астана")
    check_users(session, ref2022, "Нур-Султан")
    check_stock(session, ref2026)
    check_stock(session, ref2022)
    voters_2026 = session.scalars(
        select(VoterEntry).where(VoterEntry.election_id == ref2026.id)
    ).all()
    assert len(voters_2026) == 60
    assert {voter.precinct.election_id for voter in voters_2026} == {ref2026.id}

    again = runner.invoke(args=["seed-demo", "--election", "ref2026", "--voters", "60"])
    assert again.exit_code == 0, again.output
    assert "already present (election ref2026)" in again.output
    assert table_counts(session) == counts


def check_voters(session: Session, election: Election) -> None:
    voters = session.scalars(select(VoterEntry).where(VoterEntry.election_id == election.id)).all()
    iins = [voter.iin for voter in voters]
    assert len(set(iins)) == len(iins)
    voting_day = election.voting_day
    for voter in voters:
        info = parse_iin(voter.iin)  # raises on an invalid IIN
        assert info.birth_date == voter.birth_date
        assert 1930 <= voter.birth_date.year <= voting_day.year - 18
        # Everyone is 18 or more on voting day.
        assert voter.birth_date <= voting_day.replace(year=voting_day.year - 18), voter.id
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
    # Every precinct of the election has voters, and each voter's address is in the precinct's
    # locality, as that election names it.
    per_precinct = Counter(voter.precinct_id for voter in voters)
    assert len(per_precinct) == len(DEMO_PRECINCTS)
    localities = {
        precinct.id: precinct.locality
        for precinct in session.scalars(select(Precinct).where(Precinct.election_id == election.id))
    }
    for voter in voters:
        locality = localities[voter.precinct_id]
        assert locality.name_ru in voter.address or locality.name_kk in voter.address


def check_users(session: Session, election: Election, capital: str) -> None:
    """Where each demo account works in this election: on this election's own network."""
    session.expire_all()
    users = {user.username: user for user in session.scalars(select(User))}
    assert set(users) == DEMO_USERNAMES
    assert {user.role for user in users.values()} == set(Role)
    placed = {
        name: placement
        for name, user in users.items()
        if (placement := user.placement_in(election.id)) is not None
    }
    assert set(placed) == PLACED_USERNAMES
    for placement in placed.values():
        place = placement.precinct or placement.territorial_commission
        assert place is not None
        assert place.election_id == election.id
    clerk = placed["clerk"].precinct
    assert clerk is not None
    assert placed["clerk"].territorial_commission_id is None
    assert (clerk.region.kato, clerk.number) == ("750000000", 41)
    territorial = placed["territorial"]
    assert territorial.precinct_id is None
    assert territorial.territorial_commission is not None
    assert territorial.territorial_commission.region.kato == "750000000"
    assert territorial.territorial_commission_id == clerk.territorial_commission_id
    for name in ("clerk2", "checkin"):
        precinct = placed[name].precinct
        assert precinct is not None
        assert precinct.locality.name_ru == "Уральск"
    assert placed["clerk2"].precinct_id != placed["checkin"].precinct_id
    checkin2 = placed["checkin2"].precinct
    assert checkin2 is not None
    assert checkin2.locality.name_ru == capital
    assert users["admin"].placements == []
    assert users["observer"].placements == []


def check_stock(session: Session, election: Election) -> None:
    ranges = sorted(
        (stock.first_serial, stock.last_serial, stock.precinct_id)
        for stock in session.scalars(
            select(StockRange).where(StockRange.election_id == election.id)
        )
    )
    assert all(last - first + 1 == 200 for first, last, _ in ranges)
    assert all(earlier[1] < later[0] for earlier, later in pairwise(ranges))
    precincts = {precinct for _, _, precinct in ranges}
    assert len(precincts) == len(DEMO_PRECINCTS)
    assert set(session.scalars(select(Precinct.election_id).where(Precinct.id.in_(precincts)))) == {
        election.id
    }
    stock_events = session.scalar(
        select(func.count()).where(
            AuditEvent.event == "stock_received", AuditEvent.election_id == election.id
        )
    )
    assert stock_events == len(DEMO_PRECINCTS)
