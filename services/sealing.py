"""The election's seal: keys and IIN salt from the instance folder, sealing and reading QR text."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Certificate, Election
from seal import (
    SCHEME,
    CertificatePayload,
    ForgedSeal,
    MalformedSeal,
    claimed_election_code,
    iin_digest,
    load_or_create_iin_salt,
    load_or_create_keypair,
    load_private_key,
    load_public_key,
    sign_payload,
    verify_qr_text,
)
from workflow.errors import RefusalCode, RuleViolation


@dataclass(frozen=True, slots=True)
class ElectionSeal:
    """One election's signing key, its public half and the salt of IIN digests."""

    election_code: str
    private_key: Ed25519PrivateKey
    public_key: Ed25519PublicKey
    salt: bytes


_seals: dict[tuple[str, str], ElectionSeal] = {}
_seals_lock = threading.Lock()


def election_seal(folder: Path, election_code: str) -> ElectionSeal:
    """Load (or create on first use) and cache the seal: parsing keys is the slow part."""
    key = (str(folder), election_code)
    with _seals_lock:
        seal = _seals.get(key)
        if seal is None:
            pair = load_or_create_keypair(folder, election_code)
            seal = ElectionSeal(
                election_code,
                load_private_key(pair.private_pem),
                load_public_key(pair.public_pem),
                load_or_create_iin_salt(folder, election_code),
            )
            _seals[key] = seal
        return seal


def seal_certificate(seal: ElectionSeal, certificate: Certificate, voter_iin: str) -> str:
    """The QR text printed on a certificate."""
    return sign_payload(
        seal.private_key,
        CertificatePayload(
            election_code=seal.election_code,
            serial=certificate.serial,
            precinct_id=certificate.precinct_id,
            iin_digest=iin_digest(seal.salt, voter_iin),
            issued_at=int(certificate.issued_at.timestamp()),
        ),
    )


@dataclass(frozen=True, slots=True)
class Presented:
    """What staff entered: a verified seal, or a number with (maybe) its verification code."""

    number_text: str
    verification_code: str | None = None
    payload: CertificatePayload | None = None


def looks_like_seal(text: str) -> bool:
    """A scanner's text starts with the scheme tag (in any case, any keyboard layout)."""
    head = text.strip()[: len(SCHEME)].upper()
    return head == SCHEME or (len(head) == len(SCHEME) and head.endswith((":", "Ж", "ж")))


SealOf = Callable[[str], "ElectionSeal | None"]


def read_presented(text: str, seal: ElectionSeal, seal_of: SealOf | None = None) -> Presented:
    """Parse the check-in input; a seal must verify under this election's key (else `forged`).

    A seal that claims another election is verified under that election's key (`seal_of` finds
    it, or None for an election that does not exist): genuine, it is refused as
    `wrong_election`; otherwise as forged.
    """
    stripped = text.strip()
    if looks_like_seal(stripped):
        claimed = claimed_election_code(stripped)
        if claimed is not None and claimed != seal.election_code:
            _refuse_other_election(stripped, claimed, seal_of)
        try:
            payload = verify_qr_text(seal.public_key, stripped)
        except ForgedSeal:
            raise RuleViolation(
                RefusalCode.FORGED, "The QR code's signature does not match this election."
            ) from None
        except MalformedSeal:
            raise RuleViolation(
                RefusalCode.NOT_FOUND, "The scanned code is not a certificate's QR code."
            ) from None
        if payload.election_code != seal.election_code:
            raise RuleViolation(RefusalCode.FORGED, "The QR code is for another election.")
        return Presented(number_text=str(payload.serial), payload=payload)
    number, _sep, code = stripped.partition(" ")
    if not code:
        # "00012345-9/ACDEFHJK" as some clerks type it.
        number, _sep, code = stripped.partition("/")
    return Presented(number_text=number.strip(), verification_code=code.strip() or None)


def _refuse_other_election(text: str, claimed: str, seal_of: SealOf | None) -> NoReturn:
    other = None if seal_of is None else seal_of(claimed)
    if other is not None:
        try:
            verify_qr_text(other.public_key, text)
        except (ForgedSeal, MalformedSeal):
            pass
        else:
            raise RuleViolation(
                RefusalCode.WRONG_ELECTION,
                "This certificate is for another election.",
                {"election_code": claimed},
            )
    raise RuleViolation(RefusalCode.FORGED, "The QR code's signature does not match this election.")


def seals_in(session: Session, folder: Path) -> SealOf:
    """Look up the seal of another election by its code, only if that election exists (a key is
    never created for a code someone typed)."""

    def seal_of(code: str) -> ElectionSeal | None:
        if session.scalar(select(Election.id).where(Election.code == code)) is None:
            return None
        return election_seal(folder, code)

    return seal_of


def payload_matches(
    seal: ElectionSeal, payload: CertificatePayload, certificate: Certificate
) -> bool:
    """A genuine signature over data that disagrees with the record is still a forgery."""
    return (
        payload.precinct_id == certificate.precinct_id
        and payload.issued_at == int(certificate.issued_at.timestamp())
        and payload.matches_iin(seal.salt, certificate.voter.iin)
    )
