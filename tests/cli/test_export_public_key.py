"""The public half of the seal can be handed out, and it verifies what the server signs."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from seal import CertificatePayload, iin_digest, sign_payload, verify_qr_text
from services.sealing import election_seal
from tests.factories import make_world


def test_exported_key_verifies_the_servers_seal(app: Flask, session: Session) -> None:
    world = make_world(session)
    session.commit()
    result = app.test_cli_runner().invoke(args=["export-public-key", world.election.code])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("-----BEGIN PUBLIC KEY-----")
    seal = election_seal(Path(app.instance_path), world.election.code)
    payload = CertificatePayload(
        world.election.code, 7, world.oral_precinct.id, iin_digest(seal.salt, "900101300017"), 1
    )
    text = sign_payload(seal.private_key, payload)
    assert verify_qr_text(result.output.encode(), text) == payload


def test_unknown_election_is_a_clear_error(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["export-public-key", "nope"])
    assert result.exit_code != 0
    assert "No election with the code 'nope'" in result.output
