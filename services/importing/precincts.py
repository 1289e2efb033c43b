"""The precinct import of one election: localities, city districts, commissions, precincts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from models import CityDistrict, Election, Locality, Precinct, TerritorialCommission
from services.audit import SYSTEM, Actor
from services.importing.reading import (
    ADDRESS_LENGTH,
    COMMISSION_LENGTH,
    NAME_LENGTH,
    Checked,
    ImportSummary,
    Progress,
    Reference,
    RowErrors,
    Source,
    audit_import,
    file_name,
    read_rows,
    region_of,
    run_import,
    update_rows,
)
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
LOCALITY_KINDS = frozenset({"city", "town", "village"})


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
    # The precinct this row changes (amend), when it exists already.
    existing_id: int | None = None


class _PrecinctChecker:
    """Checks precinct rows against the election's network and against earlier rows of the file.

    The first row that names a locality or district fixes its owner; the first one with valid
    names fixes the names a new one is created with. Both passes see the same rows in the same
    order, so they reach the same verdicts.
    """

    def __init__(self, session: Session, election_id: int, amend: bool) -> None:
        self.session = session
        self.election_id = election_id
        self.amend = amend
        self._start()

    def _start(self) -> None:
        """Each pass begins afresh, so that both reach the same verdicts on the same rows."""
        self.ref = Reference(self.session, self.election_id)
        self.localities: dict[str, _NewPlace] = {}
        self.districts: dict[str, _NewPlace] = {}
        self.commission_names: dict[tuple[int, str], str] = {}
        self.precincts: set[tuple[int, int]] = set()

    def check(self, line: int, values: dict[str, str]) -> Checked:
        errors = RowErrors(line)
        region = region_of(errors, values, self.ref)
        locality = self._locality(errors, values, region)
        district = self._district(errors, values, region, locality)
        number = errors.number(values, "number")
        existing_id = None
        if region is not None and number is not None:
            key = (region[1], number)
            if key in self.precincts:
                errors.add("number", f"precinct {number} appears earlier in the file")
            else:
                existing_id = self.ref.precinct_id(*key)
                if existing_id is not None and not self.amend:
                    errors.add("number", f"precinct {number} already exists in region {region[0]}")
            self.precincts.add(key)
        address_kk = errors.text(values, "address_kk", ADDRESS_LENGTH)
        address_ru = errors.text(values, "address_ru", ADDRESS_LENGTH)
        commission_ru = errors.text(values, "territorial_commission_ru", COMMISSION_LENGTH)
        commission_kk = errors.text(values, "territorial_commission_kk", COMMISSION_LENGTH)
        if errors.items or region is None or locality is None or number is None:
            return Checked(line, None, tuple(errors.items))
        commission_kk = self.commission_names.setdefault((region[1], commission_ru), commission_kk)
        return Checked(
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
                existing_id=existing_id,
            ),
        )

    def _locality(
        self, errors: RowErrors, values: dict[str, str], region: tuple[str, int] | None
    ) -> _NewPlace | None:
        before = len(errors.items)
        name_kk = errors.text(values, "locality_name_kk", NAME_LENGTH)
        name_ru = errors.text(values, "locality_name_ru", NAME_LENGTH)
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
            owner = self.session.scalar(
                select(Locality.region_id).where(
                    Locality.election_id == self.election_id, Locality.kato == kato
                )
            )
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
        errors: RowErrors,
        values: dict[str, str],
        region: tuple[str, int] | None,
        locality: _NewPlace | None,
    ) -> _NewPlace | None:
        columns = ("district_kato", "district_name_kk", "district_name_ru")
        if not any(values[column] for column in columns):
            return None
        before = len(errors.items)
        name_kk = errors.text(values, "district_name_kk", NAME_LENGTH, required=False)
        name_ru = errors.text(values, "district_name_ru", NAME_LENGTH, required=False)
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
                .where(CityDistrict.election_id == self.election_id, CityDistrict.kato == kato)
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

    def __call__(self, session: Session, stream: IO[str]) -> Iterator[Checked]:
        self._start()
        for item in read_rows(stream, PRECINCT_COLUMNS):
            if not item.is_row or item.record is None:
                yield item
            else:
                yield self.check(item.line, item.record)


class _PrecinctWriter:
    """Finds or creates the localities, districts and commissions precincts hang from."""

    def __init__(self, session: Session, election_id: int, created: dict[str, int]) -> None:
        self.session = session
        self.election_id = election_id
        self.created = created
        self.localities: dict[str, int] = {}
        self.districts: dict[str, int] = {}
        self.commissions: dict[tuple[int, str], int] = {}

    def precinct(self, row: _PrecinctRow) -> dict[str, Any]:
        locality_id = self._locality(row.region_id, row.locality)
        return {
            "election_id": self.election_id,
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
            found = self.session.scalar(
                select(Locality.id).where(
                    Locality.election_id == self.election_id, Locality.kato == place.kato
                )
            )
            if found is None:
                locality = Locality(
                    election_id=self.election_id,
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
                select(CityDistrict.id).where(
                    CityDistrict.election_id == self.election_id, CityDistrict.kato == place.kato
                )
            )
            if found is None:
                district = CityDistrict(
                    election_id=self.election_id,
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
                    election_id=self.election_id,
                    region_id=row.region_id,
                    name_kk=row.commission_kk,
                    name_ru=row.commission_ru,
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
    election_id: int,
    now: datetime,
    mode: str = "add",
    skip_errors: bool = False,
    actor: Actor = SYSTEM,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a precinct file into one election's network (format in the package docstring);
    the caller commits, and checks first that the election is still being prepared.

    `add` refuses precincts that exist already; `amend` (and `replace`, which for precincts is
    the same: a precinct others refer to cannot simply go) changes their locality, district,
    commission and addresses.
    """
    election = session.get_one(Election, election_id)
    summary = ImportSummary("precincts", file_name(source), skip_errors, mode=mode)
    summary.created = {"localities": 0, "districts": 0, "commissions": 0}
    writer = _PrecinctWriter(session, election.id, summary.created)
    checker = _PrecinctChecker(session, election.id, amend=mode != "add")

    editable = (
        "locality_id",
        "district_id",
        "territorial_commission_id",
        "address_kk",
        "address_ru",
    )

    def write_batch(batch: list[_PrecinctRow]) -> None:
        new = [writer.precinct(row) for row in batch if row.existing_id is None]
        changed = []
        for row in batch:
            if row.existing_id is not None:
                values = writer.precinct(row)
                changed.append(
                    {"row_id": row.existing_id, **{name: values[name] for name in editable}}
                )
        if new:
            session.execute(insert(Precinct), new)
        if changed:
            update_rows(session, Precinct, editable, changed)
        summary.imported += len(new)
        summary.updated += len(changed)

    run_import(session, source, summary, checker, write_batch, progress)
    audit_import(session, summary, actor, now, election.id)
    return summary
