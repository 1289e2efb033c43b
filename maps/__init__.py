"""The country's top-level regions as of each shipped map, with KATO codes and IANA zones.

Pure data, standard library only: services start an election's network from one of these maps,
and the demo data builds on them. Each region carries the IANA zone that gives its offsets; no
offset is written here (`zoneinfo` with the `tzdata` package knows every change).

* `kz-2022` (`REGIONS_2022`): the 17 top-level units of June 2022, 14 oblasts plus the cities
  Nur-Sultan, Almaty and Shymkent. Abai, Zhetysu and Ulytau oblasts did not exist yet (created
  8 June 2022), so Semey, Taldykorgan and Zhezkazgan still belong to East Kazakhstan, Almaty and
  Karaganda oblasts. In 2022 the five western regions were UTC+5, everything else UTC+6.
* `kz-2026` (`REGIONS_2026`): the 20 regions since 8 June 2022, as at the referendum of 15 March
  2026: Abai, Zhetysu and Ulytau oblasts (KATO region codes 10, 33 and 62) carved out of East
  Kazakhstan, Almaty and Karaganda oblasts, and Nur-Sultan named Astana again (17 September
  2022). The new oblasts keep the zone of the oblasts they left (Asia/Almaty); since 1 March 2024
  every zone of the country reads UTC+5.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAPS", "MAP_TITLES", "REGIONS_2022", "REGIONS_2026", "RegionData", "region_for_kato"]


@dataclass(frozen=True, slots=True)
class RegionData:
    """A top-level unit (oblast or city of republican significance) with its IANA time zone."""

    kato: str
    name_kk: str
    name_ru: str
    name_en: str
    time_zone: str


_ALMATY_TZ = "Asia/Almaty"

REGIONS_2022: tuple[RegionData, ...] = (
    RegionData("110000000", "Ақмола облысы", "Акмолинская область", "Akmola Region", _ALMATY_TZ),
    RegionData("150000000", "Ақтөбе облысы", "Актюбинская область", "Aktobe Region", "Asia/Aqtobe"),
    RegionData("190000000", "Алматы облысы", "Алматинская область", "Almaty Region", _ALMATY_TZ),
    RegionData("230000000", "Атырау облысы", "Атырауская область", "Atyrau Region", "Asia/Atyrau"),
    RegionData(
        "270000000",
        "Батыс Қазақстан облысы",
        "Западно-Казахстанская область",
        "West Kazakhstan Region",
        "Asia/Oral",
    ),
    RegionData("310000000", "Жамбыл облысы", "Жамбылская область", "Zhambyl Region", _ALMATY_TZ),
    RegionData(
        "350000000", "Қарағанды облысы", "Карагандинская область", "Karaganda Region", _ALMATY_TZ
    ),
    RegionData(
        "390000000", "Қостанай облысы", "Костанайская область", "Kostanay Region", "Asia/Qostanay"
    ),
    RegionData(
        "430000000",
        "Қызылорда облысы",
        "Кызылординская область",
        "Kyzylorda Region",
        "Asia/Qyzylorda",
    ),
    RegionData(
        "470000000", "Маңғыстау облысы", "Мангистауская область", "Mangystau Region", "Asia/Aqtau"
    ),
    RegionData(
        "550000000", "Павлодар облысы", "Павлодарская область", "Pavlodar Region", _ALMATY_TZ
    ),
    RegionData(
        "590000000",
        "Солтүстік Қазақстан облысы",
        "Северо-Казахстанская область",
        "North Kazakhstan Region",
        _ALMATY_TZ,
    ),
    RegionData(
        "610000000", "Түркістан облысы", "Туркестанская область", "Turkistan Region", _ALMATY_TZ
    ),
    RegionData(
        "630000000",
        "Шығыс Қазақстан облысы",
        "Восточно-Казахстанская область",
        "East Kazakhstan Region",
        _ALMATY_TZ,
    ),
    RegionData("710000000", "Нұр-Сұлтан қаласы", "город Нур-Султан", "Nur-Sultan", _ALMATY_TZ),
    RegionData("750000000", "Алматы қаласы", "город Алматы", "Almaty", _ALMATY_TZ),
    RegionData("790000000", "Шымкент қаласы", "город Шымкент", "Shymkent", _ALMATY_TZ),
)

_REGIONS_BY_PREFIX: dict[str, RegionData] = {region.kato[:2]: region for region in REGIONS_2022}


def region_for_kato(kato: str) -> RegionData:
    """The 2022 region a KATO code belongs to, by its first two digits; KeyError if none."""
    region = _REGIONS_BY_PREFIX.get(kato.strip()[:2])
    if region is None:
        raise KeyError(kato)
    return region


_RENAMED_2022 = {
    "710000000": RegionData("710000000", "Астана қаласы", "город Астана", "Astana", _ALMATY_TZ),
}
_NEW_SINCE_2022 = (
    RegionData("100000000", "Абай облысы", "область Абай", "Abai Region", _ALMATY_TZ),
    RegionData("330000000", "Жетісу облысы", "область Жетісу", "Zhetysu Region", _ALMATY_TZ),
    RegionData("620000000", "Ұлытау облысы", "область Ұлытау", "Ulytau Region", _ALMATY_TZ),
)

REGIONS_2026: tuple[RegionData, ...] = tuple(
    sorted(
        (*(_RENAMED_2022.get(region.kato, region) for region in REGIONS_2022), *_NEW_SINCE_2022),
        key=lambda region: region.kato,
    )
)

MAPS: dict[str, tuple[RegionData, ...]] = {
    "kz-2022": REGIONS_2022,
    "kz-2026": REGIONS_2026,
}

MAP_TITLES: dict[str, str] = {
    "kz-2022": "Kazakhstan as of June 2022 (17 regions, Nur-Sultan)",
    "kz-2026": "Kazakhstan as of March 2026 (20 regions, Astana)",
}
