"""The election's signing key and IIN salt: files in a folder the app owns, never in the database.

A database dump or replica must not be enough to forge certificates or to reverse IIN digests, so
both secrets live as files with mode 0600 in the instance folder. Creation is race-free: several
workers may start at once, and exactly one file wins (`os.link` refuses to replace a name).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from seal.errors import SealKeyError
from seal.payload import ELECTION_CODE_PATTERN, load_private_key

SALT_SIZE = 32
_SECRET_MODE = 0o600


class KeyPair(NamedTuple):
    """PEM bytes: PKCS#8 private key and SubjectPublicKeyInfo public key."""

    private_pem: bytes
    public_pem: bytes


def _public_pem(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_keypair() -> KeyPair:
    """A fresh Ed25519 key pair as PEM (the private key unencrypted: its file mode guards it)."""
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return KeyPair(private_pem, _public_pem(private_key))


def public_key_pem(private_pem: bytes) -> bytes:
    """The public half of a PEM private key, for the receiving precincts."""
    return _public_pem(load_private_key(private_pem))


def _secret_path(folder: Path, election_code: str, suffix: str) -> Path:
    if not ELECTION_CODE_PATTERN.fullmatch(election_code):
        raise ValueError("election code: 1-40 of A-Z a-z 0-9 _ -")
    return folder / f"seal-{election_code}{suffix}"


def _read_secret(path: Path) -> bytes:
    try:
        info = path.stat()
        data = path.read_bytes()
    except OSError as error:
        raise SealKeyError(f"cannot read {path.name}: {error.strerror}") from error
    # Refuse a secret others can read, as ssh does: a copied key with loose modes is a leak.
    if os.name == "posix" and stat.S_IMODE(info.st_mode) & 0o077:
        raise SealKeyError(f"{path.name} is readable by group or others; chmod 600 it")
    return data


def _load_or_create_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    if path.exists():
        return _read_secret(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _SECRET_MODE)
    try:
        os.fchmod(descriptor, _SECRET_MODE)  # the umask may have taken bits off, never added
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(make())
            handle.flush()
            os.fsync(handle.fileno())
        # Another worker may have created it first: then use theirs, so every worker signs alike.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read_secret(path)


def load_or_create_keypair(folder: Path, election_code: str) -> KeyPair:
    """The election's key pair from `folder`, creating the private key file (0600) on first use."""
    path = _secret_path(folder, election_code, ".key.pem")
    private_pem = _load_or_create_secret(path, lambda: generate_keypair().private_pem)
    return KeyPair(private_pem, public_key_pem(private_pem))


def export_public_key(folder: Path, election_code: str) -> bytes:
    """The public key PEM of an existing election key, to hand to receiving precincts."""
    path = _secret_path(folder, election_code, ".key.pem")
    if not path.exists():
        raise SealKeyError(f"no seal key for election {election_code}")
    return public_key_pem(_read_secret(path))


def load_or_create_iin_salt(folder: Path, election_code: str) -> bytes:
    """The election's IIN salt (32 random bytes) from `folder`, created (0600) on first use."""
    path = _secret_path(folder, election_code, ".salt")
    salt = _load_or_create_secret(path, lambda: secrets.token_bytes(SALT_SIZE))
    if len(salt) != SALT_SIZE:
        raise SealKeyError(f"{path.name} is damaged: expected {SALT_SIZE} bytes")
    return salt
