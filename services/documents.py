"""Documents from records: the certificate (with its seal), refusal notice, registers, act.

Every print is an audit event; a certificate printed again keeps its number and is marked as a
repeat print, so a second form can never be passed off as a new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
    Certificate,
    CertificateCase,
    Election,
    Inclusion,
    Precinct,
    StockRange,
    User,
)
from pdf import (
    CertificateDocument,
    ReconciliationHeader,
    RefusalNotice,
    RegisterHeader,
    RegisterRow,
    Representative,
    StockRangeRow,
    SupplementaryListHeader,
    SupplementaryRow,
    render_certificate,
    render_reconciliation_act,
    render_refusal_notice,
    render_register,
    render_supplementary_list,
)
from services.audit import Actor, record_event
from services.sealing import ElectionSeal, seal_certificate
from workflow.calendar import Moment, zone
from workflow.states import CertificateState

PRINT_EVENT = "print"


def _commission(precinct: Precinct) -> tuple[str, str]:
    return (
        f"№ {precinct.number} учаскелік сайлау комиссиясы",
        f"Участковая избирательная комиссия № {precinct.number}",
    )


def print_certificate(
    session: Session,
    actor: Actor,
    case: CertificateCase,
    certificate: Certificate,
    seal: ElectionSeal,
    now: datetime,
) -> bytes:
    """The certificate and counterfoil; a repeat print says so, and every print is audited."""
    election = session.get_one(Election, case.election_id)
    precinct = case.precinct
    earlier = session.scalar(
        select(func.count()).where(
            AuditEvent.certificate_id == certificate.id, AuditEvent.event == PRINT_EVENT
        )
    )
    voter = certificate.voter
    issued_by = session.get(User, certificate.issued_by_id) if certificate.issued_by_id else None
    commission_kk, commission_ru = _commission(precinct)
    representative = None
    if certificate.handed_to.value == "representative" and case.power_of_attorney_date:
        representative = Representative(
            full_name=case.representative_name or "",
            iin=case.representative_iin or "",
            power_of_attorney_number=case.power_of_attorney_number or "",
            power_of_attorney_date=case.power_of_attorney_date,
        )
    document = CertificateDocument(
        election_name_kk=election.name_kk,
        election_name_ru=election.name_ru,
        voting_day=election.voting_day,
        number=certificate.number,
        verification_code=certificate.verification_code,
        surname=voter.surname,
        given_name=voter.given_name,
        patronymic=voter.patronymic or "",
        iin=voter.iin,
        identity_document=case.applicant_document if case.applicant_kind.value == "voter" else "",
        home_precinct_number=precinct.number,
        home_address=precinct.address_ru,
        home_locality_kk=precinct.locality.name_kk,
        home_locality_ru=precinct.locality.name_ru,
        issuing_commission_kk=commission_kk,
        issuing_commission_ru=commission_ru,
        issued_at=certificate.issued_at.astimezone(zone(precinct.time_zone)),
        time_zone=precinct.time_zone,
        issued_by=issued_by.full_name if issued_by else "",
        qr_text=seal_certificate(seal, certificate, voter.iin),
        representative=representative,
        repeat_print=bool(earlier),
    )
    pdf_bytes = render_certificate(document)
    record_event(
        session,
        actor=actor,
        moment=Moment(now, precinct.time_zone),
        event=PRINT_EVENT,
        outcome="accepted",
        precinct_id=precinct.id,
        election_id=election.id,
        case=case,
        certificate_id=certificate.id,
        payload={"serial": certificate.serial, "repeat": bool(earlier)},
    )
    return pdf_bytes


def print_refusal(
    session: Session, actor: Actor, case: CertificateCase, reasons: tuple[str, str], now: datetime
) -> bytes:
    """The refusal notice handed to the citizen, with the ground in Kazakh and Russian."""
    election = session.get_one(Election, case.election_id)
    precinct = case.precinct
    commission_kk, commission_ru = _commission(precinct)
    territorial = precinct.territorial_commission
    notice = RefusalNotice(
        election_name_kk=election.name_kk,
        election_name_ru=election.name_ru,
        precinct_number=precinct.number,
        commission_kk=commission_kk,
        commission_ru=commission_ru,
        applicant_name=case.voter.full_name if case.voter else "",
        applicant_iin=case.voter_iin,
        refused_at=case.updated_at.astimezone(zone(precinct.time_zone)),
        time_zone=precinct.time_zone,
        refusal_code=case.refusal_code or "",
        reason_kk=reasons[0],
        reason_ru=reasons[1],
        territorial_commission_kk=territorial.name_kk,
        territorial_commission_ru=territorial.name_ru,
        member_name="",
        note=case.refusal_note if case.refusal_code == "other" else None,
    )
    record_event(
        session,
        actor=actor,
        moment=Moment(now, precinct.time_zone),
        event=PRINT_EVENT,
        outcome="accepted",
        precinct_id=precinct.id,
        election_id=election.id,
        case=case,
        payload={"document": "refusal_notice"},
    )
    return render_refusal_notice(notice)


def _list_header(election: Election, precinct: Precinct) -> dict[str, Any]:
    """What the register and the supplementary list both print above their rows."""
    commission_kk, commission_ru = _commission(precinct)
    return {
        "election_name_kk": election.name_kk,
        "election_name_ru": election.name_ru,
        "precinct_number": precinct.number,
        "commission_kk": commission_kk,
        "commission_ru": commission_ru,
        "locality_kk": precinct.locality.name_kk,
        "locality_ru": precinct.locality.name_ru,
        "time_zone": precinct.time_zone,
    }


def print_register(session: Session, election: Election, precinct: Precinct) -> bytes:
    """The register of issued certificates of one precinct, rows streamed from the database."""
    tz = zone(precinct.time_zone)
    statement = (
        select(Certificate)
        .where(Certificate.election_id == election.id, Certificate.precinct_id == precinct.id)
        .order_by(Certificate.serial)
    )

    def rows() -> Iterator[RegisterRow]:
        for certificate in session.scalars(statement):
            yield RegisterRow(
                number=certificate.number,
                full_name=certificate.voter.full_name,
                iin=certificate.voter.iin,
                issued_at=certificate.issued_at.astimezone(tz),
                handed_to=certificate.handed_to,
                representative_name=certificate.case.representative_name,
                state=certificate.state,
            )

    return render_register(RegisterHeader(**_list_header(election, precinct)), rows())


def print_supplementary_list(session: Session, election: Election, precinct: Precinct) -> bytes:
    """The receiving precinct's supplementary list, by line number."""
    tz = zone(precinct.time_zone)
    statement = (
        select(Inclusion)
        .where(Inclusion.election_id == election.id, Inclusion.precinct_id == precinct.id)
        .order_by(Inclusion.line_number)
    )

    def rows() -> Iterator[SupplementaryRow]:
        for inclusion in session.scalars(statement):
            certificate = inclusion.certificate
            yield SupplementaryRow(
                line_number=inclusion.line_number,
                full_name=certificate.voter.full_name,
                certificate_number=certificate.number,
                issuing_precinct=f"№ {certificate.precinct.number}, "
                f"{certificate.precinct.locality.name_ru}",
                included_at=inclusion.included_at.astimezone(tz),
            )

    header = SupplementaryListHeader(
        **_list_header(election, precinct), voting_day=election.voting_day
    )
    return render_supplementary_list(header, rows())


