"""SQLAlchemy 2 models. The database's own constraints are the last line of defence."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, event

from models.api import ApiToken, IdempotentRequest, ImportJob, RateCounter
from models.audit import AuditEvent
from models.base import Base
from models.case import Certificate, CertificateCase, Inclusion, SupplementaryList
from models.election import Election, StockRange
from models.reference import CityDistrict, Locality, Precinct, Region, TerritorialCommission
from models.user import FormSubmission, LoginThrottle, Placement, Role, User
from models.voter import VoterEntry

db = SQLAlchemy(model_class=Base)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "Certificate",
    "CertificateCase",
    "CityDistrict",
    "Election",
    "FormSubmission",
    "IdempotentRequest",
    "ImportJob",
    "Inclusion",
    "Locality",
    "LoginThrottle",
    "Placement",
    "Precinct",
    "RateCounter",
    "Region",
    "Role",
    "StockRange",
    "SupplementaryList",
    "TerritorialCommission",
    "User",
    "VoterEntry",
    "db",
]


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: enforce foreign keys, let SQLAlchemy own transactions (so SAVEPOINT works)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 15000")
        # Readers and the one writer do not block each other (a no-op for in-memory databases).
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()


@event.listens_for(Engine, "connect")
def _configure_postgresql(dbapi_connection: Any, connection_record: Any) -> None:
    """PostgreSQL: no JIT. Every query here is short, and a wide name search whose plan looks
    costly spent 200 ms compiling for a 5 ms execution on a national list."""
    if type(dbapi_connection).__module__.startswith("psycopg"):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()


@event.listens_for(Engine, "begin")
def _begin_immediate_on_sqlite(connection: Any) -> None:
    """Take SQLite's write lock up front: no deadlocked read-to-write upgrades between requests."""
    if connection.dialect.name != "sqlite":
        return
    # Readers that never write (reports, test probes) may opt out and not hold the write lock.
    if connection.get_execution_options().get("kuelik_deferred_begin"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
