"""Kuelik: absentee vote certificates for precinct election commissions."""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate

from models import db
from services.clock import Clock, ShiftedClock

migrate = Migrate()


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Layers, later wins: defaults, instance/config.py, environment, then the test's own."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'kuelik.sqlite'}",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        KUELIK_PRODUCTION=False,
        KUELIK_CLOCK_START=None,
    )
    app.config.from_pyfile("config.py", silent=True)
    if database_url := os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(database_url)
    if os.environ.get("KUELIK_PRODUCTION") == "1":
        app.config["KUELIK_PRODUCTION"] = True
    if clock_start := os.environ.get("KUELIK_CLOCK_START"):
        app.config["KUELIK_CLOCK_START"] = clock_start
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
    _register_blueprints(app)
    _register_commands(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from views.public import bp as public_bp

    app.register_blueprint(public_bp)


def _register_commands(app: Flask) -> None:
    from cli import register_commands

    register_commands(app)
