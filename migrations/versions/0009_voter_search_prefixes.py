"""voter list: an index of the name's word beginnings, for searches beyond one precinct

Revision ID: 0009_voter_search_prefixes
Revises: 0008_voter_search_trigram
Create Date: 2026-12-03 21:00:00

0008's trigram index let a territorial or national search match a word anywhere in the name, but
on a national list every trigram of a common name is on millions of rows, and the index scan
alone took 120-240 ms (docs/performance.md). A wide search now matches each typed word as the
beginning of a word of the name, the way clerks type ("Жанұз Айг"), and this index holds, for
each word of the folded key, its first 2, 3, 4, 5 and 6 letters, each with the election's id in
front. A typed word of two letters or more is then one key of the index, with a posting list of
the voters whose name has a word starting so, and several words intersect in the index.

`kuelik_name_prefixes` is what the index holds and what the query must name (services/voters.py
builds the same keys in Python). It is IMMUTABLE, as an index expression must be: its result
depends on its arguments alone. SQLite keeps its scan: an embedded database holds a small list.
"""

from __future__ import annotations

from alembic import op

revision = "0009_voter_search_prefixes"
down_revision = "0008_voter_search_trigram"
branch_labels = None
depends_on = None

# The longest word beginning kept is 6 letters: services.voters.NAME_PREFIX_LENGTH says the same.
_FUNCTION = """
CREATE FUNCTION kuelik_name_prefixes(election integer, search_key text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT ARRAY(
        SELECT election::text || ' ' || left(word, letters)
        FROM unnest(string_to_array(search_key, ' ')) AS word
        CROSS JOIN LATERAL generate_series(2, least(length(word), 6)) AS letters
    )
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    op.execute(
        "CREATE INDEX ix_voter_entry_search_prefixes ON voter_entry "
        "USING gin (kuelik_name_prefixes(election_id, search_key))"
    )
    op.drop_index("ix_voter_entry_search_trigram", table_name="voter_entry")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_voter_entry_search_prefixes", table_name="voter_entry")
    op.execute("DROP FUNCTION kuelik_name_prefixes(integer, text)")
    # 0008's index again, its operator class named with pg_trgm's schema (0008 left it in place).
    op.execute(_TRIGRAM_INDEX)


_TRIGRAM_INDEX = """
DO $$ BEGIN
    EXECUTE format(
        'CREATE INDEX ix_voter_entry_search_trigram ON voter_entry USING gin (search_key %I.gin_trgm_ops)',
        (SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_trgm')
    );
END $$
"""
