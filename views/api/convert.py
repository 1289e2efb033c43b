"""Rows to response models, and the lookups every resource shares."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute

from models import (
    Certificate,
    CertificateCase,
    Election,
    Inclusion,
    Locality,
    Placement,
    Precinct,
    StockRange,
    VoterEntry,
    db,
)
from services.audit import Actor
from services.elections import election_for
from services.errors import NotFound
from services.scope import scoped
from views.api.core import api_now
from views.api.schemas import (
    CaseOut,
    CertificateOut,
    InclusionOut,
    LocalityOut,
    Page,
    PlacementOut,
    PrecinctOut,
    PrecinctRef,
    RegisterRow,
    RepresentativeOut,
    StockOut,
    VoterOut,
)
from workflow.iin import mask_iin
from workflow.states import LIVE_CASE_STATES, ApplicantKind


def election_or_current(actor: Actor, election_id: int | None) -> Election:
    """The named election if the caller sees it, else the caller's current one (the one whose
    window or voting day is current); NotFound when there is none."""
    return election_for(db.session, actor, election_id, api_now())


def placement_out(placement: Placement) -> PlacementOut:
    return PlacementOut(
        election_id=placement.election_id,
        precinct_id=placement.precinct_id,
        territorial_commission_id=placement.territorial_commission_id,
    )


def locality_out(locality: Locality) -> LocalityOut:
    return LocalityOut(
        id=locality.id,
        kato=locality.kato,
        region_id=locality.region_id,
        name_kk=locality.name_kk,
        name_ru=locality.name_ru,
        kind=locality.kind,
    )


def precinct_out(precinct: Precinct) -> PrecinctOut:
    return PrecinctOut(
        id=precinct.id,
        number=precinct.number,
        region_id=precinct.region_id,
        region_kato=precinct.region.kato,
        locality=locality_out(precinct.locality),
        district_id=precinct.district_id,
        territorial_commission_id=precinct.territorial_commission_id,
        address_kk=precinct.address_kk,
        address_ru=precinct.address_ru,
        time_zone=precinct.time_zone,
    )


def precinct_ref(precinct: Precinct) -> PrecinctRef:
    return PrecinctRef(
        id=precinct.id,
        number=precinct.number,
        region_kato=precinct.region.kato,
        address_ru=precinct.address_ru,
        address_kk=precinct.address_kk,
    )


def live_cases(voter_ids: list[int]) -> dict[int, int]:
    """The live case of each voter that has one, in one query."""
    if not voter_ids:
        return {}
    rows = db.session.execute(
        select(CertificateCase.voter_id, CertificateCase.id).where(
            CertificateCase.voter_id.in_(voter_ids), CertificateCase._state.in_(LIVE_CASE_STATES)
        )
    )
    return {int(voter_id): int(case_id) for voter_id, case_id in rows}


def voter_out(voter: VoterEntry, live_case: int | None) -> VoterOut:
    return VoterOut(
        id=voter.id,
        election_id=voter.election_id,
        precinct_id=voter.precinct_id,
        iin_masked=mask_iin(voter.iin),
        surname=voter.surname,
        given_name=voter.given_name,
        patronymic=voter.patronymic,
        birth_date=voter.birth_date,
        address=voter.address,
        marked_with=voter.mark_number,
        live_case_id=live_case,
    )


def certificate_out(certificate: Certificate) -> CertificateOut:
    return CertificateOut(
        id=certificate.id,
        number=certificate.number,
        serial=certificate.serial,
        state=certificate.state,
        case_id=certificate.case_id,
        precinct_id=certificate.precinct_id,
        election_id=certificate.election_id,
        handed_to=certificate.handed_to,
        issued_at=certificate.issued_at,
        closed_at=certificate.closed_at,
    )


def case_out(case: CertificateCase, warnings: tuple[str, ...] | list[str] = ()) -> CaseOut:
    representative = None
    if case.applicant_kind is ApplicantKind.REPRESENTATIVE:
        representative = RepresentativeOut(
            iin_masked=mask_iin(case.representative_iin or ""),
            full_name=case.representative_name or "",
            power_of_attorney_number=case.power_of_attorney_number,
            power_of_attorney_date=case.power_of_attorney_date,
        )
    live = case.live_certificate
    return CaseOut(
        id=case.id,
        election_id=case.election_id,
        precinct_id=case.precinct_id,
        state=case.state,
        voter_id=case.voter_id,
        voter_iin_masked=mask_iin(case.voter_iin),
        voter_name=None if case.voter is None else case.voter.full_name,
        applicant_kind=case.applicant_kind,
        representative=representative,
        stay_locality_id=case.stay_locality_id,
        refusal_code=case.refusal_code,
        refusal_note=case.refusal_note,
        created_at=case.created_at,
        updated_at=case.updated_at,
        certificate=None if live is None else certificate_out(live),
        warnings=list(warnings),
    )


def register_row(certificate: Certificate) -> RegisterRow:
    base = certificate_out(certificate)
    received_by = None
    if certificate.handed_to is ApplicantKind.REPRESENTATIVE:
        received_by = certificate.case.representative_name
    return RegisterRow(
        **base.model_dump(),
        voter_name=certificate.voter.full_name,
        voter_iin_masked=mask_iin(certificate.voter.iin),
        received_by=received_by,
    )


def inclusion_out(inclusion: Inclusion) -> InclusionOut:
    certificate = inclusion.certificate
    return InclusionOut(
        id=inclusion.id,
        line_number=inclusion.line_number,
        precinct_id=inclusion.precinct_id,
        certificate_number=certificate.number,
        issuing_precinct_id=certificate.precinct_id,
        voter_name=certificate.voter.full_name,
        voter_iin_masked=mask_iin(certificate.voter.iin),
        included_at=inclusion.included_at,
    )


def stock_out(stock: StockRange) -> StockOut:
    return StockOut(
        id=stock.id,
        election_id=stock.election_id,
        precinct_id=stock.precinct_id,
        first_serial=stock.first_serial,
        last_serial=stock.last_serial,
        next_serial=stock.next_serial,
        unused=stock.unused,
        received_at=stock.received_at,
    )


def next_after(ids: list[int], limit: int) -> int | None:
    """The cursor for the next page: the last id when the page is full."""
    return ids[-1] if len(ids) == limit and ids else None


class _Identified(Protocol):
    id: int


Row = TypeVar("Row", bound=_Identified)


def page_of(
    statement: Select[tuple[Row]], id_column: InstrumentedAttribute[int], query: Page
) -> tuple[list[Row], int | None]:
    """One page of rows by ascending id after `query.after`, and the cursor of the next page."""
    if query.after is not None:
        statement = statement.where(id_column > query.after)
    rows = list(db.session.scalars(statement.order_by(id_column).limit(query.limit)))
    return rows, next_after([row.id for row in rows], query.limit)


def readable_precinct(actor: Actor, precinct_id: int) -> Precinct:
    """A precinct whose personal data the actor may read, or NotFound."""
    precinct = db.session.scalar(
        scoped(select(Precinct), Precinct.id, actor).where(Precinct.id == precinct_id)
    )
    if precinct is None:
        raise NotFound("precinct")
    return precinct