def print_reconciliation(
    session: Session, election: Election, precincts: list[Precinct], now: datetime
) -> bytes:
    """The stock reconciliation act: per range, received = issued + spoilt + unused."""
    rows: list[StockRangeRow] = []
    for stock in session.scalars(
        select(StockRange)
        .where(
            StockRange.election_id == election.id,
            StockRange.precinct_id.in_([precinct.id for precinct in precincts]),
        )
        .order_by(StockRange.first_serial)
    ):
        counts = dict(
            session.execute(
                select(Certificate._state, func.count())
                .where(
                    Certificate.election_id == election.id,
                    Certificate.serial.between(stock.first_serial, stock.last_serial),
                )
                .group_by(Certificate._state)
            ).all()
        )
        spoilt = int(counts.pop(CertificateState.SPOILT, 0))
        rows.append(
            StockRangeRow(
                holder=f"№ {stock.precinct.number}",
                first=stock.first_serial,
                last=stock.last_serial,
                received=stock.size,
                issued=int(sum(counts.values())),
                spoilt=spoilt,
                unused=stock.unused,
            )
        )
    header = ReconciliationHeader(
        election_name_kk=election.name_kk,
        election_name_ru=election.name_ru,
        scope_kk=", ".join(f"№ {p.number}" for p in precincts[:20]),
        scope_ru=", ".join(f"№ {p.number}" for p in precincts[:20]),
        as_of=now.astimezone(zone("Asia/Almaty")),
        time_zone="Asia/Almaty",
    )
    return render_reconciliation_act(header, rows)
