"""The voter-list import of one election: add, amend or replace its list from a CSV file."""

from __future__ import annotations

import csv
import heapq
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import and_, delete, exists, select, text
from sqlalchemy.orm import Session

from models import Certificate, CertificateCase, Election, Precinct, VoterEntry
from services.audit import SYSTEM, Actor
from services.importing.reading import (
    ADDRESS_LENGTH,
    BATCH_SIZE,
    MAX_REPORTED_ERRORS,
    NAME_LENGTH,
    Checked,
    Header,
    ImportSummary,
    Progress,
    Reference,
    RowError,
    RowErrors,
    Source,
    audit_import,
    file_name,
    open_source,
    raw_rows,
    read_header,
    region_of,
)
from services.search import SearchKeys
from workflow.errors import RuleViolation
from workflow.iin import iin_encodes, mask_iin, parse_iin

VOTER_COLUMNS: tuple[str, ...] = (
    "region_kato",
    "precinct_number",
    "iin",
    "surname",
    "given_name",
    "patronymic",
    "birth_date",
    "address",
)
# What an amend may change in an entry already on the list (the IIN is the entry).
_EDITABLE = (
    "precinct_id",
    "surname",
    "given_name",
    "patronymic",
    "birth_date",
    "address",
    "search_key",
)
_INSERTED = ("precinct_id", "iin", *_EDITABLE[1:])
# Below this many rows the planner's statistics of the list are left to autovacuum.
_ANALYZE_AFTER = 10_000
# Files of the first release named the election on every row; such a column must agree.
OPTIONAL_VOTER_COLUMNS: tuple[str, ...] = ("election_code",)


@dataclass(frozen=True, slots=True)
class _Voter:
    line: int
    precinct_id: int
    iin: str
    surname: str
    given_name: str
    patronymic: str | None
    birth_date: date
    address: str
    # The entry this row changes (amend, replace), when the IIN is on the list already.
    existing_id: int | None = None


def _check_voter(line: int, values: dict[str, str], ref: Reference, code: str) -> Checked:
    errors = RowErrors(line)
    named = values["election_code"]
    if named and named != code:
        errors.add("election_code", f"the row is for election {named[:40]}, not {code}")
    precinct_id = None
    region = region_of(errors, values, ref)
    number = errors.number(values, "precinct_number")
    if region is not None and number is not None:
        precinct_id = ref.precinct_id(region[1], number)
        if precinct_id is None:
            errors.add("precinct_number", f"no precinct {number} in region {region[0]}")
    iin = values["iin"]
    born_per_iin = None
    if not iin:
        errors.add("iin", "required")
    else:
        try:
            born_per_iin = parse_iin(iin).birth_date
        except RuleViolation as violation:
            # parse_iin's messages describe the rule, never the number itself.
            errors.add("iin", f"not a valid IIN: {violation.message}")
    birth_date = None
    if not values["birth_date"]:
        errors.add("birth_date", "required")
    else:
        try:
            birth_date = date.fromisoformat(values["birth_date"])
        except ValueError:
            errors.add("birth_date", "not a date in the form YYYY-MM-DD")
    if birth_date is not None and born_per_iin is not None and birth_date != born_per_iin:
        errors.add("birth_date", f"differs from the birth date in the IIN {mask_iin(iin)}")
    surname = errors.text(values, "surname", NAME_LENGTH)
    given_name = errors.text(values, "given_name", NAME_LENGTH)
    patronymic = errors.text(values, "patronymic", NAME_LENGTH, required=False)
    address = errors.text(values, "address", ADDRESS_LENGTH)
    iin_key = None if born_per_iin is None else iin
    if errors.items or precinct_id is None or birth_date is None:
        return Checked(line, None, tuple(errors.items), iin_key=iin_key)
    return Checked(
        line,
        _Voter(
            line=line,
            precinct_id=precinct_id,
            iin=iin,
            surname=surname,
            given_name=given_name,
            patronymic=patronymic or None,
            birth_date=birth_date,
            address=address,
        ),
        iin_key=iin_key,
    )


