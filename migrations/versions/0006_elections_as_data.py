"""elections as data: kinds, number series, a network and placements per election

Revision ID: 0006_elections_as_data
Revises: 0005_api
Create Date: 2026-12-03 09:21:26

Until now one network of places served every election, and each user worked at one precinct.
From here every election carries its own network and users are placed per election. Existing
rows keep their ids and values: the network goes to the election that issued certificates
from it (or the first election), users are placed in it where they worked, and any other
election gets a copy of the network with its own rows moved onto the copy. Certificates seal
their precinct's id into the QR code, so a second election that already issued certificates
cannot be moved onto a copy: the upgrade stops and changes nothing. A database with places but no
election attaches them to a new draft election for the administrator to configure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from alembic import op

revision = "0006_elections_as_data"
down_revision = "0005_api"
branch_labels = None
depends_on = None

PLACE_TABLES = ("region", "locality", "city_district", "territorial_commission", "precinct")
DRAFT_CODE = "network-before-elections"


def _same_election(batch: object, table: str, column: str, target: str) -> None:
    batch.create_foreign_key(  # type: ignore[attr-defined]
        op.f(f"fk_{table}_{column}_same_election"),
        target,
        ["election_id", column],
        ["election_id", "id"],
    )


def upgrade() -> None:
    with op.batch_alter_table("election") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(20), nullable=False, server_default="referendum")
        )
        batch.add_column(sa.Column("number_series", sa.String(4), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch.alter_column("issue_opens_on", existing_type=sa.Date(), nullable=True)
        batch.alter_column("issue_deadline_on", existing_type=sa.Date(), nullable=True)
        batch.create_unique_constraint(op.f("uq_election_number_series"), ["number_series"])
        batch.create_check_constraint(
            op.f("ck_election_window_complete"),
            "(issue_opens_on IS NULL) = (issue_deadline_on IS NULL)",
        )
        batch.create_check_constraint(
            op.f("ck_election_kind"),
            "kind IN ('by_election', 'maslikhat', 'mazhilis', 'presidential', 'referendum', "
            "'senate')",
        )
        batch.create_check_constraint(
            op.f("ck_election_series_length"), "number_series IS NULL OR length(number_series) = 4"
        )
    with op.batch_alter_table("election") as batch:
        batch.alter_column("kind", existing_type=sa.String(20), server_default=None)

    with op.batch_alter_table("import_job") as batch:
        batch.add_column(sa.Column("election_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("mode", sa.String(16), nullable=False, server_default="add"))
        batch.create_index(op.f("ix_import_job_election_id"), ["election_id"], unique=False)
        batch.create_foreign_key(
            op.f("fk_import_job_election_id_election"), "election", ["election_id"], ["id"]
        )
        batch.create_check_constraint(
            op.f("ck_import_job_mode"), "mode IN ('add', 'amend', 'replace')"
        )
    with op.batch_alter_table("import_job") as batch:
        batch.alter_column("mode", existing_type=sa.String(16), server_default=None)

    # Codes become unique per election before any copy is made (NULLs never clash meanwhile).
    for table in PLACE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("election_id", sa.Integer(), nullable=True))
            if table in ("region", "locality", "city_district"):
                batch.drop_constraint(op.f(f"uq_{table}_kato"), type_="unique")
                batch.create_unique_constraint(
                    op.f(f"uq_{table}_election_id_kato"), ["election_id", "kato"]
                )

    op.create_table(
        "placement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("precinct_id", sa.Integer(), nullable=True),
        sa.Column("territorial_commission_id", sa.Integer(), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(precinct_id IS NULL) <> (territorial_commission_id IS NULL)",
            name=op.f("ck_placement_one_place"),
        ),
        sa.ForeignKeyConstraint(
            ["election_id"], ["election.id"], name="fk_placement_election_id_election"
        ),
        sa.ForeignKeyConstraint(
            ["precinct_id"], ["precinct.id"], name="fk_placement_precinct_id_precinct"
        ),
        sa.ForeignKeyConstraint(
            ["territorial_commission_id"],
            ["territorial_commission.id"],
            name="fk_placement_territorial_commission_id_territorial_commission",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name="fk_placement_user_id_app_user"),
        sa.PrimaryKeyConstraint("id", name="pk_placement"),
        sa.UniqueConstraint("user_id", "election_id", name="uq_placement_user_id_election_id"),
    )

    _attach_networks(op.get_bind())

    with op.batch_alter_table("app_user") as batch:
        batch.drop_constraint(op.f("ck_app_user_precinct_role"), type_="check")
        batch.drop_constraint(op.f("ck_app_user_territorial_role"), type_="check")
        batch.drop_index(op.f("ix_app_user_precinct_id"))
        batch.drop_constraint(op.f("fk_app_user_precinct_id_precinct"), type_="foreignkey")
        batch.drop_constraint(
            op.f("fk_app_user_territorial_commission_id_territorial_commission"), type_="foreignkey"
        )
        batch.drop_column("territorial_commission_id")
        batch.drop_column("precinct_id")

    # The network, now per election: codes unique within an election, rows joinable by
    # (id, election) so that every reference can insist on the same election.
    for table in PLACE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("election_id", existing_type=sa.Integer(), nullable=False)
            batch.create_index(op.f(f"ix_{table}_election_id"), ["election_id"], unique=False)
            batch.create_foreign_key(
                op.f(f"fk_{table}_election_id_election"), "election", ["election_id"], ["id"]
            )
            batch.create_unique_constraint(
                op.f(f"uq_{table}_id_election_id"), ["id", "election_id"]
            )

    with op.batch_alter_table("locality") as batch:
        _same_election(batch, "locality", "region_id", "region")
    with op.batch_alter_table("city_district") as batch:
        _same_election(batch, "city_district", "locality_id", "locality")
    with op.batch_alter_table("territorial_commission") as batch:
        _same_election(batch, "territorial_commission", "region_id", "region")
    with op.batch_alter_table("precinct") as batch:
        _same_election(batch, "precinct", "region_id", "region")
        _same_election(batch, "precinct", "locality_id", "locality")
        _same_election(batch, "precinct", "district_id", "city_district")
        _same_election(batch, "precinct", "territorial_commission_id", "territorial_commission")
    for table in (
        "voter_entry",
        "certificate",
        "stock_range",
        "inclusion",
        "supplementary_list",
        "placement",
    ):
        with op.batch_alter_table(table) as batch:
            _same_election(batch, table, "precinct_id", "precinct")
    with op.batch_alter_table("certificate_case") as batch:
        _same_election(batch, "certificate_case", "precinct_id", "precinct")
        _same_election(batch, "certificate_case", "stay_locality_id", "locality")
    with op.batch_alter_table("placement") as batch:
        _same_election(batch, "placement", "territorial_commission_id", "territorial_commission")
        for column in ("election_id", "precinct_id", "territorial_commission_id", "user_id"):
            batch.create_index(op.f(f"ix_placement_{column}"), [column], unique=False)


# --------------------------------------------------------------------------------------------
# Data: which election owns the network, copies for the others, placements
# --------------------------------------------------------------------------------------------


def _scalar(connection: sa.Connection, sql: str, **params: object) -> object:
    return connection.execute(sa.text(sql), params).scalar()


def _attach_networks(connection: sa.Connection) -> None:
    elections = [
        int(row[0]) for row in connection.execute(sa.text("SELECT id FROM election ORDER BY id"))
    ]
    has_places = any(_scalar(connection, f"SELECT count(*) FROM {t}") for t in PLACE_TABLES)
    if not elections:
        if not has_places:
            return
        elections = [_draft_election(connection)]
    certificates = {
        election: int(
            _scalar(
                connection, "SELECT count(*) FROM certificate WHERE election_id = :e", e=election
            )
            or 0
        )
        for election in elections
    }
    owner = max(elections, key=lambda election: (certificates[election], -election))
    sealed_elsewhere = [e for e in elections if e != owner and certificates[e]]
    if sealed_elsewhere:
        raise RuntimeError(
            "More than one election has issued certificates from the shared network "
            f"(elections {[owner, *sealed_elsewhere]}); their seals name precinct ids, which "
            "cannot be given to a copy. Nothing was changed: move those elections' data by hand."
        )
    for table in PLACE_TABLES:
        connection.execute(sa.text(f"UPDATE {table} SET election_id = :e"), {"e": owner})  # noqa: S608
    _place_users(connection, owner, {}, {})
    for election in elections:
        if election != owner:
            precincts, localities, commissions = _copy_network(connection, owner, election)
            _move_rows(connection, election, precincts, localities)
            _place_users(connection, election, precincts, commissions)


def _draft_election(connection: sa.Connection) -> int:
    """An election to hold a network imported before any election existed, for the
    administrator to give its calendar (no window yet: nothing can be issued in it)."""
    election = sa.table(
        "election",
        sa.column("code", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("name_kk", sa.String()),
        sa.column("name_ru", sa.String()),
        sa.column("name_en", sa.String()),
        sa.column("voting_day", sa.Date()),
        sa.column("issue_opens_at", sa.Time()),
        sa.column("issue_deadline_at", sa.Time()),
        sa.column("voting_opens_at", sa.Time()),
        sa.column("voting_closes_at", sa.Time()),
        sa.column("allow_surrender", sa.Boolean()),
        sa.column("allow_return_home", sa.Boolean()),
        sa.column("proxy_warning_threshold", sa.Integer()),
        sa.column("refuse_inclusion_in_home_locality", sa.Boolean()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    name = "Imported network (configure this election)"
    connection.execute(
        election.insert().values(
            code=DRAFT_CODE,
            kind="referendum",
            name_kk=name,
            name_ru=name,
            name_en=name,
            voting_day=date(2199, 12, 31),
            issue_opens_at=time(0, 0),
            issue_deadline_at=time(18, 0),
            voting_opens_at=time(7, 0),
            voting_closes_at=time(20, 0),
            allow_surrender=True,
            allow_return_home=True,
            proxy_warning_threshold=3,
            refuse_inclusion_in_home_locality=True,
            created_at=datetime.now(UTC),
        )
    )
    return int(_scalar(connection, "SELECT id FROM election WHERE code = :c", c=DRAFT_CODE) or 0)


def _copy_rows(
    connection: sa.Connection,
    table: str,
    owner: int,
    target: int,
    columns: list[str],
    remap: dict[str, dict[int, int]],
) -> dict[int, int]:
    """Copy one table's rows of `owner` into `target`; the old id -> new id of each."""
    mapping: dict[int, int] = {}
    rows = connection.execute(
        sa.text(f"SELECT id, {', '.join(columns)} FROM {table} WHERE election_id = :e ORDER BY id"),  # noqa: S608
        {"e": owner},
    ).all()
    names = ", ".join(["election_id", *columns])
    marks = ", ".join([":election_id", *(f":{c}" for c in columns)])
    insert = sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks})")  # noqa: S608
    for row in rows:
        values = dict(zip(columns, row[1:], strict=True))
        for column, ids in remap.items():
            if values.get(column) is not None:
                values[column] = ids[int(values[column])]
        connection.execute(insert, {"election_id": target, **values})
        mapping[int(row[0])] = int(
            _scalar(connection, f"SELECT max(id) FROM {table} WHERE election_id = :e", e=target)  # noqa: S608
            or 0
        )
    return mapping


