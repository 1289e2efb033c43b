"""Browser fixtures: Debian's chromium through Playwright's sync API, against a live server.

One browser per session; per test a fresh SQLite copy of the migrated template, the app built as
in tests/views (no app context held open), the world of tests/views with its users' password, a
werkzeug server on a free port in a thread, and fresh browser contexts (one per signed-in user).
The browser tests run on SQLite only: the database layer is covered on both backends elsewhere.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy.orm import Session

from app import create_app
from models import db
from services.clock import FixedClock
from services.passwords import hash_password
from tests.browser.support import (
    CHROMIUM_ARGS,
    VIEWPORT,
    OpenPage,
    SignedIn,
    serve,
    sign_in,
)
from tests.factories import World, make_voter, make_world
from tests.views.conftest import PASSWORD

IN_CI = os.environ.get("CI", "").lower() == "true"
INSTALL_HINT = "install it with `apt-get install chromium` (`make test` does so as root)"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium; never a downloaded build (`playwright install` is not used)."""
    path = shutil.which("chromium")
    if path is None:
        if IN_CI:
            pytest.fail(f"CI=true but chromium is missing: {INSTALL_HINT}")
        pytest.skip(f"browser tests: chromium is missing; {INSTALL_HINT}")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        except PlaywrightError as error:
            if IN_CI:
                pytest.fail(f"CI=true but chromium does not start: {error}")
            pytest.skip(f"browser tests: chromium does not start: {error}")
        yield launched
        launched.close()


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only (overrides the root fixture, which also runs PostgreSQL)."""
    copy = tmp_path / "browser.sqlite"
    shutil.copyfile(sqlite_template, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def app(database_url: str, clock: FixedClock) -> Iterator[Flask]:
    """As in tests/views: no app context held open, so each request has its own `g`."""
    application = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "KUELIK_CLOCK_START": clock,
        }
    )
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session for arranging and checking data. Its reads BEGIN DEFERRED, so they never hold
    SQLite's write lock; end every read with rollback() so the server's commits are seen.
    """
    with app.app_context():
        engine = db.engine.execution_options(kuelik_deferred_begin=True)
    with Session(engine) as plain:
        yield plain


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def world(session: Session, password_hash: str) -> World:
    """The world of tests/views: Сәрсенбаев at Almaty 101, Петров at Oral 301."""
    built = make_world(session)
    for user in built.users.values():
        user.password_hash = password_hash
    make_voter(session, built, built.almaty_almaly, surname="Сәрсенбаев", given_name="Ерлан")
    make_voter(session, built, built.oral_precinct, surname="Петров", given_name="Иван")
    session.commit()
    return built


@pytest.fixture
def live_server(app: Flask, world: World) -> Iterator[str]:
    """The app over real HTTP on 127.0.0.1 (a free port), served from a thread."""
    yield from serve(app)


def _watch(page: Page, problems: list[str]) -> None:
    """Record what a user would not see but should never happen: script errors, CSP
    violations, a stylesheet or any other sub-resource that fails to load."""

    def on_console(message: ConsoleMessage) -> None:
        # A failed load is reported through on_response, with the URL (a 404 page is expected).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console error on {page.url}: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            problems.append(
                f"{response.status} for {response.request.resource_type} {response.url}"
            )

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error on {page.url}: {error}"))
    page.on("response", on_response)


@pytest.fixture
def open_page(browser: Browser, live_server: str) -> Iterator[OpenPage]:
    """Open a page in a fresh context (its own cookies): one per person at the desk.

    English through Accept-Language, as an English browser would ask; 1024x768.
    """
    contexts: list[BrowserContext] = []
    problems: list[str] = []

    def open_() -> Page:
        context = browser.new_context(base_url=live_server, viewport=VIEWPORT, locale="en-US")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        _watch(page, problems)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def signed_in(open_page: OpenPage) -> SignedIn:
    """A page of a fresh context, signed in as the user through the sign-in form."""

    def do(username: str) -> Page:
        page = open_page()
        sign_in(page, username, PASSWORD)
        return page

    return do
