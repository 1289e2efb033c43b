"""The certificate's seal: an Ed25519-signed, compact QR payload, checkable offline.

Pure: the standard library and `cryptography` only. One key pair per election; the private key and
the IIN salt are files in the app's instance folder, never rows in the database.
"""

from seal.errors import ForgedSeal, MalformedSeal, SealError, SealKeyError
from seal.keys import (
    KeyPair,
    export_public_key,
    generate_keypair,
    load_or_create_iin_salt,
    load_or_create_keypair,
    public_key_pem,
)
from seal.payload import (
    ELECTION_CODE_PATTERN,
    SCHEME,
    CertificatePayload,
    claimed_election_code,
    iin_digest,
    load_private_key,
    load_public_key,
    sign_payload,
    verify_qr_text,
)

__all__ = [
    "ELECTION_CODE_PATTERN",
    "SCHEME",
    "CertificatePayload",
    "ForgedSeal",
    "KeyPair",
    "MalformedSeal",
    "SealError",
    "SealKeyError",
    "claimed_election_code",
    "export_public_key",
    "generate_keypair",
    "iin_digest",
    "load_or_create_iin_salt",
    "load_or_create_keypair",
    "load_private_key",
    "load_public_key",
    "public_key_pem",
    "sign_payload",
    "verify_qr_text",
]
