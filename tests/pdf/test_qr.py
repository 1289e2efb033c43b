"""The printed QR code: scanned from a rendered page, it verifies with the public key alone."""

from __future__ import annotations

import dataclasses
import io
import random
from datetime import UTC
from pathlib import Path

import pytest
import segno
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageFilter

from pdf import render_certificate
from pdf._layout import QR_MASK
from seal import CertificatePayload, ForgedSeal, MalformedSeal, sign_payload, verify_qr_text
from tests.pdf.conftest import require_pdftoppm
from tests.pdf.demo import DEMO_KEY, DEMO_SALT, IIN, ISSUED_AT, demo_certificate, pdf_to_png

PUBLIC_KEY = DEMO_KEY.public_key()


def scan(image: Image.Image) -> list[str]:
    """Every QR code zxing-cpp finds in the image, as text."""
    return [result.text for result in zxingcpp.read_barcodes(image, formats=zxingcpp.QRCode)]


def scan_page(pdf: bytes, tmp_path: Path, dpi: int) -> Image.Image:
    require_pdftoppm()
    return Image.open(pdf_to_png(pdf, tmp_path / f"page-{dpi}.png", dpi=dpi)).convert("L")


def test_qr_scanned_from_a_200_dpi_page_verifies_with_the_public_key(tmp_path: Path) -> None:
    doc = demo_certificate(serial=424242, proxy=True, repeat_print=True)
    [text] = scan(scan_page(render_certificate(doc), tmp_path, 200))
    assert text == doc.qr_text
    payload = verify_qr_text(PUBLIC_KEY, text)
    assert payload.serial == 424242
    assert payload.election_code == "ref2022"
    assert payload.issued_at_utc == ISSUED_AT.astimezone(UTC)
    assert payload.matches_iin(DEMO_SALT, IIN)


def test_qr_survives_a_coarse_blurred_scan(tmp_path: Path) -> None:
    # A cheap laser print read by a cheap scanner: 100 dpi, toner spread simulated by blur.
    doc = demo_certificate()
    page = scan_page(render_certificate(doc), tmp_path, 100)
    assert scan(page.filter(ImageFilter.GaussianBlur(1.2))) == [doc.qr_text]


def test_tampered_scan_fails_verification(tmp_path: Path) -> None:
    doc = demo_certificate()
    [text] = scan(scan_page(render_certificate(doc), tmp_path, 200))
    index = len(text) // 2
    tampered = text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]
    with pytest.raises((ForgedSeal, MalformedSeal)):
        verify_qr_text(PUBLIC_KEY, tampered)


def test_certificate_sealed_with_another_key_is_forged(tmp_path: Path) -> None:
    payload = verify_qr_text(PUBLIC_KEY, demo_certificate().qr_text)
    stranger = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    doc = dataclasses.replace(demo_certificate(), qr_text=sign_payload(stranger, payload))
    [text] = scan(scan_page(render_certificate(doc), tmp_path, 200))
    with pytest.raises(ForgedSeal):
        verify_qr_text(PUBLIC_KEY, text)


def test_fixed_mask_decodes_for_many_random_payloads() -> None:
    # The renderer skips segno's mask scoring (pdf._layout.QR_MASK); show that costs nothing to
    # readability at two pixels a module, coarser than any print.
    rng = random.Random(20220605)
    for _ in range(150):
        payload = CertificatePayload(
            election_code=rng.choice(["ref2022", "PRES2026", "mazhilis-2023"]),
            serial=rng.randrange(1, 10**8),
            precinct_id=rng.randrange(1, 20_000),
            iin_digest=rng.randbytes(8),
            issued_at=rng.randrange(1_650_000_000, 1_800_000_000),
        )
        text = sign_payload(DEMO_KEY, payload)
        buffer = io.BytesIO()
        segno.make(text, error="m", mask=QR_MASK).save(buffer, kind="png", scale=2, border=4)
        buffer.seek(0)
        assert scan(Image.open(buffer).convert("L")) == [text]
