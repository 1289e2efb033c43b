"""audit trigger raises an integrity violation on PostgreSQL, as SQLite's does

Revision ID: 0004_audit_trigger_errcode
Revises: 0003_web_sessions
"""

from alembic import op

revision = "0004_audit_trigger_errcode"
down_revision = "0003_web_sessions"
branch_labels = None
depends_on = None


def _function(errcode: str | None) -> str:
    using = f" USING ERRCODE = '{errcode}'" if errcode else ""
    return f"""
        CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event is append-only'{using};
        END;
        $$ LANGUAGE plpgsql
    """


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function("integrity_constraint_violation"))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(None))
