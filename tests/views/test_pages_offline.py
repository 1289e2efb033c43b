"""Polling stations may be offline: no page may reach outside the server, and pages stay light."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.views.conftest import SignIn

PAGES = {
    "clerk_almaly": ["/desk/", "/desk/voters?q=test", "/desk/register", "/account/tokens"],
    "checkin_oral": ["/checkin/"],
    "admin": ["/admin/users", "/admin/precincts", "/admin/election", "/admin/figures", "/"],
}
REFERENCE = re.compile(r"""(?:src|href|action)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")


def _external(reference: str) -> bool:
    return reference.startswith(("http:", "https:", "//", "ftp:")) or "://" in reference


@pytest.mark.parametrize("user", list(PAGES))
def test_pages_and_their_assets_stay_on_the_server(app: Flask, sign_in: SignIn, user: str) -> None:
    client = sign_in(user)
    for page in PAGES[user]:
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.get_data(as_text=True)
        references = REFERENCE.findall(html)
        assert references, "the check must see the page's links"
        external = [ref for ref in references if _external(ref)]
        assert not external, f"{page} reaches outside: {external}"
        # Assets cached, a page is its HTML: it must stay light on a bad network.
        assert len(response.data) < 150_000, f"{page} is {len(response.data)} bytes"
        # Asset URLs carry their version (`?v=...`): judge the path.
        assets = [ref for ref in references if ref.split("?", 1)[0].endswith((".css", ".js"))]
        assert assets, f"{page} links no stylesheet: the check must see its assets"
        for asset in assets:
            body = client.get(asset)
            assert body.status_code == 200, asset
            text = body.get_data(as_text=True)
            body.close()  # static files are streamed from disk: close them
            css_refs = CSS_URL.findall(text)
            assert not [ref for ref in css_refs if _external(ref)], f"{asset} reaches outside"
