"""voter list: one foreign key per row instead of three

Revision ID: 0007_voter_entry_keys
Revises: 0006_elections_as_data
Create Date: 2026-12-03 14:20:00

A voter entry's `(election_id, precinct_id)` must name a precinct of the same election (the
composite key of 0006), and that precinct's own key names its election: the single-column keys
`election_id → election` and `precinct_id → precinct` say nothing more. On PostgreSQL each key is
a trigger run for every inserted row, and on a national import of 12 million rows the two
redundant ones cost as much as the heap and its indexes together. No row changes.
"""

from __future__ import annotations

from alembic import op

revision = "0007_voter_entry_keys"
down_revision = "0006_elections_as_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("voter_entry") as batch:
        batch.drop_constraint(op.f("fk_voter_entry_election_id_election"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_voter_entry_precinct_id_precinct"), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("voter_entry") as batch:
        batch.create_foreign_key(
            op.f("fk_voter_entry_election_id_election"), "election", ["election_id"], ["id"]
        )
        batch.create_foreign_key(
            op.f("fk_voter_entry_precinct_id_precinct"), "precinct", ["precinct_id"], ["id"]
        )
