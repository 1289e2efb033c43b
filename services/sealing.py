"""The election's seal: keys and IIN salt from the instance folder, sealing and reading QR text."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from models import Certificate
from seal import (
    SCHEME,
    CertificatePayload,
    ForgedSeal,
    MalformedSeal,
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


def read_presented(text: str, seal: ElectionSeal) -> Presented:
    """Parse the check-in input; a seal must verify under this election's key (else `forged`)."""
    stripped = text.strip()
    if looks_like_seal(stripped):
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


def payload_matches(
    seal: ElectionSeal, payload: CertificatePayload, certificate: Certificate
) -> bool:
    """A genuine signature over data that disagrees with the record is still a forgery."""
    return (
        payload.precinct_id == certificate.precinct_id
        and payload.issued_at == int(certificate.issued_at.timestamp())
        and payload.matches_iin(seal.salt, certificate.voter.iin)
    )
