"""Declarative base, naming convention and column types shared by every model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime, Dialect, MetaData, Table
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can name what they alter on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Put in a schema object's `info` (beside `.ddl_if(dialect=...)`, which only create_all reads) so
# that schema comparisons skip it on the other databases.
POSTGRESQL_ONLY = {"only_on": "postgresql"}


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, for Core statements run on the session's connection (a hot
    path's one-row DML: through the session, even Core takes the ORM's bulk path)."""
    return cast(Table, model.__table__)


def exists_on(schema_object: Any, dialect: str) -> bool:
    """Whether the models create this table, index or constraint on the named database."""
    info = getattr(schema_object, "info", None) or {}
    return bool(info.get("only_on", dialect) == dialect)


def include_on(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """An Alembic `include_object` hook for schema comparisons on `dialect`."""

    def include(
        schema_object: Any, name: str | None, kind: str, reflected: bool, compare_to: Any
    ) -> bool:
        return reflected or exists_on(schema_object, dialect)

    return include


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC instant on every database (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: every instant is stored aware, in UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant: datetime = value
        if instant.tzinfo is None:
            return instant.replace(tzinfo=UTC)
        return instant.astimezone(UTC)


def utc_now() -> datetime:
    """Column default: the server clock, aware."""
    return datetime.now(UTC)


def in_clause(column: str, values: frozenset[str]) -> str:
    """SQL text `column IN ('a', 'b')` for partial indexes and CHECKs, from an enum's values."""
    quoted = ", ".join(f"'{value}'" for value in sorted(values))
    return f"{column} IN ({quoted})"
