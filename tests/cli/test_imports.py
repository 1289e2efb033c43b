"""`flask import-precincts` and `flask import-voters`: all or nothing, errors by line number,
into one named election while it is being prepared, in the modes add, amend and replace."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
    CertificateCase,
    CityDistrict,
    Election,
    Locality,
    Precinct,
    Region,
    TerritorialCommission,
    VoterEntry,
)
from services.clock import FixedClock
from services.importing import (
    MAX_REPORTED_ERRORS,
    OPTIONAL_VOTER_COLUMNS,
    PRECINCT_COLUMNS,
    VOTER_COLUMNS,
    import_voters,
)
from services.search import voter_search_key
from tests.conftest import DEFAULT_NOW
from tests.factories import World, make_election_copy, make_iin, make_voter, make_world
from tests.services.support import apply, tables_snapshot
from workflow.iin import build_iin, is_valid_iin

Row = Mapping[str, object]

# 1 May 2022, noon in Almaty: the 2022 referendum is being prepared, so its lists may be imported
# (DEFAULT_NOW, 25 May, is inside its issue window: imports are refused then).
BEFORE_WINDOW = datetime(2022, 5, 1, 6, 0, tzinfo=UTC)
# Files of the first release named the election on every row.
LEGACY_VOTER_COLUMNS = (*VOTER_COLUMNS, *OPTIONAL_VOTER_COLUMNS)
WINDOW_OPENED = "The election's issue window has opened"
DEFAULT_BORN = date(1990, 1, 1)  # make_iin's default birth date


@pytest.fixture
def clock() -> FixedClock:
    """The app's clock for this module: before the window, while imports are allowed."""
    return FixedClock(BEFORE_WINDOW)


