"""The sandbox provider: a fixed inventory of fictional numbers, so the demo runs with no credentials.

Numbers come from fictional ranges where the phonenumbers library accepts them: 555-01xx in the US,
Ofcom's drama ranges in the UK (020 7946 0xxx, 0161 496 0xxx, 0808 157 0xxx). Ofcom's drama mobile
range (07700 900xxx) fails phonenumbers' validation, so UK mobiles use 07400 1234xx.

An account's state (what it holds, its orders and calls) lives in a SandboxStore that the adapter is
given: Dialtone gives it the database (providers/sandbox/store.py), so web and workers, before and after
a restart, see one account, as they would at a real provider. This module stays free of Django like the
other adapters. Each account has the whole inventory to itself; refs are "SB" + the number's digits.

Its calls ring nobody, so their outcome is known when they are placed (DialResult.status; call_status
says the same when asked): answered and completed after SANDBOX_CALL_S seconds, except to a destination
ending in 555-0486, busy (SIP 486), or in 555-0408, no answer (SIP 408), so a demo campaign shows its
retries.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

from providers.adapters import errors
from providers.adapters.base import (
    LIST_MAX_ITEMS,
    AccountInfo,
    AvailableNumber,
    CallStatus,
    Capabilities,
    DialResult,
    NumberSearch,
    OwnedList,
    OwnedNumber,
    ProviderAdapter,
    ProviderError,
    Purchase,
    Reputation,
    Routing,
)
from providers.adapters.compliance import Bundle, Requirements

US_AREAS = (
    ("415", "San Francisco", "CA"),
    ("212", "New York", "NY"),
    ("312", "Chicago", "IL"),
    ("512", "Austin", "TX"),
    ("646", "New York", "NY"),
    ("737", "Austin", "TX"),
    ("206", "Seattle", "WA"),
    ("617", "Boston", "MA"),
    ("305", "Miami", "FL"),
    ("310", "Los Angeles", "CA"),
)
US_TOLL_FREE = ("800", "888", "877", "866", "855", "844", "833")
# Everything up to the last two digits of a ten-digit UK national number.
GB_AREAS = (
    ("20794601", "London"),
    ("16149601", "Manchester"),
    ("12149601", "Birmingham"),
    ("11349601", "Leeds"),
    ("11749601", "Bristol"),
    ("13149601", "Edinburgh"),
    ("14149601", "Glasgow"),
)
GB_MOBILE = "74001234"
GB_TOLL_FREE = "80815701"

MONTHLY_USD = {
    ("US", "local"): Decimal("1.15"),
    ("US", "toll_free"): Decimal("2.15"),
    ("GB", "local"): Decimal("1.00"),
    ("GB", "mobile"): Decimal("1.15"),
    ("GB", "toll_free"): Decimal("2.50"),
}
VOICE_AND_SMS = Capabilities(voice=True, sms=True)
VOICE_ONLY = Capabilities(voice=True, sms=False)
# What the sandbox asks before purchase, so the demo shows both cases: UK local numbers need a bundle with
# an address and the account has one approved; UK mobiles need a bundle and the account has none.
REQUIREMENTS = {
    ("GB", "local"): Requirements(
        "GB", "local", bundle=True, address=True, details=("Business name", "Address in the number's area")
    ),
    ("GB", "mobile"): Requirements("GB", "mobile", bundle=True, details=("Business registration",)),
}
APPROVED = {("GB", "local"): (Bundle(id="SBBU-GB-LOCAL", label="Sandbox Ltd, London (approved)"),)}
# Every new sandbox account already owns these, so "link a number you own" has something to show.
STARTER_NUMBERS = ("+14155550199", "+442079460199")


@dataclass(frozen=True)
class Listing:
    e164: str
    kind: str
    locality: str | None
    region: str | None
    country: str
    capabilities: Capabilities
    area_code: str | None = None

    def offer(self) -> AvailableNumber:
        return AvailableNumber(
            e164=self.e164,
            locality=self.locality,
            region=self.region,
            country=self.country,
            capabilities=self.capabilities,
            monthly_price=MONTHLY_USD[(self.country, self.kind)],
            currency="USD",
        )


def _listings() -> Iterator[Listing]:
    # Interleaved by suffix, so a search without an area code shows every city first.
    for nn in range(100):
        for npa, city, state in US_AREAS:
            yield Listing(f"+1{npa}55501{nn:02d}", "local", city, state, "US", VOICE_AND_SMS, npa)
        for npa in US_TOLL_FREE:
            yield Listing(f"+1{npa}55501{nn:02d}", "toll_free", None, None, "US", VOICE_AND_SMS, npa)
        for prefix, city in GB_AREAS:
            yield Listing(f"+44{prefix}{nn:02d}", "local", city, None, "GB", VOICE_ONLY)
        yield Listing(f"+44{GB_MOBILE}{nn:02d}", "mobile", None, None, "GB", VOICE_AND_SMS)
        yield Listing(f"+44{GB_TOLL_FREE}{nn:02d}", "toll_free", None, None, "GB", VOICE_ONLY)


@cache
def inventory() -> dict[str, Listing]:
    """Every number the sandbox sells, in a fixed order, keyed by E.164."""
    return {listing.e164: listing for listing in _listings()}


@dataclass(frozen=True)
class SandboxCall:
    call_id: str
    from_e164: str
    to_e164: str
    webhook_url: str
    reference: str


SANDBOX_CALL_S = 12
_ENDINGS = {"5550486": ("busy", "SIP 486 Busy Here"), "5550408": ("no-answer", "SIP 408 Request Timeout")}


def sandbox_status(call_id: str, to_e164: str) -> CallStatus:
    """How a sandbox call to `to_e164` goes (the module says the rule)."""
    status, cause = _ENDINGS.get(to_e164[-7:], ("completed", ""))
    duration = SANDBOX_CALL_S if status == "completed" else 0
    return CallStatus(call_id=call_id, status=status, duration_s=duration, cause=cause)


class SandboxStore(Protocol):
    """One sandbox account's records. Each method is atomic on its own, across processes."""

    def numbers(self) -> dict[str, Routing]:
        """Every number the account holds, by E.164, in order."""

    def number(self, e164: str) -> Routing | None:
        """The routing of one number the account holds; None when it does not hold it."""

    def add(self, e164: str, *, reference: str) -> bool:
        """Hold `e164` and record the order; False (and nothing recorded) when the account holds it already."""

    def reroute(self, e164: str, routing: Routing) -> Routing | None:
        """Replace the number's routing and return the one it had; None when the account does not hold it."""

    def remove(self, e164: str) -> None: ...

    def ordered(self, reference: str) -> list[str]:
        """The numbers bought with `reference`."""

    def call_to(self, call_id: str) -> str | None:
        """The destination of a call the account placed; None for a call it never placed."""

    def record_call(self, call: SandboxCall) -> bool:
        """Record a placed call; False (nothing recorded) when the account does not hold its caller ID."""


