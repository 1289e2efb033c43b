"""Migrations: one head, and upgrading an empty database yields exactly the models' schema."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import Connection, Engine, create_engine, inspect, make_url, text

from app import create_app
from models import Base, db
from models.base import include_on
from workflow.states import LIVE_CASE_STATES, LIVE_CERTIFICATE_STATES

# The partial unique indexes and the states their WHERE clause must name.
PARTIAL_INDEXES = {
    ("certificate_case", "uq_certificate_case_live_voter"): {str(s) for s in LIVE_CASE_STATES},
    ("certificate", "uq_certificate_live_voter"): {str(s) for s in LIVE_CERTIFICATE_STATES},
}
AUDIT_TRIGGERS = {
    "sqlite": {"audit_event_no_update", "audit_event_no_delete"},
    "postgresql": {"audit_event_no_update"},
}


def _script(app: Flask) -> ScriptDirectory:
    config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config)


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": include_on(connection.dialect.name),
        },
    )
    with warnings.catch_warnings():
        # SQLite cannot reflect an expression index; the name-prefix index is PostgreSQL's
        # only, and the comparison on PostgreSQL checks it.
        warnings.filterwarnings(
            "ignore", "autogenerate skipping metadata-specified expression-based index"
        )
        return list(compare_metadata(context, Base.metadata))


def _check_constraint_names(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {
        table: {str(c["name"]) for c in inspector.get_check_constraints(table)}
        for table in Base.metadata.tables
    }


def _model_check_constraint_names() -> dict[str, set[str]]:
    return {
        name: {
            str(constraint.name)
            for constraint in table.constraints
            if constraint.__class__.__name__ == "CheckConstraint"
        }
        for name, table in Base.metadata.tables.items()
    }


def _partial_index_states(engine: Engine) -> dict[tuple[str, str], set[str]]:
    """The quoted state names inside each partial index's WHERE clause, as the database has it."""
    inspector = inspect(engine)
    found: dict[tuple[str, str], set[str]] = {}
    for table, index_name in PARTIAL_INDEXES:
        for index in inspector.get_indexes(table):
            if index["name"] != index_name:
                continue
            assert index["unique"]
            options = index.get("dialect_options", {})
            where = options.get("postgresql_where", options.get("sqlite_where"))
            found[(table, index_name)] = set(re.findall(r"'(\w+)'", str(where)))
    return found


def _audit_triggers(connection: Connection) -> set[str]:
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid = 'audit_event'::regclass"
            )
        )
    else:
        rows = connection.execute(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
            )
        )
    return {str(name) for (name,) in rows}


def _assert_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        assert _schema_diff(connection) == []
        assert _audit_triggers(connection) == AUDIT_TRIGGERS[connection.dialect.name]
    assert _check_constraint_names(engine) == _model_check_constraint_names()
    assert _partial_index_states(engine) == PARTIAL_INDEXES


def test_migrations_have_a_single_head(app: Flask) -> None:
    script = _script(app)

    heads = script.get_heads()

    assert len(heads) == 1, heads
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert sum(1 for r in revisions if r.down_revision is None) == 1


def test_migrated_database_is_at_the_head(app: Flask) -> None:
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()

    assert set(current) == set(_script(app).get_heads())


def test_upgraded_empty_database_has_exactly_the_models_schema(app: Flask) -> None:
    _assert_models_schema(db.engine)


def test_schema_comparison_notices_a_missing_index(app: Flask) -> None:
    """Negative control: the comparison would report a schema that drifted from the models."""
    with db.engine.connect() as connection:
        connection.execute(text("DROP INDEX ix_certificate_state"))
        diff = _schema_diff(connection)
        connection.rollback()

    assert [entry[0] for entry in diff] == ["add_index"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_schema_comparison_notices_a_missing_name_prefix_index(app: Flask) -> None:
    """The expression index is compared too on PostgreSQL, not skipped."""
    with db.engine.connect() as connection:
        connection.execute(text("DROP INDEX ix_voter_entry_search_prefixes"))
        diff = _schema_diff(connection)
        connection.rollback()

    assert [(entry[0], entry[1].name) for entry in diff] == [
        ("add_index", "ix_voter_entry_search_prefixes")
    ]


@pytest.fixture
def throwaway_app(tmp_path: Path) -> Flask:
    """An app on an empty SQLite file of its own, outside the shared test databases."""
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'throwaway.sqlite'}",
            "TESTING": True,
            "SECRET_KEY": "throwaway",
        }
    )


def test_downgrade_to_base_and_upgrade_again(throwaway_app: Flask) -> None:
    with throwaway_app.app_context():
        try:
            upgrade()
            _assert_models_schema(db.engine)

            downgrade(revision="base")
            left = set(inspect(db.engine).get_table_names())
            with db.engine.connect() as connection:
                triggers = _audit_triggers_any(connection)
                version = MigrationContext.configure(connection).get_current_heads()
            assert left <= {"alembic_version"}
            assert triggers == set()
            assert version == ()

            upgrade()
            _assert_models_schema(db.engine)
        finally:
            db.session.remove()
            db.engine.dispose()


def test_each_migration_steps_down_and_up_again(throwaway_app: Flask) -> None:
    with throwaway_app.app_context():
        try:
            script = _script(throwaway_app)
            revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
            upgrade()
            for revision in reversed(revisions):
                downgrade(revision="-1")
                upgrade(revision=revision)
                downgrade(revision="-1")
            with db.engine.connect() as connection:
                assert MigrationContext.configure(connection).get_current_heads() == ()
            upgrade()
            _assert_models_schema(db.engine)
        finally:
            db.session.remove()
            db.engine.dispose()


def _audit_triggers_any(connection: Connection) -> set[str]:
    """Triggers left behind anywhere (the audit table itself is gone after a full downgrade)."""
    rows = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    return {str(name) for (name,) in rows}


def _index_names(engine: Engine) -> set[str]:
    return {index["name"] for index in inspect(engine).get_indexes("voter_entry")}


def test_the_name_prefix_index_steps_down_to_trigrams_and_back(postgres_database: str) -> None:
    """0009 on PostgreSQL, where it does something: its downgrade restores 0008's index."""
    server = make_url(postgres_database)
    name = f"{server.database}_m0009"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "m0009"})
    try:
        with app.app_context():
            upgrade()
            assert "ix_voter_entry_search_prefixes" in _index_names(db.engine)
            downgrade(revision="0008_voter_search_trigram")
            after_downgrade = _index_names(db.engine)
            with db.engine.connect() as connection:
                function = connection.scalar(
                    text("SELECT count(*) FROM pg_proc WHERE proname = 'kuelik_name_prefixes'")
                )
            upgrade()
            after_upgrade = _index_names(db.engine)
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    assert "ix_voter_entry_search_trigram" in after_downgrade
    assert "ix_voter_entry_search_prefixes" not in after_downgrade
    assert function == 0
    assert "ix_voter_entry_search_prefixes" in after_upgrade
    assert "ix_voter_entry_search_trigram" not in after_upgrade
