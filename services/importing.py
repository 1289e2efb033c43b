"""Streaming CSV imports of precincts and voter lists, all or nothing.

File formats
============

Both files are UTF-8 (a byte-order mark is allowed), comma-separated, with a header row naming
the columns below in any order; extra columns are ignored. Leading and trailing blanks of every
value are removed. Line numbers in error reports count the header as line 1.

Precincts (`flask import-precincts FILE`)::

    region_kato,locality_kato,locality_name_kk,locality_name_ru,locality_kind,district_kato,
    district_name_kk,district_name_ru,number,address_kk,address_ru,territorial_commission_ru,
    territorial_commission_kk

* `region_kato`: the 9-digit KATO code of a region that already exists (e.g. `270000000`).
* `locality_kato`: 9-digit KATO code of the settlement, inside that region. It is normalised
  (`workflow.locality.normalise_kato`): any code inside Almaty, Nur-Sultan or Shymkent names the
  city itself. A locality is created the first time its code is seen (with the names and kind of
  that row) and reused afterwards, also when it already exists in the database.
* `locality_name_kk`, `locality_name_ru`: the settlement's names (at most 200 characters).
* `locality_kind`: `city`, `town` or `village`.
* `district_kato`, `district_name_kk`, `district_name_ru`: the city district, or all three
  empty. A district is created on first sight and reused by its code; its names are needed only
  when it is new. A district belongs to one locality.
* `number`: the precinct number, a positive integer unique within the region. A precinct that
  already exists is an error: this import adds precincts, it does not edit them.
* `address_kk`, `address_ru`: the polling station's address (at most 500 characters).
* `territorial_commission_ru`, `territorial_commission_kk`: the commission above the precinct,
  created on first sight and reused by its Russian name within the region.

Voters (`flask import-voters FILE`)::

    election_code,region_kato,precinct_number,iin,surname,given_name,patronymic,birth_date,address

* `election_code`: the code of an existing election (e.g. `ref2022`).
* `region_kato`, `precinct_number`: the voter's home precinct, which must exist.
* `iin`: 12 digits, a valid IIN (date, century digit and check digit).
* `surname`, `given_name`: required; `patronymic`: may be empty (at most 200 characters each).
* `birth_date`: ISO `YYYY-MM-DD`; it must be the birth date the IIN encodes.
* `address`: the voter's address as printed on the list (at most 500 characters).

An IIN appearing twice in the file, or already on the election's list, is an error.

How an import runs
==================

The file is read twice, one row at a time. Pass 1 checks every row and collects errors; if there
is any error and errors are not to be skipped, nothing is written. Pass 2 reads the file again and
inserts the good rows in batches, in the caller's transaction (the caller commits once, so the
import is all or nothing). Memory stays bounded whatever the file's size: one batch of rows, the
reference lookups (regions, precincts, elections) and, for voters, one integer per IIN seen, which
duplicate detection cannot do without (roughly 70 bytes a row: 7 MB per 100,000 voters).

Error reasons are in English and never carry a name or a clear IIN, so a report can be pasted into
a ticket: a row is named by its line number, an IIN at most in its masked form.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

from sqlalchemy import String, any_, bindparam, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from models import (
    CityDistrict,
    Election,
    Locality,
    Precinct,
    Region,
    TerritorialCommission,
    VoterEntry,
)
from services.audit import SYSTEM, Actor, record_event
from services.search import voter_search_key
from workflow.calendar import Moment
from workflow.errors import RuleViolation
from workflow.iin import mask_iin, parse_iin
from workflow.locality import normalise_kato

PRECINCT_COLUMNS: tuple[str, ...] = (
    "region_kato",
    "locality_kato",
    "locality_name_kk",
    "locality_name_ru",
    "locality_kind",
    "district_kato",
    "district_name_kk",
    "district_name_ru",
    "number",
    "address_kk",
    "address_ru",
    "territorial_commission_ru",
    "territorial_commission_kk",
)
VOTER_COLUMNS: tuple[str, ...] = (
    "election_code",
    "region_kato",
    "precinct_number",
    "iin",
    "surname",
    "given_name",
    "patronymic",
    "birth_date",
    "address",
)
LOCALITY_KINDS = frozenset({"city", "town", "village"})
BATCH_SIZE = 2_000
MAX_REPORTED_ERRORS = 1_000
# A system action has no precinct; its local time is read in the capital's zone.
SYSTEM_TIME_ZONE = "Asia/Almaty"

_NAME_LENGTH = 200
_COMMISSION_LENGTH = 300
_ADDRESS_LENGTH = 500
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
    read: int = 0
    # Rows with at least one error; `skipped` is every row not imported (all of them when a
    # refused import writes nothing).
    invalid: int = 0
    imported: int = 0
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
class _Checked:
    """One data row after checking: its parsed record, or why it cannot be imported."""

    line: int
    record: Any
    errors: tuple[RowError, ...] = ()
    # False for problems with the file itself (header, encoding): they end the reading.
    is_row: bool = True
    # A voter row's election and valid IIN, kept even when other fields are wrong: duplicates
    # are then judged alike in both passes and with or without skipping errors.
    iin_key: tuple[int, str] | None = None


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@contextmanager
def _open(source: Source) -> Iterator[IO[str]]:
    if isinstance(source, str | os.PathLike):
        # newline="" lets the csv module see quoted line breaks inside an address.
        with open(source, encoding="utf-8-sig", newline="") as stream:
            yield stream
    else:
        source.seek(0)
        yield source


def _file_name(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return Path(str(getattr(source, "name", "stream"))).name


def _read_rows(stream: IO[str], columns: tuple[str, ...]) -> Iterator[_Checked]:
    """Rows as dicts of stripped strings, one at a time; header problems end the file."""
    reader = csv.DictReader(stream)
    try:
        header = reader.fieldnames
    except (csv.Error, UnicodeDecodeError) as error:
        yield _Checked(1, None, (_unreadable(1, error),), is_row=False)
        return
    if header is None:
        yield _Checked(1, None, (RowError(1, "file", "the file is empty: no header row"),), False)
        return
    names = [name.strip().lstrip("\ufeff") for name in header]
    reader.fieldnames = names
    header_errors = [
        RowError(1, name, "column appears more than once")
        for name in sorted({name for name in names if names.count(name) > 1})
    ] + [RowError(1, column, "missing column") for column in columns if column not in names]
    if header_errors:
        yield _Checked(1, None, tuple(header_errors), is_row=False)
        return
    width = len(names)
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as error:
            line = reader.line_num + 1
            yield _Checked(line, None, (_unreadable(line, error),), is_row=False)
            return
        line = reader.line_num
        if None in raw or any(value is None for value in raw.values()):
            count = width + len(raw.get(None) or ()) - sum(v is None for v in raw.values())
            reason = f"the row has {count} fields, the header {width}"
            yield _Checked(line, None, (RowError(line, "row", reason),))
            continue
        yield _Checked(line, {name: raw[name].strip() for name in columns})


def _unreadable(line: int, error: Exception) -> RowError:
    if isinstance(error, UnicodeDecodeError):
        return RowError(line, "file", "the file is not UTF-8 text")
    return RowError(line, "file", f"unreadable CSV ({error})")


def _chunks(items: Iterable[_Checked], size: int) -> Iterator[list[_Checked]]:
    chunk: list[_Checked] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --------------------------------------------------------------------------------------------
# Field checks
# --------------------------------------------------------------------------------------------


class _RowErrors:
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


class _Reference:
    """Lookups of existing reference rows, cached: bounded by the country, not by the file."""

    def __init__(self, session: Session, commission_id: int | None = None) -> None:
        self.session = session
        # A territorial commission imports only for its own precincts: others look absent.
        self.commission_id = commission_id
        self._regions: dict[str, int | None] = {}
        self._elections: dict[str, int | None] = {}
        self._precincts: dict[int, dict[int, int]] = {}

    def region_id(self, kato: str) -> int | None:
        if kato not in self._regions:
            self._regions[kato] = self.session.scalar(select(Region.id).where(Region.kato == kato))
        return self._regions[kato]

    def election_id(self, code: str) -> int | None:
        if code not in self._elections:
            self._elections[code] = self.session.scalar(
                select(Election.id).where(Election.code == code)
            )
        return self._elections[code]

    def precinct_id(self, region_id: int, number: int) -> int | None:
        if region_id not in self._precincts:
            statement = select(Precinct.number, Precinct.id).where(Precinct.region_id == region_id)
            if self.commission_id is not None:
                statement = statement.where(
                    Precinct.territorial_commission_id == self.commission_id
                )
            rows = self.session.execute(statement)
            self._precincts[region_id] = {int(n): int(i) for n, i in rows}
        return self._precincts[region_id].get(number)


def _region(errors: _RowErrors, values: dict[str, str], ref: _Reference) -> tuple[str, int] | None:
    kato = errors.kato(values, "region_kato")
    if kato is None:
        return None
    region_id = ref.region_id(kato)
    if region_id is None:
        errors.add("region_kato", f"no region has the code {kato}")
        return None
    return kato, region_id


# --------------------------------------------------------------------------------------------
# Voters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Voter:
    line: int
    election_id: int
    precinct_id: int
    iin: str
    surname: str
    given_name: str
    patronymic: str | None
    birth_date: date
    address: str

    def row(self) -> dict[str, Any]:
        return {
            "election_id": self.election_id,
            "precinct_id": self.precinct_id,
            "iin": self.iin,
            "surname": self.surname,
            "given_name": self.given_name,
            "patronymic": self.patronymic,
            "birth_date": self.birth_date,
            "address": self.address,
            "search_key": voter_search_key(self.surname, self.given_name, self.patronymic),
        }


def _check_voter(line: int, values: dict[str, str], ref: _Reference) -> _Checked:
    errors = _RowErrors(line)
    election_id = None
    code = values["election_code"]
    if not code:
        errors.add("election_code", "required")
    else:
        election_id = ref.election_id(code)
        if election_id is None:
            errors.add("election_code", "no election has this code")
    precinct_id = None
    region = _region(errors, values, ref)
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
    surname = errors.text(values, "surname", _NAME_LENGTH)
    given_name = errors.text(values, "given_name", _NAME_LENGTH)
    patronymic = errors.text(values, "patronymic", _NAME_LENGTH, required=False)
    address = errors.text(values, "address", _ADDRESS_LENGTH)
    iin_key = None if born_per_iin is None or election_id is None else (election_id, iin)
    if errors.items or election_id is None or precinct_id is None or birth_date is None:
        return _Checked(line, None, tuple(errors.items), iin_key=iin_key)
    return _Checked(
        line,
        _Voter(
            line=line,
            election_id=election_id,
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


def _checked_voters(
    session: Session, stream: IO[str], commission_id: int | None = None
) -> Iterator[_Checked]:
    """Every row of a voter file, checked, including duplicates in the file and in the database."""
    ref = _Reference(session, commission_id)
    # Election id and the IIN as an integer: exact, and about a third of the size of the string.
    seen: set[tuple[int, int]] = set()
    for chunk in _chunks(_read_rows(stream, VOTER_COLUMNS), BATCH_SIZE):
        checked: list[_Checked] = []
        for item in chunk:
            if not item.is_row or item.record is None:
                checked.append(item)
                continue
            result = _check_voter(item.line, item.record, ref)
            checked.append(_mark_duplicate(result, seen))
        yield from _mark_existing(session, checked)


def _mark_duplicate(item: _Checked, seen: set[tuple[int, int]]) -> _Checked:
    if item.iin_key is None:
        return item
    election_id, iin = item.iin_key
    compact = (election_id, int(iin))
    if compact not in seen:
        seen.add(compact)
        return item
    error = RowError(item.line, "iin", f"IIN {mask_iin(iin)} appears earlier in the file")
    return _Checked(item.line, None, (*item.errors, error))


def _mark_existing(session: Session, chunk: list[_Checked]) -> list[_Checked]:
    """One query per batch (and election) for IINs already on the election's list."""
    wanted: dict[int, list[str]] = {}
    for item in chunk:
        if isinstance(item.record, _Voter):
            wanted.setdefault(item.record.election_id, []).append(item.record.iin)
    if not wanted:
        return chunk
    postgres = session.get_bind().dialect.name == "postgresql"
    existing: set[tuple[int, str]] = set()
    for election_id, iins in wanted.items():
        if postgres:
            # One array parameter: psycopg prepares repeated statements, and PostgreSQL's
            # generic plan for "IN ($1 .. $2000)" scans the election's rows comparing each
            # with every value (minutes for 100,000 rows); "= ANY($1)" probes the unique index.
            matches = VoterEntry.iin == any_(bindparam("iins", iins, type_=ARRAY(String)))
        else:
            matches = VoterEntry.iin.in_(iins)
        existing.update(
            (election_id, str(iin))
            for iin in session.scalars(
                select(VoterEntry.iin).where(VoterEntry.election_id == election_id, matches)
            )
        )
    if not existing:
        return chunk
    marked = []
    for item in chunk:
        voter = item.record
        if isinstance(voter, _Voter) and (voter.election_id, voter.iin) in existing:
            reason = f"IIN {mask_iin(voter.iin)} is already on this election's list"
            item = _Checked(item.line, None, (RowError(item.line, "iin", reason),))
        marked.append(item)
    return marked


