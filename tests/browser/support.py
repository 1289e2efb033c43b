"""Helpers for the browser tests: Debian's chromium, a live server, signing in, screenshots.

Nothing here downloads a browser: the tests drive the `chromium` package of the system through
Playwright's sync API (no pytest-playwright plugin).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Page, ViewportSize, expect
from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1024, "height": 768}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]
OpenPage = Callable[[], Page]
SignedIn = Callable[[str], Page]

# 12:00 in Almaty on 25 May 2022 (the root conftest's clock): the issue window is open.
IN_WINDOW = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
# 17:50 and 18:00 in Almaty (UTC+6 in 2022) on 4 June 2022, the last day of the window.
BEFORE_DEADLINE = datetime(2022, 6, 4, 11, 50, tzinfo=UTC)
AT_DEADLINE = datetime(2022, 6, 4, 12, 0, tzinfo=UTC)
# 09:00 in Oral (UTC+5 in 2022) on voting day.
VOTING_MORNING = datetime(2022, 6, 5, 4, 0, tzinfo=UTC)


def screenshots_wanted() -> bool:
    """Only on request (KUELIK_SCREENSHOTS=1), so a CI run never rewrites the committed images."""
    return os.environ.get("KUELIK_SCREENSHOTS") == "1"


def shoot(page: Page, name: str) -> None:
    """Save the viewport as docs/screenshots/<name>.png when screenshots are wanted."""
    if not screenshots_wanted():
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", animations="disabled", caret="hide")


def active_element(page: Page) -> str:
    """The focused element, as `tag#id` or `tag:text` (for buttons without an id)."""
    described: str = page.evaluate(
        """() => {
            const element = document.activeElement;
            if (!element) return "";
            const tag = element.tagName.toLowerCase();
            return element.id ? `${tag}#${element.id}` : `${tag}:${element.textContent.trim()}`;
        }"""
    )
    return described


def wait_for_focus(page: Page, css: str) -> None:
    """Autofocus lands after the first rendering: wait for it, then read document.activeElement."""
    page.wait_for_function("css => document.activeElement?.matches(css)", arg=css, timeout=5000)


def sign_in(page: Page, username: str, password: str) -> None:
    """Keyboard only: the username field has the focus on load; type, Tab, type, Enter."""
    page.goto("/login")
    wait_for_focus(page, "#username")
    assert active_element(page) == "input#username"
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert active_element(page) == "input#password"
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


class InFlight:
    """WSGI middleware counting requests the app is still answering, so teardown can wait.

    The browser fetches on its own (a favicon, say): the database must not be disposed under
    a request that is still being answered. Flask ends the request (session removed, connection
    back in the pool) before it returns the body, and no page here streams from the database,
    so the call itself is what is counted. (Counting until the body's close() would not do:
    werkzeug's server skips close() when the client has already dropped the connection.)
    """

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app
        self._running = 0
        self._changed = threading.Condition()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self._changed:
            self._running += 1
        try:
            return self._app(environ, start_response)
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._running == 0, timeout)


def serve(app: WSGIApplication) -> Iterator[str]:
    """Serve the app over real HTTP on a free port in a thread; yield its base URL."""
    tracked = InFlight(app)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, tracked, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},  # shutdown() waits up to this long
        name="kuelik-live-server",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        assert tracked.wait_idle(timeout=10), "a request was still running at teardown"
