"""What a country and number type require before purchase, and what an account holds to meet it. Free of
Django, like the rest of the contract (base.py).

Twilio calls the approved set of documents a regulatory bundle, Telnyx a requirement group: both are a
`Bundle` here. An address is said apart because some numbers need only one (Twilio's AddressSid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from providers.adapters.base import COUNTRY_NAMES, KIND_LABELS


@dataclass(frozen=True)
class Requirements:
    """What buying a `kind` number in `country` needs: a regulatory bundle, an address (inside the bundle
    where one is needed), and the provider's own words for each, shortened."""

    country: str
    kind: str
    bundle: bool = False
    address: bool = False
    details: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return self.bundle or self.address

    @property
    def what(self) -> str:
        """ "a regulatory bundle with an address", "an address", or "" when nothing is needed."""
        if self.bundle and self.address:
            return "an approved regulatory bundle with an address"
        if self.bundle:
            return "an approved regulatory bundle"
        return "an address" if self.address else ""

    def in_words(self) -> str:
        where = COUNTRY_NAMES.get(self.country, self.country)
        kind = KIND_LABELS.get(self.kind, self.kind)
        if not self.any:
            return f"{kind.capitalize()} numbers in {where} need no documents before purchase."
        return f"{kind.capitalize()} numbers in {where} need {self.what} before purchase."


@dataclass(frozen=True)
class Bundle:
    """An approved bundle (or address) of the account, usable for `country` and `kind`."""

    id: str
    label: str
    kind: Literal["bundle", "address"] = "bundle"

    @property
    def value(self) -> str:
        """How a form names it: "bundle:BU…" or "address:AD…"."""
        return f"{self.kind}:{self.id}"


def short(text: object, most: int = 160) -> str:
    """A provider's sentence we show: a string, trimmed, at most `most` characters."""
    if not isinstance(text, str):
        return ""
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"
