"""Where things are: regions, localities, city districts, commissions and precincts."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base


class Region(Base):
    """A top-level unit (oblast or city of republican significance) and its IANA time zone."""

    __tablename__ = "region"
    __table_args__ = (CheckConstraint("length(kato) = 9", name="kato_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kato: Mapped[str] = mapped_column(String(9), unique=True)
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))


class Locality(Base):
    """A settlement (населённый пункт / елді мекен), the unit of the same-locality ban."""

    __tablename__ = "locality"
    __table_args__ = (CheckConstraint("length(kato) = 9", name="kato_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kato: Mapped[str] = mapped_column(String(9), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="town")

    region: Mapped[Region] = relationship(lazy="joined")


class CityDistrict(Base):
    """A district of a city: its own commissions, but the same locality."""

    __tablename__ = "city_district"

    id: Mapped[int] = mapped_column(primary_key=True)
    kato: Mapped[str] = mapped_column(String(9), unique=True)
    locality_id: Mapped[int] = mapped_column(ForeignKey("locality.id"), index=True)
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))

    locality: Mapped[Locality] = relationship()


class TerritorialCommission(Base):
    """The commission above precincts: hands down number stock, oversees its territory."""

    __tablename__ = "territorial_commission"
    __table_args__ = (UniqueConstraint("region_id", "name_ru"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))

    region: Mapped[Region] = relationship()


class Precinct(Base):
    """A precinct commission and its polling station; numbers are unique within a region."""

    __tablename__ = "precinct"
    __table_args__ = (
        UniqueConstraint("region_id", "number"),
        CheckConstraint("number > 0", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
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

    region: Mapped[Region] = relationship(lazy="joined")
    locality: Mapped[Locality] = relationship(lazy="joined")
    district: Mapped[CityDistrict | None] = relationship()
    territorial_commission: Mapped[TerritorialCommission] = relationship()

    @property
    def time_zone(self) -> str:
        """The IANA zone of this precinct's wall clock: every deadline here is read on it."""
        return self.time_zone_override or self.region.time_zone
