"""The certificate's signed QR payload: what it says, how it is packed, signed and checked.

Text: ``KU1:`` then, in base 36, the bytes ``digest(8) serial(4) precinct(4) issued_at(4) code``
followed by the Ed25519 signature (64) over ``KU1:`` + those bytes. Fixed-width fields come first
so the election code needs no length byte; the tag is signed too, so a future ``KU2`` payload can
never be passed off as a ``KU1`` one. A 7-character election code gives 146 characters, QR
version 6 at level M; codes of up to 12 characters stay within version 6.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from seal import codec
from seal.errors import ForgedSeal, MalformedSeal, SealKeyError

SCHEME = "KU1:"
IIN_DIGEST_SIZE = 8
SIGNATURE_SIZE = 64
MAX_ELECTION_CODE = 40  # the width of election.code in the database
MIN_SALT_SIZE = 16
_FIXED = struct.Struct(">8sIII")
_UINT32 = range(2**32)
# Election codes also name key files, so they are kept to characters safe in a file name.
ELECTION_CODE_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_ELECTION_CODE}}}")
_IIN_PATTERN = re.compile(r"[0-9]{12}")


@dataclass(frozen=True, slots=True)
class CertificatePayload:
    """What the QR code vouches for. The IIN is present only as a salted digest."""

    election_code: str
    serial: int
    precinct_id: int
    iin_digest: bytes
    issued_at: int  # UTC, seconds since the epoch

    def __post_init__(self) -> None:
        if not ELECTION_CODE_PATTERN.fullmatch(self.election_code):
            raise ValueError("election code: 1-40 of A-Z a-z 0-9 _ -")
        if not 1 <= self.serial < 2**32:
            raise ValueError("serial out of range")
        if not 1 <= self.precinct_id < 2**32:
            raise ValueError("precinct id out of range")
        if len(self.iin_digest) != IIN_DIGEST_SIZE:
            raise ValueError(f"IIN digest must be {IIN_DIGEST_SIZE} bytes")
        if self.issued_at not in _UINT32:
            raise ValueError("issue time must be 1970-2106 in epoch seconds")

    @property
    def issued_at_utc(self) -> datetime:
        """The issue time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.issued_at, tz=UTC)

    def matches_iin(self, salt: bytes, iin: str) -> bool:
        """True when the IIN typed at the desk is the one the certificate was issued for."""
        return hmac.compare_digest(self.iin_digest, iin_digest(salt, iin))


def iin_digest(salt: bytes, iin: str) -> bytes:
    """Keyed digest of an IIN, truncated to 8 bytes: matchable with the salt, opaque without it.

    HMAC-SHA-256 keyed with the per-election salt. There are only about 10^9 plausible IINs, so a
    digest under a known salt is reversed by brute force in minutes: the salt must stay as secret
    as the signing key, which is why it is random, per election and stored beside the key.
    """
    if len(salt) < MIN_SALT_SIZE:
        raise ValueError(f"salt must be at least {MIN_SALT_SIZE} bytes")
    if not _IIN_PATTERN.fullmatch(iin):
        raise ValueError("an IIN is 12 ASCII digits")
    return hmac.digest(salt, iin.encode("ascii"), hashlib.sha256)[:IIN_DIGEST_SIZE]


def load_private_key(key: Ed25519PrivateKey | bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (load it once: parsing costs more than signing)."""
    if isinstance(key, Ed25519PrivateKey):
        return key
    try:
        loaded = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as error:
        raise SealKeyError("not an unencrypted PEM private key") from error
    if not isinstance(loaded, Ed25519PrivateKey):
        raise SealKeyError("the seal key must be Ed25519")
    return loaded


def load_public_key(key: Ed25519PublicKey | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM bytes."""
    if isinstance(key, Ed25519PublicKey):
        return key
    try:
        loaded = serialization.load_pem_public_key(key)
    except (ValueError, TypeError) as error:
        raise SealKeyError("not a PEM public key") from error
    if not isinstance(loaded, Ed25519PublicKey):
        raise SealKeyError("the seal key must be Ed25519")
    return loaded


def _message(payload: CertificatePayload) -> bytes:
    fixed = _FIXED.pack(payload.iin_digest, payload.serial, payload.precinct_id, payload.issued_at)
    return fixed + payload.election_code.encode("ascii")


def sign_payload(private_key: Ed25519PrivateKey | bytes, payload: CertificatePayload) -> str:
    """The QR text: scheme tag, then payload and signature in base 36 (uppercase, no spaces)."""
    message = _message(payload)
    signature = load_private_key(private_key).sign(SCHEME.encode("ascii") + message)
    return SCHEME + codec.encode(message + signature)


def claimed_election_code(text: str) -> str | None:
    """The election a QR text says it belongs to, before any signature is checked.

    Only to pick the key to verify with (a certificate of another election is then refused as
    such, not as a forgery): nothing it says is trusted until `verify_qr_text` passes. None when
    the text cannot be a seal.
    """
    repaired = codec.repair_typed_text(text)
    if not repaired.startswith(SCHEME):
        return None
    try:
        blob = codec.decode(repaired[len(SCHEME) :])
    except MalformedSeal:
        return None
    if len(blob) <= _FIXED.size + SIGNATURE_SIZE:
        return None
    try:
        code = blob[_FIXED.size : -SIGNATURE_SIZE].decode("ascii")
    except UnicodeDecodeError:
        return None
    return code if ELECTION_CODE_PATTERN.fullmatch(code) else None


def verify_qr_text(public_key: Ed25519PublicKey | bytes, text: str) -> CertificatePayload:
    """The payload of a scanned or typed QR text whose signature holds under `public_key`.

    Raises MalformedSeal when the text cannot be a seal (wrong tag, alphabet, length) and
    ForgedSeal when it is well formed but not signed by this key. Case, surrounding whitespace and
    a Russian or Kazakh keyboard layout on the scanning computer are forgiven (see `codec`).
    """
    verifier = load_public_key(public_key)
    repaired = codec.repair_typed_text(text)
    if not repaired.startswith(SCHEME):
        raise MalformedSeal("not a Kuelik seal of a known version")
    blob = codec.decode(repaired[len(SCHEME) :])
    if len(blob) <= _FIXED.size + SIGNATURE_SIZE:
        raise MalformedSeal("seal too short")
    message, signature = blob[:-SIGNATURE_SIZE], blob[-SIGNATURE_SIZE:]
    try:
        verifier.verify(signature, SCHEME.encode("ascii") + message)
    except InvalidSignature:
        raise ForgedSeal("the signature does not match this election's key") from None
    digest, serial, precinct_id, issued_at = _FIXED.unpack_from(message)
    try:
        return CertificatePayload(
            election_code=message[_FIXED.size :].decode("ascii"),
            serial=serial,
            precinct_id=precinct_id,
            iin_digest=digest,
            issued_at=issued_at,
        )
    except (UnicodeDecodeError, ValueError) as error:
        # Signed by our key yet invalid: only a bug in the signer could produce this.
        raise MalformedSeal("signed payload has out-of-range fields") from error
