"""What both imports share: reading the CSV a row at a time, field checks, the two passes, the
election's reference rows, and the one audit event an import writes."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from models import Base, Precinct, Region
from services.audit import Actor, record_event
from workflow.calendar import Moment

BATCH_SIZE = 2_000
MAX_REPORTED_ERRORS = 1_000
# add: new rows only; amend: new rows and changes to existing ones; replace: the file is the list.
IMPORT_MODES = ("add", "amend", "replace")
# A system action has no precinct; its local time is read in the capital's zone.
SYSTEM_TIME_ZONE = "Asia/Almaty"

NAME_LENGTH = 200
COMMISSION_LENGTH = 300
ADDRESS_LENGTH = 500
_MAX_NUMBER = 2**31 - 1
_KATO_SEPARATORS = re.compile(r"[\s\-.]+")
_NINE_DIGITS = re.compile(r"[0-9]{9}")

Source = str | os.PathLike[str] | IO[str]
# Called with the phase ("check" or "import") and the number of rows just processed.
Progress = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in the file: where, which column, why (never the personal data itself)."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


class ImportAborted(RuntimeError):
    """The file changed between the two passes: the caller must roll back."""


@dataclass
class ImportSummary:
    """What an import read, wrote and refused. `errors` holds the first MAX_REPORTED_ERRORS."""

    kind: str
    file_name: str
    skip_errors: bool
    mode: str = "add"
    read: int = 0
    # Rows with at least one error; `skipped` is every row not imported (all of them when a
    # refused import writes nothing).
    invalid: int = 0
    imported: int = 0
    # Rows that changed an existing entry (amend, replace) and entries a replace removed.
    updated: int = 0
    removed: int = 0
    skipped: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Set when the file itself is unusable (no header, missing column, not UTF-8).
    file_unreadable: bool = False
    written: bool = False
    created: dict[str, int] = field(default_factory=dict)

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    @property
    def unreported_errors(self) -> int:
        return self.error_count - len(self.errors)


@dataclass(frozen=True, slots=True)
class Checked:
    """One data row after checking: its parsed record, or why it cannot be imported."""

    line: int
    record: Any
    errors: tuple[RowError, ...] = ()
    # False for problems with the file itself (header, encoding): they end the reading.
    is_row: bool = True
    # A voter row's valid IIN, kept even when other fields are wrong: duplicates are then judged
    # alike in both passes and with or without skipping errors.
    iin_key: str | None = None


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@contextmanager
def open_source(source: Source) -> Iterator[IO[str]]:
    if isinstance(source, str | os.PathLike):
        # newline="" lets the csv module see quoted line breaks inside an address.
        with open(source, encoding="utf-8-sig", newline="") as stream:
            yield stream
    else:
        source.seek(0)
        yield source


def file_name(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return Path(str(getattr(source, "name", "stream"))).name


@dataclass(frozen=True, slots=True)
class Header:
    """Where each column of an import's format is in the file, and how wide a row must be."""

    index: dict[str, int]
    width: int
    # Optional columns the file does not have: they read as empty on every row.
    absent: tuple[str, ...]