# The import's working tables (voter_import_rows, voter_import_repeats, voter_import_listed),
# private to its connection and gone with its transaction. Every row with a valid IIN is staged,
# good or not: a bad row still claims its IIN, so a later row with the same IIN is a repeat
# whether or not errors are skipped.
_CREATE_POSTGRES = (
    "CREATE TEMP TABLE voter_import_rows (line integer NOT NULL, iin text NOT NULL, "
    "ok boolean NOT NULL, precinct_id integer, surname text, given_name text, patronymic text, "
    "birth_date date, address text, search_key text) ON COMMIT DROP",
    "CREATE TEMP TABLE voter_import_repeats (line integer, iin text, ok boolean) ON COMMIT DROP",
    "CREATE TEMP TABLE voter_import_listed (line integer, iin text, entry_id integer) "
    "ON COMMIT DROP",
)
_CREATE_SQLITE = (
    "CREATE TEMP TABLE voter_import_rows (line INTEGER PRIMARY KEY, iin TEXT NOT NULL, "
    "ok INTEGER NOT NULL, precinct_id INTEGER, surname TEXT, given_name TEXT, patronymic TEXT, "
    "birth_date TEXT, address TEXT, search_key TEXT)",
    "CREATE TEMP TABLE voter_import_repeats (line INTEGER, iin TEXT, ok INTEGER)",
    "CREATE TEMP TABLE voter_import_listed (line INTEGER, iin TEXT, entry_id INTEGER)",
)
_DROP = (
    "DROP TABLE IF EXISTS voter_import_rows",
    "DROP TABLE IF EXISTS voter_import_repeats",
    "DROP TABLE IF EXISTS voter_import_listed",
)
_STAGED_COLUMNS = (
    "line, iin, ok, precinct_id, surname, given_name, patronymic, birth_date, address, search_key"
)
_COPY = "COPY voter_import_rows (" + _STAGED_COLUMNS + ") FROM STDIN"
_INSERT_STAGED = (
    "INSERT INTO voter_import_rows (line, iin, ok, precinct_id, surname, given_name, patronymic, "
    "birth_date, address, search_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The rows after the first with the same IIN: a window over the repeated IINs only.
_FIND_REPEATS = (
    "INSERT INTO voter_import_repeats (line, iin, ok) SELECT line, iin, ok FROM ("
    "SELECT line, iin, ok, row_number() OVER (PARTITION BY iin ORDER BY line) AS rank "
    "FROM voter_import_rows WHERE iin IN "
    "(SELECT iin FROM voter_import_rows GROUP BY iin HAVING count(*) > 1)) AS ranked "
    "WHERE rank > 1"
)
_FIND_LISTED = (
    "INSERT INTO voter_import_listed (line, iin, entry_id) "
    "SELECT s.line, s.iin, v.id FROM voter_import_rows AS s "
    "JOIN voter_entry AS v ON v.election_id = :election AND v.iin = s.iin "
    "WHERE s.ok AND NOT EXISTS (SELECT 1 FROM voter_import_repeats AS r WHERE r.line = s.line)"
)
_COUNT_REPEATS = "SELECT count(*), count(*) FILTER (WHERE ok) FROM voter_import_repeats"
_COUNT_LISTED = "SELECT count(*) FROM voter_import_listed"
_FIRST_REPEATS = "SELECT line, iin FROM voter_import_repeats ORDER BY line LIMIT :cap"
_FIRST_LISTED = "SELECT line, iin FROM voter_import_listed ORDER BY line LIMIT :cap"
# add mode: the listed IINs were refused, and with skip_errors they are skipped, never changed.
_UNSTAGE_LISTED = (
    "DELETE FROM voter_import_rows WHERE line IN (SELECT line FROM voter_import_listed)",
    "DELETE FROM voter_import_listed",
)
_UPDATE_LISTED = (
    "UPDATE voter_entry SET precinct_id = s.precinct_id, surname = s.surname, "
    "given_name = s.given_name, patronymic = s.patronymic, birth_date = s.birth_date, "
    "address = s.address, search_key = s.search_key "
    "FROM (SELECT l.entry_id, r.* FROM voter_import_listed AS l "
    "JOIN voter_import_rows AS r ON r.line = l.line) AS s WHERE voter_entry.id = s.entry_id"
)
_INSERT_ENTRIES = (
    "INSERT INTO voter_entry (election_id, precinct_id, iin, surname, given_name, patronymic, "
    "birth_date, address, search_key) SELECT :election, precinct_id, iin, surname, given_name, "
    "patronymic, birth_date, address, search_key FROM voter_import_rows AS s WHERE s.ok"
)
_NOT_REPEATED = " AND NOT EXISTS (SELECT 1 FROM voter_import_repeats AS r WHERE r.line = s.line)"
_NOT_LISTED = " AND NOT EXISTS (SELECT 1 FROM voter_import_listed AS l WHERE l.line = s.line)"
_SQLITE_BATCH = 5_000
# Staged: line, IIN, whether the row is good, then (good rows only) the entry's values.
Staged = tuple[Any, ...]


def _staged(voter: _Voter, search_key: str) -> Staged:
    return (
        voter.line,
        voter.iin,
        True,
        voter.precinct_id,
        voter.surname,
        voter.given_name,
        voter.patronymic,
        voter.birth_date.isoformat(),
        voter.address,
        search_key,
    )


class _RowStager:
    """Checks each row of the file and hands the staged ones on; errors go to the summary.

    Most rows of a real list are good, and `fast` accepts those with a few string comparisons
    and dict look-ups; any row it does not accept goes through `_check_voter`, which is the rule
    and explains every refusal. `fast` accepts nothing `_check_voter` refuses (tested).
    """

    def __init__(self, ref: Reference, header: Header, code: str, summary: ImportSummary) -> None:
        self.ref = ref
        self.header = header
        self.code = code
        self.summary = summary
        self.keys = SearchKeys()
        index = header.index
        self.wanted = [(name, index[name]) for name in VOTER_COLUMNS] + [
            (name, index[name]) for name in OPTIONAL_VOTER_COLUMNS if name in index
        ]
        self.positions = tuple(index[name] for name in VOTER_COLUMNS)
        self.named_at = index.get("election_code")

    def fast(self, line: int, row: list[str]) -> Staged | None:
        if self.named_at is not None:
            named = row[self.named_at].strip()
            if named and named != self.code:
                return None
        region_at, number_at, iin_at, surname_at, given_at, patronymic_at, born_at, address_at = (
            self.positions
        )
        region_id = self.ref.region_id(row[region_at].strip())
        number = row[number_at].strip()
        if region_id is None or not number.isascii() or not number.isdigit():
            return None
        precinct_id = self.ref.precinct_id(region_id, int(number))
        iin = row[iin_at].strip()
        born = row[born_at].strip()
        if precinct_id is None or not iin_encodes(iin, born):
            return None
        surname = row[surname_at].strip()
        given_name = row[given_at].strip()
        patronymic = row[patronymic_at].strip()
        address = row[address_at].strip()
        if (
            not surname
            or not given_name
            or not address
            or len(surname) > NAME_LENGTH
            or len(given_name) > NAME_LENGTH
            or len(patronymic) > NAME_LENGTH
            or len(address) > ADDRESS_LENGTH
        ):
            return None
        key = self.keys.key(surname, given_name, patronymic)
        return (line, iin, True, precinct_id, surname, given_name, patronymic or None, born,
                address, key)  # fmt: skip

    def slow(self, line: int, row: list[str]) -> Staged | None:
        values = {name: row[position].strip() for name, position in self.wanted}
        values.update(dict.fromkeys(self.header.absent, ""))
        checked = _check_voter(line, values, self.ref, self.code)
        if isinstance(checked.record, _Voter):
            voter = checked.record
            return _staged(voter, self.keys.key(voter.surname, voter.given_name, voter.patronymic))
        self.summary.invalid += 1
        for error in checked.errors:
            self.summary.add_error(error)
        if checked.iin_key is None:
            return None
        return (line, checked.iin_key, False, None, None, None, None, None, None, None)


@contextmanager
def _staging(session: Session, postgres: bool) -> Iterator[Callable[[Staged], None]]:
    """Creates the working tables and yields what appends a row to the staged ones: PostgreSQL's
    COPY streams them to the server as the file is read; SQLite takes them in batches."""
    _drop_staging(session)
    for statement in _CREATE_POSTGRES if postgres else _CREATE_SQLITE:
        session.execute(text(statement))
    # The driver's own connection, inside the session's transaction: COPY, and executemany
    # without SQLAlchemy's per-row work.
    driver: Any = session.connection().connection.driver_connection
    if postgres:
        with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
            yield copy.write_row
        return
    batch: list[Staged] = []
    cursor = driver.cursor()

    def append(row: Staged) -> None:
        batch.append(row)
        if len(batch) >= _SQLITE_BATCH:
            cursor.executemany(_INSERT_STAGED, batch)
            batch.clear()

    try:
        yield append
        if batch:
            cursor.executemany(_INSERT_STAGED, batch)
    finally:
        cursor.close()


def _drop_staging(session: Session) -> None:
    for statement in _DROP:
        session.execute(text(statement))


def _stage_file(
    session: Session,
    stream: IO[str],
    ref: Reference,
    code: str,
    summary: ImportSummary,
    report: Progress,
) -> None:
    """Pass over the file once: check every row, stage those with a valid IIN, count the rest."""
    reader = csv.reader(stream)
    header = read_header(reader, VOTER_COLUMNS, OPTIONAL_VOTER_COLUMNS)
    if isinstance(header, Checked):
        summary.file_unreadable = True
        for error in header.errors:
            summary.add_error(error)
        return
    stager = _RowStager(ref, header, code, summary)
    postgres = session.get_bind().dialect.name == "postgresql"
    pending = 0
    with _staging(session, postgres) as append:
        fast, slow = stager.fast, stager.slow
        for item in raw_rows(reader, header):
            if isinstance(item, Checked):
                for error in item.errors:
                    summary.add_error(error)
                if not item.is_row:
                    summary.file_unreadable = True
                    break
                summary.read += 1
                summary.invalid += 1
                continue
            line, row = item
            summary.read += 1
            staged = fast(line, row) or slow(line, row)
            if staged is not None:
                append(staged)
            pending += 1
            if pending >= BATCH_SIZE:
                report("check", pending)
                pending = 0
    report("check", pending)


def _unreferenced(election_id: int, commission_ids: frozenset[int] | None) -> Any:
    """The election's entries that no application or certificate refers to (in scope)."""
    condition = and_(
        VoterEntry.election_id == election_id,
        ~exists().where(CertificateCase.voter_id == VoterEntry.id),
        ~exists().where(Certificate.voter_id == VoterEntry.id),
    )
    if commission_ids is not None:
        condition = and_(
            condition,
            VoterEntry.precinct_id.in_(
                select(Precinct.id).where(
                    Precinct.territorial_commission_id.in_(sorted(commission_ids))
                )
            ),
        )
    return condition


def _find_repeats(session: Session, postgres: bool) -> tuple[int, int]:
    """Staged rows whose IIN an earlier row of the file has: how many, and how many of them
    were good otherwise."""
    if postgres:
        # Autovacuum never analyses temporary tables; the joins below need their counts.
        session.execute(text("ANALYZE voter_import_rows"))
    session.execute(text(_FIND_REPEATS))
    total, good = session.execute(text(_COUNT_REPEATS)).one()
    return int(total), int(good)


def _find_listed(session: Session, election_id: int, postgres: bool) -> int:
    """Good staged rows (the first of their IIN in the file) whose IIN is on the list."""
    session.execute(text(_FIND_LISTED), {"election": election_id})
    if postgres:
        session.execute(text("ANALYZE voter_import_listed"))
    return int(session.execute(text(_COUNT_LISTED)).scalar_one())


def _first_errors(session: Session, statement: str, reason: str) -> list[RowError]:
    rows = session.execute(text(statement), {"cap": MAX_REPORTED_ERRORS})
    return [RowError(int(line), "iin", reason.format(mask_iin(str(iin)))) for line, iin in rows]


def _merge_errors(summary: ImportSummary, found: list[tuple[int, list[RowError]]]) -> None:
    """Adds the errors the database found to the rows' own, in line order (a row's own errors
    first), keeping the first MAX_REPORTED_ERRORS and counting all."""
    summary.error_count += sum(count for count, _errors in found)
    merged = heapq.merge(
        summary.errors, *(errors for _count, errors in found), key=lambda error: error.line
    )
    summary.errors = list(itertools.islice(merged, MAX_REPORTED_ERRORS))


def _write(session: Session, election_id: int, repeats: int, listed: int) -> tuple[int, int]:
    """Changes the listed entries the file names again, then inserts the rest, in two
    statements: (inserted, updated)."""
    insert = _INSERT_ENTRIES + (_NOT_REPEATED if repeats else "")
    updated = 0
    if listed:
        insert += _NOT_LISTED
        updated = int(session.execute(text(_UPDATE_LISTED)).rowcount)  # type: ignore[attr-defined]
    # In the order of the list's (election, precinct, name) index: two of its indexes then grow
    # at their ends instead of at random pages (a third less time for 3 M rows on PostgreSQL).
    insert += " ORDER BY s.precinct_id, s.search_key"
    result = session.execute(text(insert), {"election": election_id})
    return int(result.rowcount), updated  # type: ignore[attr-defined]


def import_voters(
    session: Session,
    source: Source,
    *,
    election_id: int,
    now: datetime,
    mode: str = "add",
    skip_errors: bool = False,
    actor: Actor = SYSTEM,
    progress: Progress | None = None,
    commission_ids: frozenset[int] | None = None,
) -> ImportSummary:
    """Import a voter list file into one election's list (format in the package docstring);
    the caller commits, and checks first that the election is still being prepared.

    `add` refuses IINs already on the list; `amend` updates them; `replace` first removes every
    entry (of the commission's precincts, for a territorial commission) that no application
    refers to, so the file becomes the list. Nothing is written when any row is wrong, unless
    `skip_errors`; then the good rows are. With `commission_ids`, rows for precincts outside
    those territorial commissions are errors.

    The file is read once: rows are checked in Python as they stream into a working table
    (PostgreSQL's COPY), and the database finds the repeated IINs and the entries already
    listed, so memory holds neither the file nor its IINs.
    """
    election = session.get_one(Election, election_id)
    summary = ImportSummary("voters", file_name(source), skip_errors, mode=mode)
    report = progress or (lambda phase, rows: None)
    postgres = session.get_bind().dialect.name == "postgresql"
    # On an empty list there is nothing to look up (this import's own rows are repeats).
    listed_before = (
        session.scalar(select(VoterEntry.id).where(VoterEntry.election_id == election.id).limit(1))
        is not None
    )
    ref = Reference(session, election.id, commission_ids)
    ref.preload()
    session.flush()
    if postgres:
        # The repeat search hashes or sorts every staged IIN: in memory rather than on disk.
        session.execute(text("SET LOCAL work_mem = '64MB'"))

    def check_then_write() -> None:
        """Every step of the import up to the audit event."""
        with open_source(source) as stream:
            _stage_file(session, stream, ref, election.code, summary, report)
        summary.skipped = summary.read
        if summary.file_unreadable:
            return
        repeats, repeats_good = _find_repeats(session, postgres)
        reason = "IIN {} appears earlier in the file"
        found = [(repeats, _first_errors(session, _FIRST_REPEATS, reason))]
        summary.invalid += repeats_good
        listed = 0
        if listed_before and mode != "replace":
            listed = _find_listed(session, election.id, postgres)
            if mode == "add" and listed:
                reason = "IIN {} is already on this election's list"
                found.append((listed, _first_errors(session, _FIRST_LISTED, reason)))
                summary.invalid += listed
        _merge_errors(summary, found)
        if summary.error_count and not skip_errors:
            return
        if mode == "add" and listed:
            for statement in _UNSTAGE_LISTED:
                session.execute(text(statement))
            listed = 0
        elif mode == "replace":
            removed = session.execute(
                delete(VoterEntry)
                .where(_unreferenced(election.id, commission_ids))
                .execution_options(synchronize_session=False)
            )
            # Reported as cleared: an entry the file brings back is imported again.
            summary.removed = int(removed.rowcount)  # type: ignore[attr-defined]
            # What is left is what applications refer to: this import updates it.
            listed = _find_listed(session, election.id, postgres)
        summary.imported, summary.updated = _write(session, election.id, repeats, listed)
        written = summary.imported + summary.updated
        report("import", written)
        summary.skipped = summary.read - written
        summary.written = written > 0 or summary.removed > 0
        if postgres and written >= _ANALYZE_AFTER:
            # The planner's picture of the list must follow it, or the first searches after a
            # national import are planned for an empty table.
            session.execute(text("ANALYZE voter_entry"))

    check_then_write()
    # On failure the caller rolls back, which takes the working tables with it on PostgreSQL
    # (and the next import drops any left on SQLite): a DROP in a failed transaction would only
    # hide the error.
    _drop_staging(session)
    audit_import(session, summary, actor, now, election.id)
    return summary


__all__ = ["OPTIONAL_VOTER_COLUMNS", "VOTER_COLUMNS", "import_voters"]