def import_voters(
    session: Session,
    source: Source,
    *,
    now: datetime,
    skip_errors: bool = False,
    actor: Actor = SYSTEM,
    progress: Progress | None = None,
    commission_id: int | None = None,
) -> ImportSummary:
    """Import a voter list file (format in the module docstring); the caller commits.

    Nothing is written when any row is wrong, unless `skip_errors`; then the good rows are.
    With `commission_id`, rows for precincts outside that territorial commission are errors.
    """
    summary = ImportSummary("voters", _file_name(source), skip_errors)
    elections: set[int] = set()

    def insert_batch(batch: list[_Voter]) -> None:
        # render_nulls: rows with and without a patronymic share one executemany statement.
        session.execute(
            insert(VoterEntry).execution_options(render_nulls=True),
            [voter.row() for voter in batch],
        )
        elections.update(voter.election_id for voter in batch)

    _run_import(
        session,
        source,
        summary,
        partial(_checked_voters, commission_id=commission_id),
        insert_batch,
        progress,
    )
    _audit(session, summary, actor, now, next(iter(elections)) if len(elections) == 1 else None)
    return summary


# --------------------------------------------------------------------------------------------
# Precincts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PrecinctRow:
    line: int
    region_id: int
    locality: _NewPlace
    district: _NewPlace | None
    number: int
    address_kk: str
    address_ru: str
    commission_ru: str
    commission_kk: str


