"""What public verification may say about each certificate state."""

from __future__ import annotations

from workflow.states import PUBLIC_STATUS, CertificateState


def test_every_certificate_state_has_a_public_status() -> None:
    assert set(PUBLIC_STATUS) == set(CertificateState)


def test_only_an_issued_certificate_still_gives_a_vote() -> None:
    """Taken in (elsewhere or at home) is used; lost, spoilt or handed back is void (§6)."""
    valid = {state for state, status in PUBLIC_STATUS.items() if status == "valid"}
    assert valid == {CertificateState.ISSUED}
    for state in (CertificateState.USED, CertificateState.RETURNED):
        assert PUBLIC_STATUS[state] == "used", state
    for state in (CertificateState.LOST, CertificateState.SPOILT, CertificateState.CANCELLED):
        assert PUBLIC_STATUS[state] == "void", state
