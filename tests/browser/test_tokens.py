"""API tokens in a real browser: create one, see it once, use it, revoke it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import SignedIn, shoot


def test_a_clerk_creates_a_token_uses_it_and_revokes_it(signed_in: SignedIn) -> None:
    page = signed_in("clerk_almaly")
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")

    page.get_by_label("Name (what will use it)").fill("nightly register export")
    page.get_by_role("button", name="Create a token").click()
    secret = page.locator("#new-token").inner_text().strip()
    assert re.fullmatch(r"kuelik_[A-Za-z0-9_-]{40,}", secret)
    expect(page.get_by_text("Copy the token now: it is shown only this once.")).to_be_visible()
    shoot(page, "api-token")

    me = page.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status == 200
    assert me.json()["username"] == "clerk_almaly"

    # Reloading may send the form again: its one-time key turns that into the list, with no
    # second token and the secret not shown again.
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)
    row = page.get_by_role("row", name=re.compile("nightly register export"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("The token is revoked")
    expect(page.get_by_role("row", name=re.compile("nightly register export"))).to_contain_text(
        "revoked"
    )
    again = page.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert again.status == 401
    assert again.headers["content-type"] == "application/problem+json"
