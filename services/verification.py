"""Public verification of a certificate: number + printed code -> valid, used or void.

Anyone may ask (a voter, a commission, an observer), so the answer carries no personal data,
and a wrong code looks exactly like an unknown number: the endpoint cannot be used to learn
which numbers exist.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Certificate, Election
from workflow.errors import RefusalCode, RuleViolation
from workflow.numbers import parse_certificate_number
from workflow.rules import check_certificate_authentic
from workflow.states import PUBLIC_STATUS, PublicStatus


def verify_certificate(
    session: Session, election: Election, number_text: str, verification_code: str
) -> tuple[int, PublicStatus]:
    """The serial and its status; RuleViolation `mistyped_number` or `not_found` otherwise."""
    serial = parse_certificate_number(number_text)
    certificate = session.scalar(
        select(Certificate).where(
            Certificate.election_id == election.id, Certificate.serial == serial
        )
    )
    unknown = RuleViolation(RefusalCode.NOT_FOUND, "No certificate has this number and code.")
    if certificate is None:
        raise unknown
    try:
        check_certificate_authentic(certificate.verification_code, verification_code)
    except RuleViolation:
        raise unknown from None
    return serial, PUBLIC_STATUS[certificate.state]
