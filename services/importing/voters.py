"""The voter-list import of one election: add, amend or replace its list from a CSV file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import String, and_, any_, bindparam, delete, exists, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from models import Certificate, CertificateCase, Election, Precinct, VoterEntry
from services.audit import SYSTEM, Actor
from services.importing.reading import (
    ADDRESS_LENGTH,
    BATCH_SIZE,
    NAME_LENGTH,
    Checked,
    ImportSummary,
    Progress,
    Reference,
    RowError,
    RowErrors,
    Source,
    audit_import,
    chunks,
    file_name,
    read_rows,
    region_of,
    run_import,
    update_rows,
)
from services.search import voter_search_key
from workflow.errors import RuleViolation
from workflow.iin import mask_iin, parse_iin

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

    def row(self, election_id: int) -> dict[str, Any]:
        return {
            "election_id": election_id,
            "precinct_id": self.precinct_id,
            "iin": self.iin,
            "surname": self.surname,
            "given_name": self.given_name,
            "patronymic": self.patronymic,
            "birth_date": self.birth_date,
            "address": self.address,
            "search_key": voter_search_key(self.surname, self.given_name, self.patronymic),
        }


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


class _VoterChecker:
    """Checks every row, including duplicates in the file and, unless the list was empty when
    the import began, entries already on the list (an add refuses them, amend updates them)."""

    def __init__(
        self,
        session: Session,
        election: Election,
        commission_ids: frozenset[int] | None,
        mode: str,
    ) -> None:
        self.session = session
        self.election = election
        self.commission_ids = commission_ids
        self.mode = mode
        # Probing for existing entries is the import's costliest query; on an empty list there
        # is nothing to find (this very import's rows are caught as duplicates in the file).
        self.probe = (
            session.scalar(
                select(VoterEntry.id).where(VoterEntry.election_id == election.id).limit(1)
            )
            is not None
        )

    def __call__(self, session: Session, stream: IO[str]) -> Iterator[Checked]:
        ref = Reference(session, self.election.id, self.commission_ids)
        # The IIN as an integer: exact, and about a third of the size of the string.
        seen: set[int] = set()
        rows = read_rows(stream, VOTER_COLUMNS, OPTIONAL_VOTER_COLUMNS)
        for chunk in chunks(rows, BATCH_SIZE):
            checked: list[Checked] = []
            for item in chunk:
                if not item.is_row or item.record is None:
                    checked.append(item)
                    continue
                result = _check_voter(item.line, item.record, ref, self.election.code)
                checked.append(_mark_duplicate(result, seen))
            yield from self._mark_existing(checked) if self.probe else checked

    def _mark_existing(self, chunk: list[Checked]) -> list[Checked]:
        """One query per batch for IINs already on the election's list."""
        iins = [item.record.iin for item in chunk if isinstance(item.record, _Voter)]
        if not iins:
            return chunk
        if self.session.get_bind().dialect.name == "postgresql":
            # One array parameter: psycopg prepares repeated statements, and PostgreSQL's
            # generic plan for "IN ($1 .. $2000)" scans the election's rows comparing each
            # with every value; "= ANY($1)" probes the unique index.
            matches = VoterEntry.iin == any_(bindparam("iins", iins, type_=ARRAY(String)))
        else:
            matches = VoterEntry.iin.in_(iins)
        existing = {
            str(iin): (int(entry_id), int(precinct_id))
            for iin, entry_id, precinct_id in self.session.execute(
                select(VoterEntry.iin, VoterEntry.id, VoterEntry.precinct_id).where(
                    VoterEntry.election_id == self.election.id, matches
                )
            )
        }
        if not existing:
            return chunk
        marked = []
        for item in chunk:
            voter = item.record
            if isinstance(voter, _Voter) and voter.iin in existing:
                entry_id, _precinct = existing[voter.iin]
                if self.mode == "add":
                    reason = f"IIN {mask_iin(voter.iin)} is already on this election's list"
                    item = Checked(item.line, None, (RowError(item.line, "iin", reason),))
                else:
                    item = Checked(item.line, _with_existing(voter, entry_id), iin_key=voter.iin)
            marked.append(item)
        return marked


def _with_existing(voter: _Voter, entry_id: int) -> _Voter:
    return _Voter(
        line=voter.line,
        precinct_id=voter.precinct_id,
        iin=voter.iin,
        surname=voter.surname,
        given_name=voter.given_name,
        patronymic=voter.patronymic,
        birth_date=voter.birth_date,
        address=voter.address,
        existing_id=entry_id,
    )


def _mark_duplicate(item: Checked, seen: set[int]) -> Checked:
    if item.iin_key is None:
        return item
    compact = int(item.iin_key)
    if compact not in seen:
        seen.add(compact)
        return item
    error = RowError(item.line, "iin", f"IIN {mask_iin(item.iin_key)} appears earlier in the file")
    return Checked(item.line, None, (*item.errors, error))


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
    """
    election = session.get_one(Election, election_id)
    summary = ImportSummary("voters", file_name(source), skip_errors, mode=mode)
    checker = _VoterChecker(
        session, election, commission_ids, "amend" if mode == "replace" else mode
    )

    def write_batch(batch: list[_Voter]) -> None:
        new = [voter.row(election.id) for voter in batch if voter.existing_id is None]
        changed = []
        for voter in batch:
            if voter.existing_id is not None:
                values = voter.row(election.id)
                changed.append(
                    {"row_id": voter.existing_id, **{name: values[name] for name in _EDITABLE}}
                )
        if new:
            # render_nulls: rows with and without a patronymic share one executemany statement.
            session.execute(insert(VoterEntry).execution_options(render_nulls=True), new)
        if changed:
            update_rows(session, VoterEntry, _EDITABLE, changed)
        summary.imported += len(new)
        summary.updated += len(changed)

    def clear_list() -> None:
        removed = session.execute(
            delete(VoterEntry)
            .where(_unreferenced(election.id, commission_ids))
            .execution_options(synchronize_session=False)
        )
        # Reported as cleared: an entry the file brings back is imported again.
        summary.removed = int(removed.rowcount)  # type: ignore[attr-defined]
        # What is left is what applications refer to: this import updates it, never re-adds it.
        checker.probe = True

    run_import(
        session,
        source,
        summary,
        checker,
        write_batch,
        progress,
        before_writing=clear_list if mode == "replace" else None,
    )
    audit_import(session, summary, actor, now, election.id)
    return summary


__all__ = ["OPTIONAL_VOTER_COLUMNS", "VOTER_COLUMNS", "import_voters"]