def _copy_network(
    connection: sa.Connection, owner: int, target: int
) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    regions = _copy_rows(
        connection,
        "region",
        owner,
        target,
        ["kato", "name_kk", "name_ru", "name_en", "time_zone"],
        {},
    )
    localities = _copy_rows(
        connection,
        "locality",
        owner,
        target,
        ["kato", "region_id", "name_kk", "name_ru", "kind"],
        {"region_id": regions},
    )
    districts = _copy_rows(
        connection,
        "city_district",
        owner,
        target,
        ["kato", "locality_id", "name_kk", "name_ru"],
        {"locality_id": localities},
    )
    commissions = _copy_rows(
        connection,
        "territorial_commission",
        owner,
        target,
        ["region_id", "name_kk", "name_ru"],
        {"region_id": regions},
    )
    precincts = _copy_rows(
        connection,
        "precinct",
        owner,
        target,
        [
            "number",
            "region_id",
            "locality_id",
            "district_id",
            "territorial_commission_id",
            "address_kk",
            "address_ru",
            "time_zone_override",
        ],
        {
            "region_id": regions,
            "locality_id": localities,
            "district_id": districts,
            "territorial_commission_id": commissions,
        },
    )
    return precincts, localities, commissions


def _move_rows(
    connection: sa.Connection,
    election: int,
    precincts: dict[int, int],
    localities: dict[int, int],
) -> None:
    """Point an election's own rows at its copy of the network (no certificates exist)."""
    for table in ("voter_entry", "certificate_case", "stock_range", "supplementary_list"):
        for old, new in precincts.items():
            connection.execute(
                sa.text(
                    f"UPDATE {table} SET precinct_id = :new "  # noqa: S608
                    "WHERE election_id = :e AND precinct_id = :old"
                ),
                {"new": new, "old": old, "e": election},
            )
    for old, new in localities.items():
        connection.execute(
            sa.text(
                "UPDATE certificate_case SET stay_locality_id = :new "
                "WHERE election_id = :e AND stay_locality_id = :old"
            ),
            {"new": new, "old": old, "e": election},
        )


