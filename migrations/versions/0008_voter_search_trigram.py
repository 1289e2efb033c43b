"""voter list: a trigram index on the folded name, for searches beyond one precinct

Revision ID: 0008_voter_search_trigram
Revises: 0007_voter_entry_keys
Create Date: 2026-12-03 14:45:00

A name search matches each typed word anywhere in the folded name (`LIKE '%word%'`). Within one
precinct the list's (election, precinct, key) index narrows it to a thousand rows or so; a
territorial or national search had to read the whole election's list (seconds at 12 million).
pg_trgm's GIN index answers such patterns for words of three letters or more. pg_trgm is a
trusted extension (PostgreSQL 13+): a role with CREATE on the database and on schema `public`
may create it; otherwise a DBA creates it once, in any schema, before the upgrade. SQLite keeps
its scan: an embedded database holds a small list.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_voter_search_trigram"
down_revision = "0007_voter_entry_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    # In `public` unless it is there already (a DBA may have put it elsewhere): not in the
    # schema being migrated, whose DROP ... CASCADE would take every trigram index with it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    schema = bind.scalar(
        sa.text(
            "SELECT n.nspname FROM pg_extension AS e "
            "JOIN pg_namespace AS n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    )
    # Named with its schema: the app's search_path need not include the extension's.
    op.create_index(
        "ix_voter_entry_search_trigram",
        "voter_entry",
        ["search_key"],
        postgresql_using="gin",
        postgresql_ops={"search_key": f'"{schema}".gin_trgm_ops'},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_voter_entry_search_trigram", table_name="voter_entry")
    # The extension stays: other objects of the database may have come to use it.
