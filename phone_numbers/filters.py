"""The Numbers page's search and filters, parsed once from the query string."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.http import QueryDict

from phone_numbers.tags import tag_name_normalize

MAX_TAG_FILTERS = 10


@dataclass(frozen=True)
class NumberFilters:
    digits: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    show_finished: bool = False

    @classmethod
    def from_query(cls, query: QueryDict) -> NumberFilters:
        # "+1 (415) 555" searches 1415555: people paste numbers in every format.
        digits = re.sub(r"\D", "", query.get("q", ""))[:15]
        tags = tuple(dict.fromkeys(n for t in query.getlist("tag") if (n := tag_name_normalize(t))))
        tags = tags[:MAX_TAG_FILTERS]
        return cls(digits=digits, tags=tags, show_finished=query.get("history") == "1")

    @property
    def active(self) -> bool:
        return bool(self.digits or self.tags or self.show_finished)

    def query_string(self, **changes) -> str:
        params = {"q": self.digits, "tag": list(self.tags), "history": "1" if self.show_finished else ""}
        params.update(changes)
        return urlencode({k: v for k, v in params.items() if v}, doseq=True)

    def without_tag(self, tag: str) -> str:
        return self.query_string(tag=[t for t in self.tags if t != tag])