def write_csv(path: Path, rows: Iterable[Row], columns: Iterable[str] = VOTER_COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def invoke(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def import_file(app: Flask, command: str, path: Path, *options: str) -> Result:
    """`flask <command> PATH --election ref2022 [options]`."""
    return invoke(app, command, str(path), "--election", "ref2022", *options)


def count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def voter(
    precinct: Precinct,
    iin: str,
    born: date,
    *,
    surname: str = "Нұрланов",
    given_name: str = "Асқар",
    patronymic: str = "Серікұлы",
    address: str = "г. Алматы, ул. Абая, д. 1, кв. 2",
    election_code: str = "ref2022",
) -> dict[str, object]:
    return {
        "election_code": election_code,
        "region_kato": precinct.region.kato,
        "precinct_number": precinct.number,
        "iin": iin,
        "surname": surname,
        "given_name": given_name,
        "patronymic": patronymic,
        "birth_date": born.isoformat(),
        "address": address,
    }


@pytest.fixture
def world(session: Session) -> World:
    built = make_world(session)
    session.commit()
    return built


def second_election(session: Session, world: World) -> Election:
    """The 2026 referendum, prepared, with a copy of the 2022 network (its own rows)."""
    return make_election_copy(session, world, with_staff=True)


def precinct_of(session: Session, election: Election, region_kato: str, number: int) -> Precinct:
    return session.scalars(
        select(Precinct)
        .join(Region, Region.id == Precinct.region_id)
        .where(
            Precinct.election_id == election.id,
            Region.kato == region_kato,
            Precinct.number == number,
        )
    ).one()


# --------------------------------------------------------------------------------------------
# Voters
# --------------------------------------------------------------------------------------------


def test_a_good_voter_file_is_imported_in_full(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    rows = [
        voter(world.almaty_almaly, make_iin(date(1980, 1, 2)), date(1980, 1, 2)),
        voter(
            world.oral_precinct,
            make_iin(date(1975, 5, 6), male=False),
            date(1975, 5, 6),
            surname="Петрова",
            given_name="Мария",
            patronymic="",
            address="г. Уральск, пр. Достык-Дружба, д. 3",
        ),
        voter(
            world.derkul_precinct,
            make_iin(date(2001, 12, 31)),
            date(2001, 12, 31),
            surname="Ғабдуллин",
            given_name="Ілияс",
            patronymic="Бақытұлы",
            address="пос. Деркул, ул. Школьная, 5",
        ),
    ]
    result = import_file(app, "import-voters", write_csv(tmp_path / "voters.csv", rows))

    assert result.exit_code == 0, result.output
    assert "Read 3 rows: imported 3, skipped 0." in result.stdout
    imported = session.scalars(select(VoterEntry).order_by(VoterEntry.id)).all()
    assert [entry.iin for entry in imported] == [row["iin"] for row in rows]
    assert [entry.precinct_id for entry in imported] == [
        world.almaty_almaly.id,
        world.oral_precinct.id,
        world.derkul_precinct.id,
    ]
    maria = imported[1]
    assert maria.patronymic is None
    assert maria.birth_date == date(1975, 5, 6)
    assert maria.address == "г. Уральск, пр. Достык-Дружба, д. 3"
    assert all(
        entry.search_key == voter_search_key(entry.surname, entry.given_name, entry.patronymic)
        for entry in imported
    )
    assert all(entry.election_id == world.election.id for entry in imported)


def test_the_import_leaves_one_audit_event_with_counts_and_no_personal_data(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    iin = make_iin(date(1980, 1, 2))
    path = write_csv(tmp_path / "list.csv", [voter(world.almaty_almaly, iin, date(1980, 1, 2))])
    assert import_file(app, "import-voters", path).exit_code == 0

    events = session.scalars(select(AuditEvent).where(AuditEvent.event == "voters_imported")).all()
    assert len(events) == 1
    event = events[0]
    assert event.outcome == "accepted"
    assert event.actor_role == "system"
    assert event.election_id == world.election.id
    assert event.payload["file"] == "list.csv"
    assert (event.payload["read"], event.payload["imported"], event.payload["errors"]) == (1, 1, 0)
    text = json.dumps(event.payload, ensure_ascii=False)
    assert iin not in text
    assert "Нұрланов" not in text


@pytest.fixture
def bad_voter_file(session: Session, world: World, tmp_path: Path) -> tuple[Path, list[str]]:
    """A file with one good row first and last, and one error of each kind in between."""
    on_list = make_voter(session, world, world.oral_precinct)
    session.commit()
    good_iin = make_iin(date(1980, 1, 2))
    mismatched = make_iin(date(1980, 1, 2))
    last_good = make_iin(date(1991, 7, 8), male=False)
    rows = [
        voter(world.almaty_almaly, good_iin, date(1980, 1, 2)),  # line 2: good
        voter(world.almaty_almaly, "123456789012", date(1980, 1, 2)),  # 3: bad IIN
        voter(world.almaty_almaly, mismatched, date(1980, 1, 3)),  # 4: birth date
        {**voter(world.almaty_almaly, make_iin(), date(1990, 1, 1)), "precinct_number": 999},
        voter(world.oral_precinct, good_iin, date(1980, 1, 2)),  # 6: duplicate of line 2
        voter(world.oral_precinct, on_list.iin, on_list.birth_date),  # 7: already listed
        voter(world.oral_precinct, make_iin(), date(1990, 1, 1), election_code="ref2099"),
        {**voter(world.oral_precinct, make_iin(), date(1990, 1, 1)), "birth_date": "01.01.1990"},
        voter(world.oral_precinct, make_iin(), date(1990, 1, 1), surname=""),  # 10: no surname
        voter(world.derkul_precinct, last_good, date(1991, 7, 8)),  # 11: good
    ]
    path = write_csv(tmp_path / "bad.csv", rows, LEGACY_VOTER_COLUMNS)
    clear_iins = [str(row["iin"]) for row in rows if is_valid_iin(str(row["iin"]))]
    return path, clear_iins


EXPECTED_ERRORS = (
    "line 3: iin: not a valid IIN",
    "line 4: birth_date: differs from the birth date in the IIN",
    "line 5: precinct_number: no precinct 999 in region 750000000",
    "line 6: iin: IIN ",
    "line 7: iin: IIN ",
    "line 8: election_code: the row is for election ref2099, not ref2022",
    "line 9: birth_date: not a date in the form YYYY-MM-DD",
    "line 10: surname: required",
)


def test_each_bad_row_is_reported_with_its_line_and_nothing_is_imported(
    app: Flask, session: Session, bad_voter_file: tuple[Path, list[str]]
) -> None:
    path, _ = bad_voter_file
    before = count(session, VoterEntry)

    result = import_file(app, "import-voters", path)

    assert result.exit_code == 1
    for expected in EXPECTED_ERRORS:
        assert expected in result.stderr, expected
    assert "appears earlier in the file" in result.stderr
    assert "already on this election's list" in result.stderr
    assert "line 2:" not in result.stderr
    assert "line 11:" not in result.stderr
    assert "8 errors in 8 of 10 rows: nothing was imported" in result.stderr
    assert "Traceback" not in result.output
    assert count(session, VoterEntry) == before


def test_error_reports_never_show_an_iin_in_clear(
    app: Flask, bad_voter_file: tuple[Path, list[str]]
) -> None:
    path, clear_iins = bad_voter_file
    result = import_file(app, "import-voters", path)
    assert result.exit_code == 1
    assert clear_iins
    for iin in clear_iins:
        assert iin not in result.output
    assert "••••" in result.output  # the masked form names the duplicate


def test_skip_errors_imports_the_good_rows_and_still_lists_the_bad_ones(
    app: Flask, session: Session, bad_voter_file: tuple[Path, list[str]]
) -> None:
    path, _ = bad_voter_file
    before = count(session, VoterEntry)

    result = import_file(app, "import-voters", path, "--skip-errors")

    assert result.exit_code == 0, result.output
    assert "Read 10 rows: imported 2, skipped 8." in result.stdout
    for expected in EXPECTED_ERRORS:
        assert expected in result.stderr
    assert count(session, VoterEntry) == before + 2
    event = session.scalars(select(AuditEvent).where(AuditEvent.event == "voters_imported")).one()
    assert (event.payload["imported"], event.payload["skipped"]) == (2, 8)


@pytest.mark.parametrize("skip", [False, True])
def test_a_missing_column_is_reported_on_line_one_and_nothing_is_imported(
    app: Flask, session: Session, world: World, tmp_path: Path, skip: bool
) -> None:
    columns = [column for column in VOTER_COLUMNS if column != "birth_date"]
    rows = [voter(world.almaty_almaly, make_iin(), date(1990, 1, 1))]
    path = write_csv(tmp_path / "short.csv", rows, columns)

    result = import_file(app, "import-voters", path, *(["--skip-errors"] if skip else []))

    assert result.exit_code == 1
    assert "line 1: birth_date: missing column" in result.stderr
    assert "Traceback" not in result.output
    assert count(session, VoterEntry) == 0


def test_rows_with_too_few_or_too_many_fields_are_errors(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    good = voter(world.almaty_almaly, make_iin(), date(1990, 1, 1))
    path = tmp_path / "ragged.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(VOTER_COLUMNS)
    writer.writerow([good[column] for column in VOTER_COLUMNS])
    writer.writerow([good[column] for column in VOTER_COLUMNS][:5])
    writer.writerow([*[good[column] for column in VOTER_COLUMNS], "extra"])
    path.write_text(buffer.getvalue(), encoding="utf-8")

    result = import_file(app, "import-voters", path)

    assert result.exit_code == 1
    assert len(VOTER_COLUMNS) == 8
    assert "line 3: row: the row has 5 fields, the header 8" in result.stderr
    assert "line 4: row: the row has 9 fields, the header 8" in result.stderr
    assert count(session, VoterEntry) == 0


def test_a_file_that_is_not_utf8_is_refused_with_a_message(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    path = tmp_path / "cp1251.csv"
    born = date(1990, 1, 1)
    row = voter(
        world.almaty_almaly,
        make_iin(born),
        born,
        surname="Иванов",
        given_name="Иван",
        patronymic="",
    )
    text = ",".join(VOTER_COLUMNS) + "\n" + ",".join(str(row[c]) for c in VOTER_COLUMNS) + "\n"
    path.write_bytes(text.encode("cp1251"))

    result = import_file(app, "import-voters", path)

    assert result.exit_code == 1
    assert "the file is not UTF-8 text" in result.stderr
    assert isinstance(result.exception, SystemExit)
    assert count(session, VoterEntry) == 0


def test_an_empty_file_is_refused_with_a_message(app: Flask, world: World, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    result = import_file(app, "import-voters", path)
    assert result.exit_code == 1
    assert "line 1: file: the file is empty" in result.stderr


def test_a_missing_file_is_a_usage_error(app: Flask, tmp_path: Path) -> None:
    result = import_file(app, "import-voters", tmp_path / "nowhere.csv")
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_errors_beyond_the_report_cap_are_counted_not_listed(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    bad = voter(world.almaty_almaly, "000000000000", date(1990, 1, 1))
    path = write_csv(tmp_path / "many.csv", [bad] * (MAX_REPORTED_ERRORS + 5))

    result = import_file(app, "import-voters", path)

    assert result.exit_code == 1
    assert f"line {MAX_REPORTED_ERRORS + 1}: iin:" in result.stderr
    assert f"line {MAX_REPORTED_ERRORS + 2}: iin:" not in result.stderr
    assert "... and 5 more errors not listed." in result.stderr
    assert count(session, VoterEntry) == 0


def generated_voters(world: World, how_many: int) -> Iterable[dict[str, object]]:
    """Valid, distinct voters spread over the four precincts and seventy years of births."""
    precincts = [
        world.almaty_almaly,
        world.almaty_bostandyk,
        world.oral_precinct,
        world.derkul_precinct,
    ]
    made = 0
    serial = 0
    while made < how_many:
        born = date(1935, 1, 1) + timedelta(days=(serial * 37) % 25_000)
        iin = build_iin(born, serial % 2 == 0, serial % 10_000)
        serial += 1
        if iin is None:
            continue
        yield voter(precincts[made % 4], iin, born, surname=f"Тестов{made % 97}")
        made += 1


def test_five_thousand_generated_voters_import(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "big.csv", generated_voters(world, 5_000))

    result = import_file(app, "import-voters", path)

    assert result.exit_code == 0, result.output
    assert "Read 5000 rows: imported 5000, skipped 0." in result.stdout
    assert count(session, VoterEntry) == 5_000
    per_precinct = session.scalars(
        select(func.count()).select_from(VoterEntry).group_by(VoterEntry.precinct_id)
    ).all()
    assert sorted(per_precinct) == [1_250] * 4


def test_the_service_reports_progress_for_both_passes(session: Session, world: World) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(VOTER_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(generated_voters(world, 2_500))
    calls: list[tuple[str, int]] = []

    summary = import_voters(
        session,
        buffer,
        election_id=world.election.id,
        now=BEFORE_WINDOW,
        progress=lambda phase, rows: calls.append((phase, rows)),
    )

    assert (summary.read, summary.imported, summary.skipped) == (2_500, 2_500, 0)
    assert summary.written
    assert sum(rows for phase, rows in calls if phase == "check") == 2_500
    assert sum(rows for phase, rows in calls if phase == "import") == 2_500
    phases = [phase for phase, _ in calls]
    assert phases == sorted(phases)  # every "check" before the first "import"


def test_a_refused_import_writes_nothing_but_its_audit_event(
    session: Session, world: World
) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(VOTER_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerow(voter(world.almaty_almaly, make_iin(), date(1990, 1, 1)))
    writer.writerow(voter(world.almaty_almaly, "123", date(1990, 1, 1)))

    summary = import_voters(session, buffer, election_id=world.election.id, now=BEFORE_WINDOW)

    assert not summary.written
    assert (summary.read, summary.imported, summary.skipped) == (2, 0, 2)
    assert [str(error) for error in summary.errors] == [
        "line 3: iin: not a valid IIN: An IIN is exactly 12 digits."
    ]
    assert count(session, VoterEntry) == 0
    event = session.scalars(select(AuditEvent).where(AuditEvent.event == "voters_imported")).one()
    assert event.outcome == "refused"


@pytest.mark.parametrize("command", ["import-voters", "import-precincts"])
def test_the_election_is_a_required_option(
    app: Flask, session: Session, world: World, tmp_path: Path, command: str
) -> None:
    path = window_files(world, tmp_path)[command]  # one good row

    result = invoke(app, command, str(path))

    assert result.exit_code == 2
    assert "Missing option '--election'" in result.output
    assert (count(session, VoterEntry), count(session, Precinct)) == (0, 4)


def test_an_unknown_election_is_refused_in_one_line(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "voters.csv", [voter(world.almaty_almaly, make_iin(), DEFAULT_BORN)]
    )

    result = invoke(app, "import-voters", str(path), "--election", "ref2099")

    assert result.exit_code == 1
    assert "No election has the code 'ref2099'." in result.stderr
    assert "Traceback" not in result.output
    assert count(session, VoterEntry) == 0


def test_a_file_of_the_first_release_naming_the_election_on_every_row_imports(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    rows = [
        voter(world.almaty_almaly, make_iin(), DEFAULT_BORN),
        voter(world.oral_precinct, make_iin(), DEFAULT_BORN),
    ]
    path = write_csv(tmp_path / "old.csv", rows, LEGACY_VOTER_COLUMNS)
    assert path.read_text(encoding="utf-8").startswith(",".join(LEGACY_VOTER_COLUMNS))

    result = import_file(app, "import-voters", path)

    assert result.exit_code == 0, result.output
    assert "Read 2 rows: imported 2, skipped 0." in result.stdout
    imported = session.scalars(select(VoterEntry)).all()
    assert sorted(entry.iin for entry in imported) == sorted(str(row["iin"]) for row in rows)
    assert {entry.election_id for entry in imported} == {world.election.id}


def test_a_row_naming_another_existing_election_is_an_error(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    other = second_election(session, world)
    rows = [
        voter(world.almaty_almaly, make_iin(), DEFAULT_BORN),
        voter(world.oral_precinct, make_iin(), DEFAULT_BORN, election_code=other.code),
    ]
    path = write_csv(tmp_path / "mixed.csv", rows, LEGACY_VOTER_COLUMNS)

    result = import_file(app, "import-voters", path)

    assert result.exit_code == 1
    assert "line 3: election_code: the row is for election ref2026, not ref2022" in result.stderr
    assert "line 2:" not in result.stderr
    assert "1 errors in 1 of 2 rows: nothing was imported" in result.stderr
    assert count(session, VoterEntry) == 0


def test_the_same_iin_may_be_on_the_list_of_another_election(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    listed_2022 = make_voter(session, world, world.oral_precinct)
    session.commit()
    other = second_election(session, world)
    oral_2026 = precinct_of(session, other, "270000000", 301)
    assert oral_2026.id != world.oral_precinct.id
    path = write_csv(
        tmp_path / "2026.csv", [voter(oral_2026, listed_2022.iin, listed_2022.birth_date)]
    )

    result = invoke(app, "import-voters", str(path), "--election", "ref2026")

    assert result.exit_code == 0, result.output
    assert "Read 1 rows: imported 1, skipped 0." in result.stdout
    entries = session.scalars(
        select(VoterEntry).where(VoterEntry.iin == listed_2022.iin).order_by(VoterEntry.id)
    ).all()
    assert [(e.election_id, e.precinct_id) for e in entries] == [
        (world.election.id, world.oral_precinct.id),
        (other.id, oral_2026.id),
    ]
    event = session.scalars(select(AuditEvent).where(AuditEvent.event == "voters_imported")).one()
    assert event.election_id == other.id


def test_add_mode_refuses_an_iin_already_on_the_list(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    listed = make_voter(session, world, world.oral_precinct)
    session.commit()
    row = voter(world.derkul_precinct, listed.iin, listed.birth_date, surname="Басқа")
    path = write_csv(tmp_path / "again.csv", [row])

    result = import_file(app, "import-voters", path, "--mode", "add")

    assert result.exit_code == 1
    assert "line 2: iin: IIN " in result.stderr
    assert "is already on this election's list" in result.stderr
    assert listed.iin not in result.output
    assert count(session, VoterEntry) == 1
    entry = session.get_one(VoterEntry, listed.id)
    assert (entry.precinct_id, entry.surname) == (world.oral_precinct.id, "Нұрланов")


def test_amend_updates_the_entry_with_the_same_iin_and_adds_the_new_ones(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    listed = make_voter(session, world, world.oral_precinct)
    session.commit()
    newcomer = make_iin(date(1985, 4, 5), male=False)
    rows = [
        voter(
            world.derkul_precinct,
            listed.iin,
            listed.birth_date,
            surname="Құрманов",
            given_name="Ерлан",
            patronymic="",
            address="пос. Деркул, ул. Школьная, 7",
        ),
        voter(world.almaty_almaly, newcomer, date(1985, 4, 5), surname="Әлиева", given_name="Дана"),
    ]
    path = write_csv(tmp_path / "amend.csv", rows)

    result = import_file(app, "import-voters", path, "--mode", "amend")

    assert result.exit_code == 0, result.output
    assert (
        "Read 2 rows: imported 1, updated 1, cleared 0 before the import, skipped 0."
        in result.stdout
    )
    assert count(session, VoterEntry) == 2
    entry = session.get_one(VoterEntry, listed.id)
    assert entry.election_id == world.election.id
    assert entry.precinct_id == world.derkul_precinct.id
    assert (entry.surname, entry.given_name, entry.patronymic) == ("Құрманов", "Ерлан", None)
    assert entry.address == "пос. Деркул, ул. Школьная, 7"
    assert entry.search_key == voter_search_key("Құрманов", "Ерлан", None)
    added = session.scalars(select(VoterEntry).where(VoterEntry.iin == newcomer)).one()
    assert added.precinct_id == world.almaty_almaly.id
    event = session.scalars(select(AuditEvent).where(AuditEvent.event == "voters_imported")).one()
    assert (event.payload["mode"], event.payload["imported"], event.payload["updated"]) == (
        "amend",
        1,
        1,
    )


@pytest.fixture
def listed_for_replace(session: Session, world: World) -> dict[str, str]:
    """Three entries on the list, by IIN: one an application refers to, two nothing refers to.

    IINs, not rows: SQLite may give a cleared entry's id to a row imported after it.
    """
    applied = make_voter(session, world, world.almaty_almaly, surname="Өтініш")
    dropped = make_voter(session, world, world.oral_precinct, surname="Жоқ")
    relisted = make_voter(session, world, world.derkul_precinct, surname="Қайта")
    session.commit()
    outcome = apply(session, world, applied)
    assert outcome.accepted, outcome.refusal
    assert outcome.case is not None
    return {
        "applied": applied.iin,
        "applied_id": str(applied.id),
        "case_id": str(outcome.case.id),
        "dropped": dropped.iin,
        "relisted": relisted.iin,
    }


def test_replace_clears_unreferenced_entries_first_and_keeps_those_a_case_refers_to(
    app: Flask,
    session: Session,
    world: World,
    tmp_path: Path,
    listed_for_replace: dict[str, str],
) -> None:
    listed = listed_for_replace
    newcomer = make_iin(date(1970, 3, 3))
    rows = [
        voter(world.derkul_precinct, listed["relisted"], DEFAULT_BORN, surname="Қайта"),
        voter(world.oral_precinct, newcomer, date(1970, 3, 3)),
    ]
    path = write_csv(tmp_path / "replace.csv", rows)

    result = import_file(app, "import-voters", path, "--mode", "replace")

    assert result.exit_code == 0, result.output
    assert (
        "Read 2 rows: imported 2, updated 0, cleared 2 before the import, skipped 0."
        in result.stdout
    )
    entries = {entry.iin: entry for entry in session.scalars(select(VoterEntry))}
    assert set(entries) == {listed["applied"], listed["relisted"], newcomer}
    assert listed["dropped"] not in entries
    # The entry an application refers to is kept, the same row, still referred to.
    kept = entries[listed["applied"]]
    assert kept.id == int(listed["applied_id"])
    assert kept.address == "ул. Абая, 1"
    case = session.get_one(CertificateCase, int(listed["case_id"]))
    assert case.voter_id == kept.id
    assert entries[listed["relisted"]].precinct_id == world.derkul_precinct.id
    assert entries[newcomer].precinct_id == world.oral_precinct.id
    event = session.scalars(select(AuditEvent).where(AuditEvent.event == "voters_imported")).one()
    assert (event.payload["mode"], event.payload["removed"], event.payload["imported"]) == (
        "replace",
        2,
        2,
    )


def test_replace_updates_a_kept_entry_the_file_names(
    app: Flask,
    session: Session,
    world: World,
    tmp_path: Path,
    listed_for_replace: dict[str, str],
) -> None:
    listed = listed_for_replace
    rows = [voter(world.almaty_almaly, listed["applied"], DEFAULT_BORN, address="г. Алматы, 9")]
    path = write_csv(tmp_path / "replace.csv", rows)

    result = import_file(app, "import-voters", path, "--mode", "replace")

    assert result.exit_code == 0, result.output
    assert (
        "Read 1 rows: imported 0, updated 1, cleared 2 before the import, skipped 0."
        in result.stdout
    )
    kept = session.scalars(select(VoterEntry)).one()
    assert (kept.id, kept.iin) == (int(listed["applied_id"]), listed["applied"])
    assert kept.address == "г. Алматы, 9"
    assert session.get_one(CertificateCase, int(listed["case_id"])).voter_id == kept.id


def test_a_replace_with_a_bad_row_clears_nothing(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    listed = [make_voter(session, world, world.oral_precinct) for _ in range(3)]
    session.commit()
    rows = [
        voter(world.almaty_almaly, make_iin(), DEFAULT_BORN),
        voter(world.almaty_almaly, "123456789012", DEFAULT_BORN),
    ]
    path = write_csv(tmp_path / "replace.csv", rows)

    result = import_file(app, "import-voters", path, "--mode", "replace")

    assert result.exit_code == 1
    assert "line 3: iin: not a valid IIN" in result.stderr
    remaining = session.scalars(select(VoterEntry.id).order_by(VoterEntry.id)).all()
    assert remaining == [entry.id for entry in listed]


def test_a_territorial_replace_clears_only_the_commissions_own_precincts(
    session: Session, world: World
) -> None:
    # IINs, not rows: SQLite may give a cleared entry's id to a row imported after it.
    almaty = make_voter(session, world, world.almaty_almaly).iin
    oral = make_voter(session, world, world.oral_precinct).iin
    session.commit()
    west = frozenset({world.oral_precinct.territorial_commission_id})
    newcomer = make_iin()

    def source(*rows: Row) -> io.StringIO:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(VOTER_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return buffer

    outside = import_voters(
        session,
        source(voter(world.almaty_almaly, make_iin(), DEFAULT_BORN)),
        election_id=world.election.id,
        now=BEFORE_WINDOW,
        mode="replace",
        commission_ids=west,
    )
    assert [str(error) for error in outside.errors] == [
        "line 2: precinct_number: no precinct 101 in region 750000000"
    ]
    assert (outside.written, outside.removed) == (False, 0)

    summary = import_voters(
        session,
        source(voter(world.derkul_precinct, newcomer, DEFAULT_BORN)),
        election_id=world.election.id,
        now=BEFORE_WINDOW,
        mode="replace",
        commission_ids=west,
    )
    session.commit()

    assert (summary.imported, summary.removed, summary.errors) == (1, 1, [])
    remaining = sorted(session.scalars(select(VoterEntry.iin)))
    assert remaining == sorted([almaty, newcomer])
    assert oral not in remaining


# --------------------------------------------------------------------------------------------
# Precincts
# --------------------------------------------------------------------------------------------


def precinct(
    region_kato: str,
    locality_kato: str,
    number: int | str,
    *,
    locality: tuple[str, str, str] = ("Алматы", "Алматы", "city"),
    district: tuple[str, str, str] = ("", "", ""),
    commission: tuple[str, str] = ("Алматинская ТК", "Алматы ТК"),
) -> dict[str, object]:
    return {
        "region_kato": region_kato,
        "locality_kato": locality_kato,
        "locality_name_kk": locality[0],
        "locality_name_ru": locality[1],
        "locality_kind": locality[2],
        "district_kato": district[0],
        "district_name_kk": district[1],
        "district_name_ru": district[2],
        "number": number,
        "address_kk": f"{number} мектеп",
        "address_ru": f"школа {number}",
        "territorial_commission_ru": commission[0],
        "territorial_commission_kk": commission[1],
    }


MEDEU = ("751710000", "Медеу ауданы", "Медеуский район")
PEREMETNOE = ("Переметное", "Переметное", "village")
BAITEREK = ("Байтерекская районная ТК", "Бәйтерек аудандық ТК")
ORAL_TC = ("Уральская ТК", "Орал ТК")


def test_a_precinct_file_creates_what_is_new_and_reuses_what_exists(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    rows = [
        # A district code inside Almaty: the locality is the city itself, which exists.
        precinct("750000000", "751710000", 411, district=MEDEU),
        precinct("750000000", "75-17-10-000", 436, district=MEDEU),
        precinct(
            "270000000",
            "271033100",
            131,
            locality=("Деркөл", "Деркул", "village"),
            commission=ORAL_TC,
        ),
        precinct("270000000", "274230100", 320, locality=PEREMETNOE, commission=BAITEREK),
        precinct("270000000", "274230100", 321, locality=PEREMETNOE, commission=BAITEREK),
    ]
    path = write_csv(tmp_path / "precincts.csv", rows, PRECINCT_COLUMNS)
    before = count(session, Locality)

    result = import_file(app, "import-precincts", path)

    assert result.exit_code == 0, result.output
    assert "Read 5 rows: imported 5, skipped 0." in result.stdout
    assert "Created 1 localities, 1 city districts and 1 territorial commissions." in result.stdout
    assert count(session, Locality) == before + 1
    by_number = {p.number: p for p in session.scalars(select(Precinct))}
    medeu = session.scalars(select(CityDistrict).where(CityDistrict.kato == "751710000")).one()
    assert by_number[411].locality_id == world.almaty.id
    assert by_number[411].district_id == by_number[436].district_id == medeu.id
    assert medeu.locality_id == world.almaty.id
    assert by_number[131].locality_id == world.derkul.id
    assert by_number[131].territorial_commission_id == world.oral_precinct.territorial_commission_id
    peremetnoe = session.scalars(select(Locality).where(Locality.kato == "274230100")).one()
    assert (peremetnoe.name_kk, peremetnoe.kind) == ("Переметное", "village")
    assert by_number[320].locality_id == by_number[321].locality_id == peremetnoe.id
    assert by_number[320].territorial_commission_id == by_number[321].territorial_commission_id
    commission = session.get_one(TerritorialCommission, by_number[320].territorial_commission_id)
    assert commission.name_kk == "Бәйтерек аудандық ТК"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.event == "precincts_imported")
    ).one()
    assert event.payload["imported"] == 5


def test_bad_precinct_rows_are_reported_and_nothing_is_created(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    rows = [
        precinct("270000000", "274230100", 320, locality=PEREMETNOE, commission=BAITEREK),
        precinct("100000000", "101010000", 1),  # 3: no such region in 2022
        precinct("270000000", "751110000", 2, commission=ORAL_TC),  # 4: outside the region
        precinct("750000000", "750000000", 101),  # 5: exists already
        precinct("270000000", "274230100", 320, locality=PEREMETNOE, commission=BAITEREK),
        precinct("270000000", "274230100", 322, locality=("П", "П", "metropolis")),  # 7
        precinct("750000000", "750000000", 500, district=("751810000", "", "")),  # 8
        precinct("270000000", "274230100", "12a", locality=PEREMETNOE),  # 9
        precinct("270000000", "2742301", 323, locality=PEREMETNOE),  # 10: 7 digits
    ]
    path = write_csv(tmp_path / "precincts.csv", rows, PRECINCT_COLUMNS)
    counts = {model: count(session, model) for model in (Locality, Precinct, CityDistrict)}
    commissions = count(session, TerritorialCommission)

    result = import_file(app, "import-precincts", path)

    assert result.exit_code == 1
    for expected in (
        "line 3: region_kato: this election's map has no region with the code 100000000",
        "line 4: locality_kato: 750000000 is not inside region 270000000",
        "line 5: number: precinct 101 already exists in region 750000000",
        "line 6: number: precinct 320 appears earlier in the file",
        "line 7: locality_kind: one of city, town, village",
        "line 8: district_name_ru: a new district needs its Kazakh and Russian names",
        "line 9: number: not a positive whole number",
        "line 10: locality_kato: a KATO code is 9 digits",
    ):
        assert expected in result.stderr, expected
    assert "line 2:" not in result.stderr
    assert {model: count(session, model) for model in counts} == counts
    assert count(session, TerritorialCommission) == commissions

    skipped = import_file(app, "import-precincts", path, "--skip-errors")
    assert skipped.exit_code == 0, skipped.output
    assert "Read 9 rows: imported 1, skipped 8." in skipped.stdout
    assert count(session, Precinct) == counts[Precinct] + 1


def test_amend_changes_an_existing_precinct_in_place(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    almaly = ("751110000", "Алмалы", "Алмалинский")
    row = precinct("750000000", "750000000", 101, district=almaly)
    path = write_csv(tmp_path / "amend.csv", [row], PRECINCT_COLUMNS)
    before = count(session, Precinct)

    refused = import_file(app, "import-precincts", path)
    assert refused.exit_code == 1
    assert "line 2: number: precinct 101 already exists in region 750000000" in refused.stderr

    result = import_file(app, "import-precincts", path, "--mode", "amend")

    assert result.exit_code == 0, result.output
    assert (
        "Read 1 rows: imported 0, updated 1, cleared 0 before the import, skipped 0."
        in result.stdout
    )
    assert "Created 0 localities, 0 city districts and 0 territorial commissions." in result.stdout
    assert count(session, Precinct) == before
    amended = session.get_one(Precinct, world.almaty_almaly.id)
    assert (amended.address_kk, amended.address_ru) == ("101 мектеп", "школа 101")
    assert amended.district_id == world.almaty_almaly.district_id
    assert amended.election_id == world.election.id


def test_replace_is_no_mode_of_the_precinct_import(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "p.csv", [precinct("750000000", "750000000", 102)], PRECINCT_COLUMNS
    )
    before = count(session, Precinct)

    result = import_file(app, "import-precincts", path, "--mode", "replace")

    assert result.exit_code == 2
    assert "'replace' is not one of" in result.output
    assert count(session, Precinct) == before


def test_a_precinct_import_into_another_election_builds_on_its_own_network(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    other = second_election(session, world)
    almaty_2026 = session.scalars(
        select(Locality).where(Locality.election_id == other.id, Locality.kato == "750000000")
    ).one()
    assert almaty_2026.id != world.almaty.id
    path = write_csv(
        tmp_path / "2026.csv",
        [precinct("750000000", "751710000", 411, district=MEDEU)],
        PRECINCT_COLUMNS,
    )
    network_2022 = {
        model: session.scalars(
            select(model.id).where(model.election_id == world.election.id).order_by(model.id)
        ).all()
        for model in (Locality, CityDistrict, TerritorialCommission, Precinct)
    }

    result = invoke(app, "import-precincts", str(path), "--election", "ref2026")

    assert result.exit_code == 0, result.output
    assert "Created 0 localities, 1 city districts and 0 territorial commissions." in result.stdout
    created = precinct_of(session, other, "750000000", 411)
    assert created.locality_id == almaty_2026.id
    medeu = session.scalars(select(CityDistrict).where(CityDistrict.kato == "751710000")).one()
    assert (medeu.election_id, medeu.locality_id) == (other.id, almaty_2026.id)
    assert created.district_id == medeu.id
    commission = session.get_one(TerritorialCommission, created.territorial_commission_id)
    assert commission.election_id == other.id
    assert commission.name_ru == "Алматинская ТК"
    for model, ids in network_2022.items():
        assert (
            session.scalars(
                select(model.id).where(model.election_id == world.election.id).order_by(model.id)
            ).all()
            == ids
        ), model.__name__


# --------------------------------------------------------------------------------------------
# The window
# --------------------------------------------------------------------------------------------

# The window opens at 00:00 on 20 May in Almaty (UTC+6 in 2022), an hour before Oral (UTC+5).
OPENS_IN_ALMATY = datetime(2022, 5, 19, 18, 0, tzinfo=UTC)


def window_files(world: World, tmp_path: Path) -> dict[str, Path]:
    return {
        "import-voters": write_csv(
            tmp_path / "voters.csv", [voter(world.oral_precinct, make_iin(), DEFAULT_BORN)]
        ),
        "import-precincts": write_csv(
            tmp_path / "precincts.csv",
            [precinct("270000000", "274230100", 320, locality=PEREMETNOE, commission=BAITEREK)],
            PRECINCT_COLUMNS,
        ),
    }


@pytest.mark.parametrize("command", ["import-voters", "import-precincts"])
@pytest.mark.parametrize(
    "now",
    [
        pytest.param(OPENS_IN_ALMATY, id="the moment it opens in Almaty"),
        pytest.param(DEFAULT_NOW, id="inside the window"),
        pytest.param(datetime(2022, 6, 10, 6, 0, tzinfo=UTC), id="after voting day"),
    ],
)
def test_an_import_once_the_window_has_opened_is_refused_and_writes_nothing(
    app: Flask,
    session: Session,
    world: World,
    clock: FixedClock,
    tmp_path: Path,
    command: str,
    now: datetime,
) -> None:
    path = window_files(world, tmp_path)[command]
    before = tables_snapshot(session)
    events = count(session, AuditEvent)
    clock.instant = now

    result = import_file(app, command, path, "--mode", "amend")

    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert WINDOW_OPENED in errors[0]
    assert "Traceback" not in result.output
    assert "Read " not in result.stdout
    assert tables_snapshot(session) == before
    assert count(session, AuditEvent) == events


@pytest.mark.parametrize("command", ["import-voters", "import-precincts"])
def test_an_import_just_before_the_window_opens_is_accepted(
    app: Flask, session: Session, world: World, clock: FixedClock, tmp_path: Path, command: str
) -> None:
    path = window_files(world, tmp_path)[command]
    clock.instant = OPENS_IN_ALMATY - timedelta(seconds=1)

    result = import_file(app, command, path)

    assert result.exit_code == 0, result.output
    assert "Read 1 rows: imported 1, skipped 0." in result.stdout


# --------------------------------------------------------------------------------------------
# Voters: what the database finds (repeats, entries already listed), into an empty or full list
# --------------------------------------------------------------------------------------------


def voter_stream(rows: Iterable[Row]) -> io.StringIO:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(VOTER_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer


@pytest.fixture
def full_list(session: Session, world: World) -> list[VoterEntry]:
    """Forty voters already on the 2022 list."""
    summary = import_voters(
        session,
        voter_stream(generated_voters(world, 40)),
        election_id=world.election.id,
        now=BEFORE_WINDOW,
    )
    session.commit()
    assert summary.imported == 40
    return list(session.scalars(select(VoterEntry).order_by(VoterEntry.id)))


def tangled_rows(world: World, listed: VoterEntry) -> tuple[list[Row], dict[str, str]]:
    """Rows whose errors the row check and the database find together, and the IINs used."""
    iins = {
        "a": make_iin(date(1970, 3, 4)),
        "b": make_iin(date(1971, 5, 6), male=False),
        "c": make_iin(date(1972, 7, 8)),
    }
    rows: list[Row] = [
        voter(world.almaty_almaly, iins["a"], date(1970, 3, 4), surname=""),  # 2: own error
        voter(world.almaty_almaly, iins["a"], date(1970, 3, 4)),  # 3: repeat of a bad row
        voter(world.oral_precinct, listed.iin, listed.birth_date, surname="Жаңа"),  # 4: listed
        voter(world.oral_precinct, iins["b"], date(1971, 5, 6)),  # 5: good
        voter(world.oral_precinct, iins["b"], date(1971, 5, 6), address=""),  # 6: both
        voter(world.derkul_precinct, iins["c"], date(1972, 7, 8)),  # 7: good
    ]
    return rows, iins


TANGLED_ERRORS = [
    "line 2: surname: required",
    "line 3: iin: IIN {a} appears earlier in the file",
    "line 4: iin: IIN {listed} is already on this election's list",
    "line 6: address: required",
    "line 6: iin: IIN {b} appears earlier in the file",
]


def masked(iins: dict[str, str], listed: VoterEntry) -> dict[str, str]:
    return {
        name: f"{iin[:6]}••••{iin[10:]}" for name, iin in {**iins, "listed": listed.iin}.items()
    }


def test_errors_found_by_the_rows_and_by_the_database_come_in_line_order_into_a_full_list(
    session: Session, world: World, full_list: list[VoterEntry]
) -> None:
    rows, iins = tangled_rows(world, full_list[7])
    before = tables_snapshot(session)

    summary = import_voters(
        session, voter_stream(rows), election_id=world.election.id, now=BEFORE_WINDOW
    )

    names = masked(iins, full_list[7])
    assert [str(error) for error in summary.errors] == [
        line.format(**names) for line in TANGLED_ERRORS
    ]
    assert (summary.read, summary.invalid, summary.error_count) == (6, 4, 5)
    assert (summary.imported, summary.updated, summary.skipped, summary.written) == (0, 0, 6, False)
    session.commit()
    after = tables_snapshot(session)
    assert {name: rows for name, rows in after.items() if name != "audit_event"} == {
        name: rows for name, rows in before.items() if name != "audit_event"
    }


@pytest.mark.parametrize(
    # A replace first clears every entry no application refers to: line 4 comes back as new.
    ("mode", "imported", "updated"),
    [("add", 2, 0), ("amend", 2, 1), ("replace", 3, 0)],
)
def test_skipping_errors_into_a_full_list_writes_each_good_row_once(
    session: Session,
    world: World,
    full_list: list[VoterEntry],
    mode: str,
    imported: int,
    updated: int,
) -> None:
    listed = full_list[7]
    listed_iin, listed_surname = listed.iin, listed.surname
    rows, iins = tangled_rows(world, listed)

    summary = import_voters(
        session,
        voter_stream(rows),
        election_id=world.election.id,
        now=BEFORE_WINDOW,
        mode=mode,
        skip_errors=True,
    )
    session.commit()

    assert (summary.imported, summary.updated) == (imported, updated)
    assert summary.skipped == 6 - imported - updated
    on_list = {entry.iin: entry for entry in session.scalars(select(VoterEntry))}
    assert iins["a"] not in on_list  # its only good row repeats a bad one
    assert on_list[iins["b"]].address == "г. Алматы, ул. Абая, д. 1, кв. 2"  # line 5's
    assert iins["c"] in on_list
    # add refuses line 4 (the entry stays as it was); amend and replace take its new surname.
    assert on_list[listed_iin].surname == (listed_surname if mode == "add" else "Жаңа")
    expected_size = 3 if mode == "replace" else 42
    assert len(on_list) == expected_size


def test_a_file_with_errors_into_an_empty_list_writes_nothing_and_names_every_repeat(
    session: Session, world: World
) -> None:
    first = make_iin(date(1960, 1, 1))
    rows: list[Row] = [voter(world.almaty_almaly, "000000000000", date(1990, 1, 1))]  # line 2
    rows += [voter(world.almaty_almaly, first, date(1960, 1, 1))] * (MAX_REPORTED_ERRORS + 5)

    summary = import_voters(
        session, voter_stream(rows), election_id=world.election.id, now=BEFORE_WINDOW
    )

    # Line 2's own error, then every row after line 3 repeats line 3's IIN.
    assert summary.error_count == 1 + MAX_REPORTED_ERRORS + 4
    assert len(summary.errors) == MAX_REPORTED_ERRORS
    assert str(summary.errors[0]).startswith("line 2: iin: not a valid IIN")
    assert [error.line for error in summary.errors[1:]] == list(range(4, MAX_REPORTED_ERRORS + 3))
    assert summary.unreported_errors == 5
    assert (summary.invalid, summary.written) == (MAX_REPORTED_ERRORS + 5, False)
    assert count(session, VoterEntry) == 0


def test_two_imports_in_one_transaction_each_get_fresh_working_tables(
    session: Session, world: World
) -> None:
    voters = list(generated_voters(world, 30))
    for part in (voters[:20], voters[20:]):
        summary = import_voters(
            session, voter_stream(part), election_id=world.election.id, now=BEFORE_WINDOW
        )
        assert (summary.imported, summary.error_count) == (len(part), 0)
    session.commit()
    assert count(session, VoterEntry) == 30
