"""Key and salt files: created once with mode 0600, shared by concurrent workers, never loose."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from seal import (
    CertificatePayload,
    ForgedSeal,
    SealKeyError,
    export_public_key,
    generate_keypair,
    load_or_create_iin_salt,
    load_or_create_keypair,
    load_private_key,
    public_key_pem,
    sign_payload,
    verify_qr_text,
)

PAYLOAD = CertificatePayload("ref2022", 1, 1, bytes(8), 1_653_458_400)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_pair_signs_and_verifies() -> None:
    pair = generate_keypair()
    assert pair.private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert pair.public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert public_key_pem(pair.private_pem) == pair.public_pem
    assert verify_qr_text(pair.public_pem, sign_payload(pair.private_pem, PAYLOAD)) == PAYLOAD


def test_two_generated_pairs_differ() -> None:
    assert generate_keypair().private_pem != generate_keypair().private_pem


def test_key_file_is_created_once_with_owner_only_mode(tmp_path: Path) -> None:
    first = load_or_create_keypair(tmp_path, "ref2022")
    key_file = tmp_path / "seal-ref2022.key.pem"
    assert key_file.read_bytes() == first.private_pem
    assert mode(key_file) == 0o600
    assert load_or_create_keypair(tmp_path, "ref2022") == first
    assert export_public_key(tmp_path, "ref2022") == first.public_pem
    # Only the private key is stored: no temporary files left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seal-ref2022.key.pem"]


def test_each_election_has_its_own_key(tmp_path: Path) -> None:
    ours = load_or_create_keypair(tmp_path, "ref2022")
    theirs = load_or_create_keypair(tmp_path, "pres2026")
    assert ours != theirs
    with pytest.raises(ForgedSeal):
        verify_qr_text(theirs.public_pem, sign_payload(ours.private_pem, PAYLOAD))


def test_missing_folder_is_created(tmp_path: Path) -> None:
    folder = tmp_path / "instance" / "keys"
    load_or_create_keypair(folder, "ref2022")
    assert (folder / "seal-ref2022.key.pem").exists()


def test_concurrent_workers_end_up_with_one_key(tmp_path: Path) -> None:
    workers = 8
    barrier = threading.Barrier(workers)
    results: list[bytes] = []
    lock = threading.Lock()

    def start_worker() -> None:
        barrier.wait()
        pair = load_or_create_keypair(tmp_path, "ref2022")
        with lock:
            results.append(pair.private_pem)

    threads = [threading.Thread(target=start_worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == workers
    assert len(set(results)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["seal-ref2022.key.pem"]


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_or_create_keypair(tmp_path, "ref2022")
    (tmp_path / "seal-ref2022.key.pem").chmod(0o644)
    with pytest.raises(SealKeyError, match="chmod 600"):
        load_or_create_keypair(tmp_path, "ref2022")


def test_export_without_a_key_fails(tmp_path: Path) -> None:
    with pytest.raises(SealKeyError):
        export_public_key(tmp_path, "ref2022")


def test_a_key_of_another_kind_is_refused(tmp_path: Path) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(SealKeyError, match="Ed25519"):
        load_private_key(pem)


@pytest.mark.parametrize("code", ["../ref2022", "ref/2022", "", "ref 2022", "a" * 41])
def test_election_code_cannot_escape_the_folder(tmp_path: Path, code: str) -> None:
    with pytest.raises(ValueError, match="election code"):
        load_or_create_keypair(tmp_path, code)


def test_salt_is_random_stable_and_private(tmp_path: Path) -> None:
    salt = load_or_create_iin_salt(tmp_path, "ref2022")
    assert len(salt) == 32
    assert load_or_create_iin_salt(tmp_path, "ref2022") == salt
    assert load_or_create_iin_salt(tmp_path, "pres2026") != salt
    assert mode(tmp_path / "seal-ref2022.salt") == 0o600


def test_damaged_salt_is_refused(tmp_path: Path) -> None:
    load_or_create_iin_salt(tmp_path, "ref2022")
    (tmp_path / "seal-ref2022.salt").write_bytes(b"short")
    with pytest.raises(SealKeyError, match="damaged"):
        load_or_create_iin_salt(tmp_path, "ref2022")