def ref_for(e164: str) -> str:
    return "SB" + e164.lstrip("+")


def _e164_of(ref: str) -> str | None:
    e164 = "+" + ref.removeprefix("SB")
    return e164 if ref.startswith("SB") and e164 in inventory() else None


def _call_not_found() -> ProviderError:
    return ProviderError("not_found", "The sandbox placed no call with that id.", status=404)


def _not_found() -> ProviderError:
    return ProviderError("not_found", errors.NOT_ON_ACCOUNT.format(provider="The sandbox"), status=404)


def _active(e164: str, reference: str | None = None) -> Purchase:
    """Sandbox purchases are synchronous: the order id is the number's ref, like Twilio's."""
    return Purchase(
        status="active", e164=e164, order_id=ref_for(e164), ref=ref_for(e164), reference=reference
    )


class SandboxAdapter(ProviderAdapter):
    key = "sandbox"
    name = "Sandbox"
    tells_call_status = True

    def __init__(
        self,
        credentials: Mapping[str, Any],
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        store: SandboxStore | None = None,
    ):
        # Credentials, base_url and timeout are accepted for a uniform factory; nothing leaves Dialtone.
        # Without a store the adapter can still verify and search (what connecting needs).
        self._store = store

    @property
    def store(self) -> SandboxStore:
        if self._store is None:
            raise RuntimeError("this sandbox adapter has no account: build it with connection_adapter()")
        return self._store

    def verify(self) -> AccountInfo:
        return AccountInfo(account_id="sandbox", name="Sandbox", status="active")

    def _search(self, query: NumberSearch) -> list[AvailableNumber]:
        held = self._store.numbers() if self._store else {}
        found = []
        for listing in inventory().values():
            if self._matches(listing, query) and listing.e164 not in held:
                found.append(listing.offer())
                if len(found) == query.limit:
                    break
        return found

    @staticmethod
    def _matches(listing: Listing, query: NumberSearch) -> bool:
        return (
            listing.country == query.country
            and listing.kind == query.kind
            and (query.area_code is None or listing.area_code == query.area_code)
            and (query.contains is None or query.contains in listing.e164)
        )

    def requirements(self, country: str, kind: str) -> Requirements:
        return REQUIREMENTS.get((country, kind)) or Requirements(country, kind)

    def compliance(self, country: str, kind: str) -> tuple[Bundle, ...]:
        return APPROVED.get((country, kind), ())

    def buy(self, e164: str, *, reference: str, bundle: Bundle | None = None) -> Purchase:
        listing = inventory().get(e164)
        if listing is None:
            raise ProviderError(
                "not_in_inventory", "The sandbox does not sell that number: pick one from the search."
            )
        approved = {b.id for b in self.compliance(listing.country, listing.kind)}
        if self.requirements(listing.country, listing.kind).any and (
            bundle is None or bundle.id not in approved
        ):
            raise ProviderError("bundle_required", errors.REGULATORY, status=400)
        if not self.store.add(e164, reference=reference):
            # A number this account already holds (bought by another tab, or detached) is not for sale.
            raise ProviderError("not_available", errors.NUMBER_TAKEN, status=400)
        return _active(e164, reference)

    def order_status(self, order_id: str) -> Purchase:
        e164 = _e164_of(order_id)
        if e164 is None or self.find_owned(e164) is None:
            raise _not_found()
        return _active(e164)

    def find_orders(self, reference: str) -> list[Purchase]:
        return [_active(e164, reference) for e164 in self.store.ordered(reference)]

    def find_owned(self, e164: str) -> OwnedNumber | None:
        routing = self.store.number(e164)  # one row: numbers reconcile asks this of every number past 1000
        return None if routing is None else OwnedNumber(ref=ref_for(e164), e164=e164, routing=routing)

    def list_owned(self, *, max_items: int = LIST_MAX_ITEMS) -> OwnedList:
        owned = [OwnedNumber(ref=ref_for(e), e164=e, routing=r) for e, r in self.store.numbers().items()]
        return OwnedList.read([(owned, False)], max_items=max_items)

    def route_inbound(self, ref: str, webhook_url: str) -> Routing:
        return self._reroute(ref, Routing(voice_url=webhook_url, voice_method="POST"))

    def restore_routing(self, ref: str, previous: Routing) -> None:
        self._reroute(ref, previous)

    def release(self, ref: str) -> None:
        e164 = _e164_of(ref)
        if e164:
            self.store.remove(e164)  # a number already gone counts as released

    def dial(
        self,
        *,
        from_e164: str,
        to_e164: str,
        webhook_url: str,
        reference: str,
        within: float | None = None,
        status_url: str | None = None,
    ) -> DialResult:
        # Its calls ring nobody: their outcome is known at once (sandbox_status).
        call = SandboxCall(f"SBCA{uuid.uuid4().hex}", from_e164, to_e164, webhook_url, reference)
        if not self.store.record_call(call):
            raise ProviderError(
                "bad_caller_id", "The sandbox cannot call from that number: use a number on this account."
            )
        return DialResult(call_id=call.call_id, status=sandbox_status(call.call_id, to_e164))

    def call_status(self, call_id: str) -> CallStatus | None:
        to_e164 = self.store.call_to(call_id)
        if to_e164 is None:
            raise _call_not_found()
        return sandbox_status(call_id, to_e164)

    def reputation(self, e164: str, *, fresh: bool = False) -> Reputation:
        """A made-up feed, the same for a number every time (so the demo shows each level): about one
        number in ten high and flagged, two medium, the rest low."""
        if self.store.number(e164) is None:
            return Reputation.unknown(e164, "the sandbox account holds no such number")
        bucket = zlib.crc32(e164.encode()) % 10
        level = "high" if bucket == 0 else "medium" if bucket < 3 else "low"
        category = "Telemarketing" if level == "high" else ""
        return Reputation(
            e164, level, flagged=bool(category), category=category, checked_at=datetime.now(UTC)
        )

    def _reroute(self, ref: str, routing: Routing) -> Routing:
        e164 = _e164_of(ref)
        previous = self.store.reroute(e164, routing) if e164 else None
        if previous is None:
            raise _not_found()
        return previous