@dataclass
class _NewPlace:
    """A locality or district as this file first names it: its owner and, if new, its names."""

    kato: str
    owner: int | str
    exists: bool
    name_kk: str = ""
    name_ru: str = ""
    kind: str = ""

    @property
    def named(self) -> bool:
        return self.exists or bool(self.name_kk and self.name_ru)


class _PrecinctChecker:
    """Checks precinct rows against the database and against earlier rows of the same file.

    The first row that names a locality or district fixes its owner; the first one with valid
    names fixes the names a new one is created with. Both passes see the same rows in the same
    order, so they reach the same verdicts.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.ref = _Reference(session)
        self.localities: dict[str, _NewPlace] = {}
        self.districts: dict[str, _NewPlace] = {}
        self.commission_names: dict[tuple[int, str], str] = {}
        self.precincts: set[tuple[int, int]] = set()

    def check(self, line: int, values: dict[str, str]) -> _Checked:
        errors = _RowErrors(line)
        region = _region(errors, values, self.ref)
        locality = self._locality(errors, values, region)
        district = self._district(errors, values, region, locality)
        number = errors.number(values, "number")
        if region is not None and number is not None:
            key = (region[1], number)
            if key in self.precincts:
                errors.add("number", f"precinct {number} appears earlier in the file")
            elif self.ref.precinct_id(*key) is not None:
                errors.add("number", f"precinct {number} already exists in region {region[0]}")
            self.precincts.add(key)
        address_kk = errors.text(values, "address_kk", _ADDRESS_LENGTH)
        address_ru = errors.text(values, "address_ru", _ADDRESS_LENGTH)
        commission_ru = errors.text(values, "territorial_commission_ru", _COMMISSION_LENGTH)
        commission_kk = errors.text(values, "territorial_commission_kk", _COMMISSION_LENGTH)
        if errors.items or region is None or locality is None or number is None:
            return _Checked(line, None, tuple(errors.items))
        commission_kk = self.commission_names.setdefault((region[1], commission_ru), commission_kk)
        return _Checked(
            line,
            _PrecinctRow(
                line=line,
                region_id=region[1],
                locality=locality,
                district=district,
                number=number,
                address_kk=address_kk,
                address_ru=address_ru,
                commission_ru=commission_ru,
                commission_kk=commission_kk,
            ),
        )

    def _locality(
        self, errors: _RowErrors, values: dict[str, str], region: tuple[str, int] | None
    ) -> _NewPlace | None:
        before = len(errors.items)
        name_kk = errors.text(values, "locality_name_kk", _NAME_LENGTH)
        name_ru = errors.text(values, "locality_name_ru", _NAME_LENGTH)
        kind = values["locality_kind"]
        if kind not in LOCALITY_KINDS:
            errors.add("locality_kind", "one of city, town, village")
        names_ok = len(errors.items) == before
        compact = errors.kato(values, "locality_kato")
        if compact is None or region is None:
            return None
        kato = normalise_kato(compact)
        if kato[:2] != region[0][:2]:
            errors.add("locality_kato", f"{kato} is not inside region {region[0]}")
            return None
        place = self.localities.get(kato)
        if place is None:
            owner = self.session.scalar(select(Locality.region_id).where(Locality.kato == kato))
            place = _NewPlace(kato, region[1] if owner is None else owner, owner is not None)
            self.localities[kato] = place
        if place.owner != region[1]:
            errors.add("locality_kato", f"locality {kato} belongs to another region")
            return None
        if not place.named and names_ok:
            place.name_kk, place.name_ru, place.kind = name_kk, name_ru, kind
        return place

    def _district(
        self,
        errors: _RowErrors,
        values: dict[str, str],
        region: tuple[str, int] | None,
        locality: _NewPlace | None,
    ) -> _NewPlace | None:
        columns = ("district_kato", "district_name_kk", "district_name_ru")
        if not any(values[column] for column in columns):
            return None
        before = len(errors.items)
        name_kk = errors.text(values, "district_name_kk", _NAME_LENGTH, required=False)
        name_ru = errors.text(values, "district_name_ru", _NAME_LENGTH, required=False)
        names_ok = len(errors.items) == before and bool(name_kk and name_ru)
        kato = errors.kato(values, "district_kato")
        if kato is None or region is None or locality is None:
            return None
        if kato[:2] != region[0][:2]:
            errors.add("district_kato", f"{kato} is not inside region {region[0]}")
            return None
        place = self.districts.get(kato)
        if place is None:
            owner = self.session.scalar(
                select(Locality.kato)
                .join(CityDistrict, CityDistrict.locality_id == Locality.id)
                .where(CityDistrict.kato == kato)
            )
            place = _NewPlace(kato, locality.kato if owner is None else owner, owner is not None)
            self.districts[kato] = place
        if place.owner != locality.kato:
            errors.add("district_kato", f"district {kato} belongs to another locality")
            return None
        if not place.named:
            if not names_ok:
                errors.add("district_name_ru", "a new district needs its Kazakh and Russian names")
                return None
            place.name_kk, place.name_ru = name_kk, name_ru
        return place


def _checked_precincts(session: Session, stream: IO[str]) -> Iterator[_Checked]:
    checker = _PrecinctChecker(session)
    for item in _read_rows(stream, PRECINCT_COLUMNS):
        if not item.is_row or item.record is None:
            yield item
        else:
            yield checker.check(item.line, item.record)


class _PrecinctWriter:
    """Finds or creates the localities, districts and commissions precincts hang from."""

    def __init__(self, session: Session, created: dict[str, int]) -> None:
        self.session = session
        self.created = created
        self.localities: dict[str, int] = {}
        self.districts: dict[str, int] = {}
        self.commissions: dict[tuple[int, str], int] = {}

    def precinct(self, row: _PrecinctRow) -> dict[str, Any]:
        locality_id = self._locality(row.region_id, row.locality)
        return {
            "number": row.number,
            "region_id": row.region_id,
            "locality_id": locality_id,
            "district_id": None
            if row.district is None
            else self._district(row.district, locality_id),
            "territorial_commission_id": self._commission(row),
            "address_kk": row.address_kk,
            "address_ru": row.address_ru,
        }

    def _locality(self, region_id: int, place: _NewPlace) -> int:
        if place.kato not in self.localities:
            found = self.session.scalar(select(Locality.id).where(Locality.kato == place.kato))
            if found is None:
                locality = Locality(
                    kato=place.kato,
                    region_id=region_id,
                    name_kk=place.name_kk,
                    name_ru=place.name_ru,
                    kind=place.kind,
                )
                found = self._add(locality, "localities")
            self.localities[place.kato] = found
        return self.localities[place.kato]

    def _district(self, place: _NewPlace, locality_id: int) -> int:
        if place.kato not in self.districts:
            found = self.session.scalar(
                select(CityDistrict.id).where(CityDistrict.kato == place.kato)
            )
            if found is None:
                district = CityDistrict(
                    kato=place.kato,
                    locality_id=locality_id,
                    name_kk=place.name_kk,
                    name_ru=place.name_ru,
                )
                found = self._add(district, "districts")
            self.districts[place.kato] = found
        return self.districts[place.kato]

    def _commission(self, row: _PrecinctRow) -> int:
        key = (row.region_id, row.commission_ru)
        if key not in self.commissions:
            found = self.session.scalar(
                select(TerritorialCommission.id).where(
                    TerritorialCommission.region_id == row.region_id,
                    TerritorialCommission.name_ru == row.commission_ru,
                )
            )
            if found is None:
                commission = TerritorialCommission(
                    region_id=row.region_id, name_kk=row.commission_kk, name_ru=row.commission_ru
                )
                found = self._add(commission, "commissions")
            self.commissions[key] = found
        return self.commissions[key]

    def _add(self, row: Locality | CityDistrict | TerritorialCommission, counter: str) -> int:
        self.session.add(row)
        self.session.flush()
        self.created[counter] = self.created.get(counter, 0) + 1
        return row.id


def import_precincts(
    session: Session,
    source: Source,
    *,
    now: datetime,
    skip_errors: bool = False,
    actor: Actor = SYSTEM,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a precinct file (format in the module docstring); the caller commits."""
    summary = ImportSummary("precincts", _file_name(source), skip_errors)
    summary.created = {"localities": 0, "districts": 0, "commissions": 0}
    writer = _PrecinctWriter(session, summary.created)

    def insert_batch(batch: list[_PrecinctRow]) -> None:
        session.execute(insert(Precinct), [writer.precinct(row) for row in batch])

    _run_import(session, source, summary, _checked_precincts, insert_batch, progress)
    _audit(session, summary, actor, now, None)
    return summary


