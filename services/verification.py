"""Public verification of a certificate: number + printed code -> valid, used or void.

Anyone may ask (a voter, a commission, an observer), so the answer carries no personal data,
and a wrong code looks exactly like an unknown number: the endpoint cannot be used to learn
which numbers exist. The number's series names its election; numbers without one are the 2022
referendum's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Certificate, Election
from workflow.errors import RefusalCode, RuleViolation
from workflow.numbers import parse_certificate_number
from workflow.rules import check_certificate_authentic
from workflow.states import PUBLIC_STATUS, PublicStatus


@dataclass(frozen=True, slots=True)
class Verified:
    number: str
    status: PublicStatus
    election: Election


def verify_certificate(
    session: Session, number_text: str, verification_code: str, election_code: str | None = None
) -> Verified:
    """The certificate's status; RuleViolation `mistyped_number` or `not_found` otherwise.

    `election_code`, when given, must be the election the number's series names.
    """
    number = parse_certificate_number(number_text)
    unknown = RuleViolation(RefusalCode.NOT_FOUND, "No certificate has this number and code.")
    elections = select(Election).where(
        Election.number_series.is_(None)
        if number.series is None
        else Election.number_series == number.series
    )
    if election_code is not None:
        elections = elections.where(Election.code == election_code)
    for election in session.scalars(elections.order_by(Election.id)):
        certificate = session.scalar(
            select(Certificate).where(
                Certificate.election_id == election.id, Certificate.serial == number.serial
            )
        )
        if certificate is None:
            continue
        try:
            check_certificate_authentic(certificate.verification_code, verification_code)
        except RuleViolation:
            continue
        return Verified(certificate.number, PUBLIC_STATUS[certificate.state], election)
    raise unknown
