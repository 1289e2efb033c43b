"""Looking voters up: who sees which list, words matched anywhere in the folded name, and on
PostgreSQL a name search beyond one precinct served by the trigram index, not a scan."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from models import Role
from services.audit import Actor
from services.voters import SEARCH_LIMIT, search_voters
from tests.factories import World, make_voter, make_world


@pytest.fixture
def world(session: Session) -> World:
    world = make_world(session)
    session.commit()
    return world


def _admin() -> Actor:
    return Actor(user_id=None, role=Role.ADMIN.value)


def _clerk(precinct_id: int) -> Actor:
    return Actor(user_id=None, role=Role.CLERK.value, precinct_ids=frozenset({precinct_id}))


def _territorial(commission_id: int) -> Actor:
    return Actor(
        user_id=None,
        role=Role.TERRITORIAL.value,
        territorial_commission_ids=frozenset({commission_id}),
    )


def _surnames(session: Session, actor: Actor, world: World, query: str) -> list[str]:
    found = search_voters(session, actor, world.election.id, query)
    return [voter.surname for voter in found.voters]


def test_each_word_matches_anywhere_in_the_folded_name(session: Session, world: World) -> None:
    make_voter(session, world, world.oral_precinct, "Жанұзақова", given_name="Айгүл")
    make_voter(session, world, world.oral_precinct, "Петрова", given_name="Айгүл")
    make_voter(session, world, world.oral_precinct, "Жанұзақов", given_name="Ербол")

    # Kazakh letters typed as Russian ones, a fragment from the middle, any order of words.
    assert _surnames(session, _admin(), world, "нузак айгул") == ["Жанұзақова"]
    assert _surnames(session, _admin(), world, "айгүл") == ["Жанұзақова", "Петрова"]
    assert _surnames(session, _admin(), world, "ербол жан") == ["Жанұзақов"]
    assert _surnames(session, _admin(), world, "айгүл ербол") == []


def test_like_wildcards_typed_by_the_user_match_only_themselves(
    session: Session, world: World
) -> None:
    make_voter(session, world, world.oral_precinct, "Петрова")

    # Folding drops punctuation, so '%' and '_' cannot widen the match to every voter.
    assert _surnames(session, _admin(), world, "%") == []
    assert _surnames(session, _admin(), world, "_") == []
    assert _surnames(session, _admin(), world, "пет%") == ["Петрова"]


def test_each_actor_finds_only_the_lists_it_may_read(session: Session, world: World) -> None:
    make_voter(session, world, world.oral_precinct, "Сейітова")
    make_voter(session, world, world.almaty_almaly, "Сейітов")
    make_voter(session, world, world.almaty_bostandyk, "Сейітқызы")
    almaty_commission = world.almaty_almaly.territorial_commission_id
    assert world.oral_precinct.territorial_commission_id != almaty_commission

    everyone = _surnames(session, _admin(), world, "сейіт")
    in_almaty = _surnames(session, _territorial(almaty_commission), world, "сейіт")
    at_almaly = _surnames(session, _clerk(world.almaty_almaly.id), world, "сейіт")

    assert sorted(everyone) == ["Сейітов", "Сейітова", "Сейітқызы"]
    expected_almaty = sorted(
        voter.surname
        for voter in search_voters(session, _admin(), world.election.id, "сейіт").voters
        if voter.precinct.territorial_commission_id == almaty_commission
    )
    assert sorted(in_almaty) == expected_almaty
    assert "Сейітова" not in in_almaty
    assert at_almaly == ["Сейітов"]


def test_past_the_limit_a_page_is_sorted_and_says_it_is_cut(session: Session, world: World) -> None:
    # Surnames listed in reverse, so neither the insertion order nor the ids sort the page.
    for number in reversed(range(SEARCH_LIMIT + 10)):
        make_voter(session, world, world.oral_precinct, f"Петров{number:03}")
    session.commit()
    clerk = _clerk(world.oral_precinct.id)
    commission = _territorial(world.oral_precinct.territorial_commission_id)

    at_precinct = search_voters(session, clerk, world.election.id, "петров")
    in_territory = search_voters(session, commission, world.election.id, "петров")
    national = search_voters(session, _admin(), world.election.id, "петров")

    # A precinct's page is the first in alphabetical order.
    assert [v.surname for v in at_precinct.voters] == [
        f"Петров{number:03}" for number in range(SEARCH_LIMIT)
    ]
    assert at_precinct.truncated
    # Wider pages hold the first matches found, each a match, shown in order, and say so.
    for found in (in_territory, national):
        surnames = [v.surname for v in found.voters]
        assert found.truncated
        assert len(surnames) == SEARCH_LIMIT == len(set(surnames))
        assert surnames == sorted(surnames)
        assert all(name.startswith("Петров") for name in surnames)


def test_a_page_within_the_limit_is_whole(session: Session, world: World) -> None:
    for number in range(SEARCH_LIMIT):
        make_voter(session, world, world.oral_precinct, f"Петров{number:03}")
    session.commit()

    national = search_voters(session, _admin(), world.election.id, "петров")

    assert not national.truncated
    assert [v.surname for v in national.voters] == [
        f"Петров{number:03}" for number in range(SEARCH_LIMIT)
    ]


@contextmanager
def _statements(session: Session) -> Iterator[list[tuple[str, Any]]]:
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(connection, "before_cursor_execute", record)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_serves_a_national_name_search_from_the_trigram_index(
    session: Session, world: World
) -> None:
    make_voter(session, world, world.almaty_almaly, "Жанұзақова", given_name="Айгүл")
    session.commit()
    actor = _admin()
    with _statements(session) as sent:
        found = search_voters(session, actor, world.election.id, "жанұзақ айгүл")
    assert [voter.surname for voter in found.voters] == ["Жанұзақова"]
    statement, parameters = next(s for s in sent if "FROM voter_entry" in s[0])

    # A test list is small enough to read whole, so the planner would rightly read it: with
    # scans forbidden, the plan shows the index can answer the very statement the service sends
    # (its LIKE with an escape character). The bench shows it chosen on a national list.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    # The other two indexes that lead with the election go too (rolled back below).
    session.execute(text("DROP INDEX ix_voter_entry_search"))
    session.execute(text("ALTER TABLE voter_entry DROP CONSTRAINT uq_voter_entry_election_id_iin"))
    plan = "\n".join(
        session.connection().exec_driver_sql("EXPLAIN " + statement, parameters).scalars()
    )
    session.rollback()

    assert "ix_voter_entry_search_trigram" in plan, plan
