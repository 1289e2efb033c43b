"""Static files: gzip when the browser takes it, cached for a year under a versioned URL."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from flask import Flask

from tests.views.conftest import SignIn

YEAR = 365 * 24 * 3600
LINK = re.compile(r'href="(/[^"]+\.css)\?v=([0-9a-f]{16})"')


def _linked(app: Flask, sign_in: SignIn) -> dict[str, str]:
    """The stylesheets the check-in screen links: path -> version."""
    page = sign_in("checkin_oral").get("/checkin/").get_data(as_text=True)
    return dict(LINK.findall(page))


def _file(app: Flask, path: str) -> bytes:
    if path.startswith("/static/"):
        folder = app.static_folder
        name = path.removeprefix("/static/")
    else:
        folder = app.blueprints["bootstrap"].static_folder
        name = path.removeprefix("/bootstrap/static/")
    assert folder is not None
    return (Path(folder) / name).read_bytes()


def test_pages_link_stylesheets_by_content_version(app: Flask, sign_in: SignIn) -> None:
    linked = _linked(app, sign_in)
    assert set(linked) == {"/static/kuelik.css", "/bootstrap/static/css/bootstrap.min.css"}
    client = app.test_client()
    for path in linked:
        # The version names the content: the same file always gets the same one.
        assert client.get(path).headers["ETag"].strip('"') == linked[path]


def test_versioned_stylesheet_is_gzipped_and_cached_for_a_year(app: Flask, sign_in: SignIn) -> None:
    client = app.test_client()
    for path, version in _linked(app, sign_in).items():
        response = client.get(f"{path}?v={version}", headers={"Accept-Encoding": "gzip, br"})
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.data) == _file(app, path)
        assert len(response.data) < len(_file(app, path))
        cache = response.cache_control
        assert cache.public
        assert cache.max_age == YEAR
        assert cache.immutable
        assert "Accept-Encoding" in response.headers["Vary"]
        assert response.mimetype == "text/css"
        assert "Set-Cookie" not in response.headers


def test_without_gzip_the_file_comes_as_it_is(app: Flask, sign_in: SignIn) -> None:
    client = app.test_client()
    for path, version in _linked(app, sign_in).items():
        response = client.get(f"{path}?v={version}", headers={"Accept-Encoding": "identity"})
        assert "Content-Encoding" not in response.headers
        assert response.data == _file(app, path)


def test_unversioned_or_stale_url_is_revalidated_by_etag(app: Flask, sign_in: SignIn) -> None:
    client = app.test_client()
    path, version = next(iter(_linked(app, sign_in).items()))
    for url in (path, f"{path}?v=0000000000000000"):
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.cache_control.no_cache
        assert response.cache_control.max_age is None
        etag = response.headers["ETag"]
        again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert again.status_code == 304
        assert again.data == b""
    # The uncompressed representation has a tag of its own.
    plain = client.get(path, headers={"If-None-Match": f'"{version}-gzip"'})
    assert plain.status_code == 200
    assert plain.headers["ETag"] == f'"{version}"'


def test_missing_and_outside_files_are_not_found(app: Flask) -> None:
    client = app.test_client()
    for url in ("/static/nothing.css", "/static/../app.py", "/static/%2e%2e/app.py"):
        assert client.get(url).status_code == 404, url
