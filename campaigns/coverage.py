"""A campaign's coverage: its destinations by area code, how many of its caller IDs share each area, and
for each area without one (a gap) what the buy flow needs to search numbers there.

An area is a NANP area code (NPA: "+1 415") or, elsewhere, a country and its geographic area code ("+44 20");
numbers without one (mobiles, non-geographic) are one area per country. The grouping is one SQL aggregate
over prefixes (+1 and three digits; else "+" and seven digits, room for any country code with its longest
area code), so a 100,000-destination list costs one GROUP BY, then one phonenumbers parse per prefix.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers
from django.db.models import Case, CharField, Count, Min, QuerySet, When
from django.db.models.functions import Left
from phonenumbers import PhoneNumberType

from campaigns import area_names
from campaigns.models import Campaign, CampaignCall
from campaigns.pools import campaign_pool
from providers.adapters.base import OFFERED_KINDS

NANP_PREFIX, OTHER_PREFIX = len("+1415"), len("+4420794")


@dataclass(frozen=True, order=True)
class Area:
    """Where a number is, as close as its digits say: country (ISO code, or "" when unknown) and area code
    ("" for numbers without a geographic one)."""

    calling_code: int
    code: str
    country: str = field(compare=False)
    place: str = field(compare=False, default="")
    toll_free: bool = field(compare=False, default=False)

    @property
    def label(self) -> str:
        if not self.calling_code:
            return "Other"
        return f"+{self.calling_code} {self.code}" if self.code else f"+{self.calling_code}"

    @property
    def where(self) -> str:
        return ", ".join(filter(None, [self.place, self.country]))

    @property
    def nanp(self) -> bool:
        return self.calling_code == 1

    def buy_query(self) -> dict[str, str] | None:
        """The buy modal's search for numbers here (country, type, area code or digits); None where
        Dialtone sells none (another country, Canada...)."""
        if self.country not in OFFERED_KINDS:
            return None
        if self.toll_free:
            return {"country": self.country, "kind": "toll_free"}
        if self.nanp:
            return {"country": self.country, "kind": "local", "area_code": self.code}
        if self.code:
            return {"country": self.country, "kind": "local", "contains": f"+{self.calling_code}{self.code}"}
        kind = "mobile" if "mobile" in OFFERED_KINDS[self.country] else "local"
        return {"country": self.country, "kind": kind}


@lru_cache(maxsize=4096)
def area_of(prefix: str) -> Area:
    """The area of a number, or of a NANP prefix ("+1415": completed with a valid exchange and line)."""
    try:
        number = phonenumbers.parse(prefix + "5550100" if len(prefix) == NANP_PREFIX else prefix)
    except phonenumbers.NumberParseException:
        return Area(0, "", "", "unreadable numbers")
    calling_code = number.country_code
    country = phonenumbers.region_code_for_number(number) or (
        phonenumbers.region_code_for_country_code(calling_code)
    )
    country = "" if country == "ZZ" else country
    national = phonenumbers.national_significant_number(number)
    if calling_code == 1:
        code = national[:3]
        toll_free = phonenumbers.number_type(number) == PhoneNumberType.TOLL_FREE
        return Area(1, code, country, "toll-free" if toll_free else area_names.NANP.get(code, ""), toll_free)
    length = phonenumbers.length_of_geographical_area_code(number)
    if length:
        return Area(calling_code, national[:length], country, _place(calling_code, national))
    return Area(calling_code, "", country, "mobile and non-geographic")


def _place(calling_code: int, national: str) -> str:
    """The town of a UK number (its longest known prefix); elsewhere none is kept (area_names.py)."""
    if calling_code != 44:
        return ""
    return next((area_names.GB[national[:n]] for n in range(6, 1, -1) if national[:n] in area_names.GB), "")


@dataclass(frozen=True)
class AreaCoverage:
    area: Area
    destinations: int
    caller_ids: int

    @property
    def gap(self) -> bool:
        return self.caller_ids == 0


@dataclass(frozen=True)
class Coverage:
    rows: list[AreaCoverage]  # most destinations first
    destinations: int
    caller_ids: int

    @property
    def gaps(self) -> list[AreaCoverage]:
        return [r for r in self.rows if r.gap]

    @property
    def covered(self) -> int:
        """Destinations with a caller ID of their own area in the pool."""
        return sum(r.destinations for r in self.rows if not r.gap)


def campaign_coverage(campaign: Campaign) -> Coverage:
    """The campaign's destinations and caller IDs by area: two GROUP BY queries."""
    destinations = _by_area(CampaignCall.objects.filter(campaign=campaign), "to_e164")
    pool = _by_area(campaign_pool(campaign), "e164")
    rows = [
        AreaCoverage(area=area, destinations=n, caller_ids=pool.get(area, 0))
        for area, n in destinations.items()
    ]
    rows.sort(key=lambda r: (-r.destinations, r.area))
    return Coverage(rows=rows, destinations=sum(destinations.values()), caller_ids=sum(pool.values()))


def _by_area(queryset: QuerySet, column: str) -> dict[Area, int]:
    prefix = Case(
        When(**{f"{column}__startswith": "+1"}, then=Left(column, NANP_PREFIX)),
        default=Left(column, OTHER_PREFIX),
        output_field=CharField(),
    )
    groups = (
        queryset.order_by()
        .annotate(prefix=prefix)
        .values("prefix")
        .annotate(n=Count("pk"), sample=Min(column))
        .values_list("prefix", "sample", "n")
    )
    counts: dict[Area, int] = defaultdict(int)
    for prefix_, sample, n in groups:
        # A NANP prefix is its area; a longer one is classified by a number of its own (the whole number
        # names the country where "+4420794" alone might not).
        counts[area_of(prefix_ if prefix_.startswith("+1") else sample)] += n
    return counts
