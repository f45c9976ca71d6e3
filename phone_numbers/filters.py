"""The Numbers page's search and filters, parsed once from the query string."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlencode

import phonenumbers
from django.http import QueryDict

from phone_numbers.models import Health
from phone_numbers.tags import tag_name_normalize

MAX_TAG_FILTERS = 10
LETTERS = "Search by digits: letters aren't part of phone numbers."


@dataclass(frozen=True)
class NumberFilters:
    digits: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    show_finished: bool = False
    health: str = ""  # one of Health's values, or "" for any
    # The search as typed when it can't be a phone number: it stays in the box and the URL, and the page
    # says why nothing was searched.
    refused: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> NumberFilters:
        text = query.get("q", "").strip()[:40]
        tags = tuple(dict.fromkeys(n for t in query.getlist("tag") if (n := tag_name_normalize(t))))
        health = query.get("health", "")
        common = {
            "tags": tags[:MAX_TAG_FILTERS],
            "show_finished": query.get("history") == "1",
            "health": health if health in Health.values else "",  # an unknown one filters nothing
        }
        if any(ch.isalpha() for ch in text):
            return cls(refused=text, **common)
        # "+1 (415) 555" searches 1415555: people paste numbers in every format.
        digits = "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())
        return cls(digits=digits[:15], **common)

    @property
    def search(self) -> str:
        """What the search box and the URL show: the digits searched, or the text that could not be."""
        return self.refused or self.digits

    @property
    def search_error(self) -> str:
        return LETTERS if self.refused else ""

    @property
    def active(self) -> bool:
        return bool(self.digits or self.refused or self.tags or self.show_finished or self.health)

    @property
    def health_label(self) -> str:
        return Health(self.health).label if self.health else ""

    @property
    def national_readings(self) -> list[tuple[tuple[int, ...], str]]:
        """The digits read in national format: (country codes, national number) for each trunk prefix
        they start with. "020 7946" is 0 + 20 7946, so +44 20 7946… (and any other country dialling 0
        first); "1 415 555" is +1 415 555…. Every country is read, not only the workspace's: a reading for
        a country it holds no number of matches nothing, so the answer is the same without a query."""
        return [
            (codes, self.digits[len(prefix) :])
            for prefix, codes in _trunk_prefixes().items()
            if self.digits.startswith(prefix) and len(self.digits) > len(prefix)
        ]

    def query_string(self, **changes) -> str:
        params = {
            "q": self.search,
            "tag": list(self.tags),
            "history": "1" if self.show_finished else "",
            "health": self.health,
        }
        params.update(changes)
        return urlencode({k: v for k, v in params.items() if v}, doseq=True)

    def without_tag(self, tag: str) -> str:
        return self.query_string(tag=[t for t in self.tags if t != tag])


@cache
def _trunk_prefixes() -> dict[str, tuple[int, ...]]:
    """National (trunk) prefix -> the country codes dialled after it at home: "0" -> 44, 49, 33…"""
    codes = defaultdict(set)
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata.national_prefix:
            codes[metadata.national_prefix].add(metadata.country_code)
    return {prefix: tuple(sorted(found)) for prefix, found in codes.items()}