# --------------------------------------------------------------------------------------------
# The two passes
# --------------------------------------------------------------------------------------------


def _run_import(
    session: Session,
    source: Source,
    summary: ImportSummary,
    checked_rows: Callable[[Session, IO[str]], Iterator[_Checked]],
    insert_batch: Callable[[list[Any]], None],
    progress: Progress | None,
) -> None:
    report = progress or (lambda phase, rows: None)
    good = 0
    with _open(source) as stream:
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

    read_again = 0
    with _open(source) as stream:
        batch: list[Any] = []
        for item in checked_rows(session, stream):
            if not item.is_row:
                raise ImportAborted("the file changed while it was being imported")
            read_again += 1
            if item.errors:
                continue
            batch.append(item.record)
            if len(batch) >= BATCH_SIZE:
                insert_batch(batch)
                summary.imported += len(batch)
                report("import", len(batch))
                batch = []
        if batch:
            insert_batch(batch)
            summary.imported += len(batch)
            report("import", len(batch))
    if read_again != summary.read or summary.imported != good:
        raise ImportAborted("the file changed while it was being imported")
    summary.skipped = summary.read - summary.imported
    summary.written = summary.imported > 0


def _audit(
    session: Session, summary: ImportSummary, actor: Actor, now: datetime, election_id: int | None
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
            "read": summary.read,
            "imported": summary.imported,
            "skipped": summary.skipped,
            "invalid": summary.invalid,
            "errors": summary.error_count,
            "skip_errors": summary.skip_errors,
            **({"created": summary.created} if summary.created else {}),
        },
    )
    session.flush()
