"""Where things are, as of one election: regions, localities, districts, commissions, precincts.

Every election carries its own network (imported for it, or copied from an earlier one and then
edited), because the country changes between votes: new oblasts, a renamed capital, redrawn
precincts. A record of 2022 keeps showing the names of 2022. Rows of one network refer only to
rows of the same election; composite foreign keys on (election, id) make the database refuse any
mix.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base


def same_election(table: str, column: str, target: str) -> ForeignKeyConstraint:
    """`table.column` names a row of `target` in the same election as its own row."""
    return ForeignKeyConstraint(
        ["election_id", column],
        [f"{target}.election_id", f"{target}.id"],
        name=f"fk_{table}_{column}_same_election",
    )


class Region(Base):
    """A top-level unit (oblast or city of republican significance) and its IANA time zone."""

    __tablename__ = "region"
    __table_args__ = (
        CheckConstraint("length(kato) = 9", name="kato_length"),
        UniqueConstraint("election_id", "kato"),
        UniqueConstraint("id", "election_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    kato: Mapped[str] = mapped_column(String(9))
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))


class Locality(Base):
    """A settlement (населённый пункт / елді мекен), the unit of the same-locality ban."""

    __tablename__ = "locality"
    __table_args__ = (
        CheckConstraint("length(kato) = 9", name="kato_length"),
        UniqueConstraint("election_id", "kato"),
        UniqueConstraint("id", "election_id"),
        same_election("locality", "region_id", "region"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    kato: Mapped[str] = mapped_column(String(9))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="town")

    region: Mapped[Region] = relationship(lazy="joined", foreign_keys=[region_id])


class CityDistrict(Base):
    """A district of a city: its own commissions, but the same locality."""

    __tablename__ = "city_district"
    __table_args__ = (
        UniqueConstraint("election_id", "kato"),
        UniqueConstraint("id", "election_id"),
        same_election("city_district", "locality_id", "locality"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    kato: Mapped[str] = mapped_column(String(9))
    locality_id: Mapped[int] = mapped_column(ForeignKey("locality.id"), index=True)
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))

    locality: Mapped[Locality] = relationship(foreign_keys=[locality_id])


class TerritorialCommission(Base):
    """The commission above precincts: hands down number stock, oversees its territory."""

    __tablename__ = "territorial_commission"
    __table_args__ = (
        UniqueConstraint("region_id", "name_ru"),
        UniqueConstraint("id", "election_id"),
        same_election("territorial_commission", "region_id", "region"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))

    region: Mapped[Region] = relationship(foreign_keys=[region_id])


class Precinct(Base):
    """A precinct commission and its polling station; numbers are unique within a region."""

    __tablename__ = "precinct"
    __table_args__ = (
        UniqueConstraint("region_id", "number"),
        UniqueConstraint("id", "election_id"),
        CheckConstraint("number > 0", name="number_positive"),
        same_election("precinct", "region_id", "region"),
        same_election("precinct", "locality_id", "locality"),
        same_election("precinct", "district_id", "city_district"),
        same_election("precinct", "territorial_commission_id", "territorial_commission"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    number: Mapped[int]
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    locality_id: Mapped[int] = mapped_column(ForeignKey("locality.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("city_district.id"))
    territorial_commission_id: Mapped[int] = mapped_column(
        ForeignKey("territorial_commission.id"), index=True
    )
    address_kk: Mapped[str] = mapped_column(String(500))
    address_ru: Mapped[str] = mapped_column(String(500))
    # For precincts abroad, whose clock is not their region's.
    time_zone_override: Mapped[str | None] = mapped_column(String(64))

    region: Mapped[Region] = relationship(lazy="joined", foreign_keys=[region_id])
    locality: Mapped[Locality] = relationship(lazy="joined", foreign_keys=[locality_id])
    district: Mapped[CityDistrict | None] = relationship(foreign_keys=[district_id])
    territorial_commission: Mapped[TerritorialCommission] = relationship(
        foreign_keys=[territorial_commission_id]
    )

    @property
    def time_zone(self) -> str:
        """The IANA zone of this precinct's wall clock: every deadline here is read on it."""
        return self.time_zone_override or self.region.time_zone