def _place_users(
    connection: sa.Connection,
    election: int,
    precincts: dict[int, int],
    commissions: dict[int, int],
) -> None:
    """Each user works where they worked, in this election (on its copy of the network)."""
    placement = sa.table(
        "placement",
        sa.column("user_id", sa.Integer()),
        sa.column("election_id", sa.Integer()),
        sa.column("precinct_id", sa.Integer()),
        sa.column("territorial_commission_id", sa.Integer()),
        sa.column("placed_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = connection.execute(
        sa.text(
            "SELECT id, precinct_id, territorial_commission_id FROM app_user "
            "WHERE precinct_id IS NOT NULL OR territorial_commission_id IS NOT NULL ORDER BY id"
        )
    ).all()
    for user_id, precinct_id, commission_id in rows:
        # A user had one or the other; a territorial account's precinct, if any, is dropped.
        if commission_id is not None:
            place = {
                "precinct_id": None,
                "territorial_commission_id": commissions.get(int(commission_id), commission_id),
            }
        else:
            place = {
                "precinct_id": precincts.get(int(precinct_id), precinct_id),
                "territorial_commission_id": None,
            }
        connection.execute(
            placement.insert().values(
                user_id=int(user_id), election_id=election, placed_at=now, **place
            )
        )


# --------------------------------------------------------------------------------------------
# Down again: only while one election holds a network (the old schema had one for all)
# --------------------------------------------------------------------------------------------


def downgrade() -> None:
    connection = op.get_bind()
    networks = _scalar(connection, "SELECT count(DISTINCT election_id) FROM region") or 0
    if int(networks) > 1:  # type: ignore[arg-type]
        raise RuntimeError(
            "Several elections hold networks of their own; the old schema had one for all. "
            "Nothing was changed."
        )
    with op.batch_alter_table("placement") as batch:
        for column in ("election_id", "precinct_id", "territorial_commission_id", "user_id"):
            batch.drop_index(op.f(f"ix_placement_{column}"))
    with op.batch_alter_table("certificate_case") as batch:
        batch.drop_constraint(
            op.f("fk_certificate_case_precinct_id_same_election"), type_="foreignkey"
        )
        batch.drop_constraint(
            op.f("fk_certificate_case_stay_locality_id_same_election"), type_="foreignkey"
        )
    for table in (
        "voter_entry",
        "certificate",
        "stock_range",
        "inclusion",
        "supplementary_list",
    ):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"fk_{table}_precinct_id_same_election"), type_="foreignkey")

    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("precinct_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("territorial_commission_id", sa.Integer(), nullable=True))
    connection.execute(
        sa.text(
            "UPDATE app_user SET precinct_id = (SELECT p.precinct_id FROM placement p "
            "WHERE p.user_id = app_user.id ORDER BY p.election_id LIMIT 1), "
            "territorial_commission_id = (SELECT p.territorial_commission_id FROM placement p "
            "WHERE p.user_id = app_user.id ORDER BY p.election_id LIMIT 1)"
        )
    )
    op.drop_table("placement")
    with op.batch_alter_table("app_user") as batch:
        batch.create_foreign_key(
            op.f("fk_app_user_precinct_id_precinct"), "precinct", ["precinct_id"], ["id"]
        )
        batch.create_foreign_key(
            op.f("fk_app_user_territorial_commission_id_territorial_commission"),
            "territorial_commission",
            ["territorial_commission_id"],
            ["id"],
        )
        batch.create_index(op.f("ix_app_user_precinct_id"), ["precinct_id"], unique=False)
        batch.create_check_constraint(
            op.f("ck_app_user_precinct_role"),
            "role NOT IN ('clerk', 'checkin') OR precinct_id IS NOT NULL",
        )
        batch.create_check_constraint(
            op.f("ck_app_user_territorial_role"),
            "role <> 'territorial' OR territorial_commission_id IS NOT NULL",
        )

    for table, columns in (
        ("precinct", ("region_id", "locality_id", "district_id", "territorial_commission_id")),
        ("territorial_commission", ("region_id",)),
        ("city_district", ("locality_id",)),
        ("locality", ("region_id",)),
    ):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(
                    op.f(f"fk_{table}_{column}_same_election"), type_="foreignkey"
                )
    for table in reversed(PLACE_TABLES):
        with op.batch_alter_table(table) as batch:
            if table in ("region", "locality", "city_district"):
                batch.drop_constraint(op.f(f"uq_{table}_election_id_kato"), type_="unique")
                batch.create_unique_constraint(op.f(f"uq_{table}_kato"), ["kato"])
            batch.drop_constraint(op.f(f"uq_{table}_id_election_id"), type_="unique")
            batch.drop_constraint(op.f(f"fk_{table}_election_id_election"), type_="foreignkey")
            batch.drop_index(op.f(f"ix_{table}_election_id"))
            batch.drop_column("election_id")

    with op.batch_alter_table("import_job") as batch:
        batch.drop_constraint(op.f("ck_import_job_mode"), type_="check")
        batch.drop_constraint(op.f("fk_import_job_election_id_election"), type_="foreignkey")
        batch.drop_index(op.f("ix_import_job_election_id"))
        batch.drop_column("mode")
        batch.drop_column("election_id")

    # Elections without a window cannot go back to a schema that requires one.
    connection.execute(
        sa.text(
            "UPDATE election SET issue_opens_on = voting_day, issue_deadline_on = voting_day "
            "WHERE issue_opens_on IS NULL"
        )
    )
    with op.batch_alter_table("election") as batch:
        batch.drop_constraint(op.f("ck_election_series_length"), type_="check")
        batch.drop_constraint(op.f("ck_election_kind"), type_="check")
        batch.drop_constraint(op.f("ck_election_window_complete"), type_="check")
        batch.drop_constraint(op.f("uq_election_number_series"), type_="unique")
        batch.alter_column("issue_deadline_on", existing_type=sa.Date(), nullable=False)
        batch.alter_column("issue_opens_on", existing_type=sa.Date(), nullable=False)
        batch.drop_column("created_at")
        batch.drop_column("number_series")
        batch.drop_column("kind")