def read_header(
    reader: Any, columns: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Header | Checked:
    """The header of a `csv.reader`, or why the file cannot be this import's format."""
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as error:
        return Checked(1, None, (_unreadable(1, error),), is_row=False)
    if header is None:
        return Checked(1, None, (RowError(1, "file", "the file is empty: no header row"),), False)
    names = [name.strip().lstrip("\ufeff") for name in header]
    header_errors = [
        RowError(1, name, "column appears more than once")
        for name in sorted({name for name in names if names.count(name) > 1})
    ] + [RowError(1, column, "missing column") for column in columns if column not in names]
    if header_errors:
        return Checked(1, None, tuple(header_errors), is_row=False)
    index = {name: position for position, name in enumerate(names)}
    return Header(index, len(names), tuple(column for column in optional if column not in names))


def raw_rows(reader: Any, header: Header) -> Iterator[tuple[int, list[str]] | Checked]:
    """Data rows as (line, fields) in file order; a row of the wrong width is an error row and
    an unreadable stretch of the file ends the reading. Blank lines are skipped."""
    width = header.width
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as error:
            line = reader.line_num + 1
            yield Checked(line, None, (_unreadable(line, error),), is_row=False)
            return
        if not row:
            continue
        line = reader.line_num
        if len(row) != width:
            reason = f"the row has {len(row)} fields, the header {width}"
            yield Checked(line, None, (RowError(line, "row", reason),))
            continue
        yield line, row


def read_rows(
    stream: IO[str], columns: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[Checked]:
    """Rows as dicts of stripped strings, one at a time; header problems end the file.

    An optional column missing from the header reads as empty on every row.
    """
    reader = csv.reader(stream)
    header = read_header(reader, columns, optional)
    if isinstance(header, Checked):
        yield header
        return
    wanted = [(name, header.index[name]) for name in (*columns, *optional) if name in header.index]
    absent = dict.fromkeys(header.absent, "")
    for item in raw_rows(reader, header):
        if isinstance(item, Checked):
            yield item
            continue
        line, row = item
        yield Checked(line, {name: row[position].strip() for name, position in wanted} | absent)


def _unreadable(line: int, error: Exception) -> RowError:
    if isinstance(error, UnicodeDecodeError):
        return RowError(line, "file", "the file is not UTF-8 text")
    return RowError(line, "file", f"unreadable CSV ({error})")


# --------------------------------------------------------------------------------------------
# Field checks
# --------------------------------------------------------------------------------------------


class RowErrors:
    """Collects the errors of one row."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.items: list[RowError] = []

    def add(self, column: str, reason: str) -> None:
        self.items.append(RowError(self.line, column, reason))

    def text(
        self, values: dict[str, str], column: str, limit: int, *, required: bool = True
    ) -> str:
        value = values[column]
        if required and not value:
            self.add(column, "required")
        elif len(value) > limit:
            self.add(column, f"longer than {limit} characters")
        return value

    def number(self, values: dict[str, str], column: str) -> int | None:
        value = values[column]
        if not value:
            self.add(column, "required")
            return None
        if not value.isascii() or not value.isdigit() or not 0 < int(value) <= _MAX_NUMBER:
            self.add(column, "not a positive whole number")
            return None
        return int(value)

    def kato(self, values: dict[str, str], column: str) -> str | None:
        value = _KATO_SEPARATORS.sub("", values[column])
        if not value:
            self.add(column, "required")
            return None
        if not _NINE_DIGITS.fullmatch(value):
            self.add(column, "a KATO code is 9 digits")
            return None
        return value


class Reference:
    """Lookups of the election's existing reference rows, cached: bounded by the country, not
    by the file. Rows of other elections are never seen."""

    def __init__(
        self, session: Session, election_id: int, commission_ids: frozenset[int] | None = None
    ) -> None:
        self.session = session
        self.election_id = election_id
        # A territorial commission imports only for its own precincts: others look absent.
        self.commission_ids = commission_ids
        self._regions: dict[str, int | None] = {}
        self._precincts: dict[int, dict[int, int]] = {}
        # Set by `preload`: the caches then hold everything, and nothing is queried.
        self._complete = False

    def preload(self) -> None:
        """Read every region and precinct in scope now: an import streaming over the connection
        (PostgreSQL's COPY) cannot query it until the stream ends."""
        self._regions = {
            str(kato): int(region_id)
            for kato, region_id in self.session.execute(
                select(Region.kato, Region.id).where(Region.election_id == self.election_id)
            )
        }
        statement = select(Precinct.region_id, Precinct.number, Precinct.id).where(
            Precinct.election_id == self.election_id
        )
        if self.commission_ids is not None:
            statement = statement.where(
                Precinct.territorial_commission_id.in_(sorted(self.commission_ids))
            )
        self._precincts = {rid: {} for rid in self._regions.values() if rid is not None}
        for region_id, number, precinct_id in self.session.execute(statement):
            self._precincts.setdefault(int(region_id), {})[int(number)] = int(precinct_id)
        self._complete = True

    def region_id(self, kato: str) -> int | None:
        if kato not in self._regions and not self._complete:
            self._regions[kato] = self.session.scalar(
                select(Region.id).where(Region.election_id == self.election_id, Region.kato == kato)
            )
        return self._regions.get(kato)

    def precinct_id(self, region_id: int, number: int) -> int | None:
        if region_id not in self._precincts and not self._complete:
            statement = select(Precinct.number, Precinct.id).where(Precinct.region_id == region_id)
            if self.commission_ids is not None:
                statement = statement.where(
                    Precinct.territorial_commission_id.in_(sorted(self.commission_ids))
                )
            rows = self.session.execute(statement)
            self._precincts[region_id] = {int(n): int(i) for n, i in rows}
        return self._precincts[region_id].get(number)


def region_of(errors: RowErrors, values: dict[str, str], ref: Reference) -> tuple[str, int] | None:
    kato = errors.kato(values, "region_kato")
    if kato is None:
        return None
    region_id = ref.region_id(kato)
    if region_id is None:
        errors.add("region_kato", f"this election's map has no region with the code {kato}")
        return None
    return kato, region_id


# --------------------------------------------------------------------------------------------
# The two passes
# --------------------------------------------------------------------------------------------


def run_import(
    session: Session,
    source: Source,
    summary: ImportSummary,
    checked_rows: Callable[[Session, IO[str]], Iterator[Checked]],
    write_batch: Callable[[list[Any]], None],
    progress: Progress | None,
    before_writing: Callable[[], None] | None = None,
) -> None:
    """Check every row (pass 1); if the file is good (or errors are skipped), read it again and
    write the good rows in batches (pass 2), in the caller's transaction."""
    report = progress or (lambda phase, rows: None)
    good = 0
    with open_source(source) as stream:
        pending = 0
        for item in checked_rows(session, stream):
            for error in item.errors:
                summary.add_error(error)
            if not item.is_row:
                summary.file_unreadable = True
                continue
            summary.read += 1
            pending += 1
            if item.errors:
                summary.invalid += 1
            else:
                good += 1
            if pending >= BATCH_SIZE:
                report("check", pending)
                pending = 0
        report("check", pending)
    summary.skipped = summary.read
    if summary.file_unreadable or (summary.error_count and not summary.skip_errors):
        return
    if before_writing is not None:
        before_writing()

    read_again = 0
    written = 0
    with open_source(source) as stream:
        batch: list[Any] = []
        for item in checked_rows(session, stream):
            if not item.is_row:
                raise ImportAborted("the file changed while it was being imported")
            read_again += 1
            if item.errors:
                continue
            batch.append(item.record)
            if len(batch) >= BATCH_SIZE:
                write_batch(batch)
                written += len(batch)
                report("import", len(batch))
                batch = []
        if batch:
            write_batch(batch)
            written += len(batch)
            report("import", len(batch))
    if read_again != summary.read or written != good:
        raise ImportAborted("the file changed while it was being imported")
    summary.skipped = summary.read - written
    summary.written = written > 0 or summary.removed > 0


def update_rows(
    session: Session, model: type[Base], columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    """Change existing rows in one executemany: each row names its `row_id` and new values."""
    # The table, not the model: an ORM update with many parameter sets would be a bulk update
    # by primary key, which a custom bind name for the id is not.
    table = cast(Table, model.__table__)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(name) for name in columns})
        .execution_options(synchronize_session=False),
        rows,
    )


def audit_import(
    session: Session, summary: ImportSummary, actor: Actor, now: datetime, election_id: int
) -> None:
    """One event per import, counts only: the file's rows are personal data."""
    record_event(
        session,
        actor=actor,
        moment=Moment(now, SYSTEM_TIME_ZONE),
        event=f"{summary.kind}_imported",
        outcome="accepted" if summary.written or not summary.error_count else "refused",
        election_id=election_id,
        code=None if not summary.error_count else "rows_with_errors",
        payload={
            "file": summary.file_name[:200],
            "mode": summary.mode,
            "read": summary.read,
            "imported": summary.imported,
            "updated": summary.updated,
            "removed": summary.removed,
            "skipped": summary.skipped,
            "invalid": summary.invalid,
            "errors": summary.error_count,
            "skip_errors": summary.skip_errors,
            **({"created": summary.created} if summary.created else {}),
        },
    )
    session.flush()
