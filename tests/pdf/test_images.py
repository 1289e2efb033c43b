"""Each document renders to an image (pdftoppm), and the README's certificate image exists."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_every_document_renders_to_a_png(rendered_images: dict[str, Path]) -> None:
    assert set(rendered_images) == {
        "certificate",
        "certificate-proxy-reprint",
        "register",
        "supplementary-list",
        "refusal-notice",
        "reconciliation-act",
    }
    for path in rendered_images.values():
        with Image.open(path) as image:
            assert image.format == "PNG"
            width, height = image.size
            assert min(width, height) > 500
            # Not a blank page: a good share of pixels carry ink.
            dark = sum(image.convert("L").histogram()[:128])
            assert dark > width * height // 200, path.name


def test_readme_certificate_image_is_committed() -> None:
    # Regenerate with: .venv/bin/python -m tests.pdf.demo docs/images
    with Image.open(REPO_ROOT / "docs" / "images" / "certificate.png") as image:
        assert image.format == "PNG"
        assert image.size[1] > image.size[0]  # A4 portrait
