"""Kuelik: absentee vote certificates for precinct election commissions."""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import Babel
from flask_migrate import Migrate
from werkzeug.routing import IntegerConverter, Map

from extensions import bootstrap, csrf, login_manager
from models import db
from services.audit import configure_iin_digest
from services.clock import Clock, ShiftedClock

migrate = Migrate()


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    return os.environ.get("SECRET_KEY") or _secret_file(instance_path / "secret_key")


def _secret_file(path: Path) -> str:
    """A random secret created once (mode 600) and read back ever after.

    Workers starting together must agree: each writes a private temporary file and links it
    into place; whoever links first wins, and everyone reads the winner's secret.
    """
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_text().strip()


def _instance_secret(app: Flask, setting: str, file_name: str) -> str:
    """A long-lived secret: config or environment, else a file in the instance folder."""
    value = app.config.get(setting) or os.environ.get(setting)
    return str(value) if value else _secret_file(Path(app.instance_path) / file_name)


def _configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Layers, later wins: defaults, instance/config.py, environment, then the test's own."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'kuelik.sqlite'}",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        KUELIK_PRODUCTION=False,
        KUELIK_CLOCK_START=None,
        # Polling stations may be offline: Bootstrap is served from our own files, never a CDN.
        BOOTSTRAP_SERVE_LOCAL=True,
        BABEL_DEFAULT_LOCALE="kk",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=0,
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    app.config.from_pyfile("config.py", silent=True)
    if database_url := os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(database_url)
    if os.environ.get("KUELIK_PRODUCTION") == "1":
        app.config["KUELIK_PRODUCTION"] = True
    if clock_start := os.environ.get("KUELIK_CLOCK_START"):
        app.config["KUELIK_CLOCK_START"] = clock_start
    if app.config["KUELIK_PRODUCTION"]:
        app.config["SESSION_COOKIE_SECURE"] = True
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)


def _normalise_database_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _make_clock(app: Flask) -> Clock:
    """The system clock; a shifted one only for demonstrations, never in production."""
    start = app.config.get("KUELIK_CLOCK_START")
    if isinstance(start, Clock):
        return start
    if not start:
        return Clock()
    if app.config["KUELIK_PRODUCTION"]:
        raise RuntimeError("KUELIK_CLOCK_START is for demonstrations and tests, not production")
    return ShiftedClock(datetime.fromisoformat(start))


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The application factory."""
    app = Flask(__name__, instance_path=os.environ.get("KUELIK_INSTANCE_PATH") or None)
    _configure(app, test_config)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    app.extensions["kuelik_clock"] = _make_clock(app)
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    from views.i18n import select_locale, select_timezone

    # One Babel per app: its translation cache must not leak between apps in one process.
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    configure_iin_digest(_instance_secret(app, "KUELIK_AUDIT_KEY", "audit_key"))
    _register_blueprints(app)
    _register_commands(app)
    return app


class BoundedInt(IntegerConverter):
    """Ids in URLs fit the database's integers: larger numbers are simply not found (404)."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _register_blueprints(app: Flask) -> None:
    from views import register_views

    app.url_map.converters["int"] = BoundedInt
    register_views(app)
    from views.assets import register_assets

    register_assets(app)


def _register_commands(app: Flask) -> None:
    from cli import register_commands

    register_commands(app)
