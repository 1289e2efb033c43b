"""Static files: gzip-compressed once per process, cached for a year under a versioned URL.

Polling stations may sit behind slow or metered links and no CDN: every page links its
stylesheets as `/static/kuelik.css?v=<content hash>`, so a browser keeps them for a year and a
new release, whose files hash differently, is fetched afresh. A request without the current
hash (an old page, a hand-typed address) gets the file with `no-cache` and an ETag instead.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, request
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

YEAR = 365 * 24 * 3600
# Worth compressing; images and fonts of ours are compressed formats already.
COMPRESSIBLE = frozenset(
    {
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "image/svg+xml",
        "text/plain",
        "text/html",
    }
)
# Below this, gzip's header costs more than it saves.
MIN_COMPRESS = 512


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    mimetype: str
    version: str
    mtime_ns: int


class AssetCache:
    """Files read, hashed and compressed on first use, again only when they change on disk."""

    def __init__(self) -> None:
        self._assets: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def get(self, folder: str, filename: str) -> Asset | None:
        path = safe_join(folder, filename)
        if path is None:
            return None
        try:
            mtime_ns = os.stat(path).st_mtime_ns
        except OSError:
            return None
        cached = self._assets.get(path)
        if cached is not None and cached.mtime_ns == mtime_ns:
            return cached
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as handle:
            body = handle.read()
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        gzipped = (
            gzip.compress(body, compresslevel=9, mtime=0)
            if mimetype in COMPRESSIBLE and len(body) >= MIN_COMPRESS
            else None
        )
        asset = Asset(
            body=body,
            gzipped=gzipped if gzipped is not None and len(gzipped) < len(body) else None,
            mimetype=mimetype,
            version=hashlib.sha256(body).hexdigest()[:16],
            mtime_ns=mtime_ns,
        )
        with self._lock:
            self._assets[path] = asset
        return asset


def static_endpoints(app: Flask) -> dict[str, str]:
    """Each static endpoint (the app's, each blueprint's) and the folder it serves."""
    folders: dict[str, str] = {}
    if app.static_folder:
        folders["static"] = app.static_folder
    for name, blueprint in app.blueprints.items():
        if blueprint.static_folder:
            folders[f"{name}.static"] = blueprint.static_folder
    return folders


def serve_asset(cache: AssetCache, folder: str) -> Callable[..., Response]:
    def view(filename: str) -> Response:
        asset = cache.get(folder, filename)
        if asset is None:
            abort(404)
        compressed = asset.gzipped is not None and request.accept_encodings["gzip"] > 0
        body = asset.gzipped if compressed and asset.gzipped is not None else asset.body
        response = Response(body, mimetype=asset.mimetype)
        # Each encoding is its own representation, with its own tag.
        response.set_etag(asset.version + ("-gzip" if compressed else ""))
        if asset.gzipped is not None:
            response.vary.add("Accept-Encoding")
        if compressed:
            response.content_encoding = "gzip"
        response.cache_control.public = True
        if request.args.get("v") == asset.version:
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
        else:
            response.cache_control.no_cache = True
        return response.make_conditional(request)

    return view


def register_assets(app: Flask) -> None:
    """Serve every static folder through the cache, and version the URLs that name them."""
    cache = AssetCache()
    folders = static_endpoints(app)
    for endpoint, folder in folders.items():
        view = serve_asset(cache, folder)
        view.__name__ = f"asset_{endpoint.replace('.', '_')}"
        app.view_functions[endpoint] = view

    def version(endpoint: str, values: dict[str, Any]) -> None:
        folder = folders.get(endpoint)
        filename = values.get("filename")
        if folder is None or not isinstance(filename, str) or "v" in values:
            return
        asset = cache.get(folder, filename)
        if asset is not None:
            values["v"] = asset.version

    app.url_defaults(version)
    app.extensions["kuelik_static_endpoints"] = frozenset(folders)
