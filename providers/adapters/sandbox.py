"""The sandbox provider: a deterministic in-process inventory, so the demo runs with no credentials.

Numbers come from fictional ranges where the phonenumbers library accepts them: 555-01xx in the US,
Ofcom's drama ranges in the UK (020 7946 0xxx, 0161 496 0xxx, 0808 157 0xxx). Ofcom's drama mobile
range (07700 900xxx) fails phonenumbers' validation, so UK mobiles use 07400 1234xx.

State lives in a module-level dict keyed by the account name: tests isolate themselves by account.
Refs are derived from the number ("SB" + digits), so another process (a worker) can act on a number
this process sold without sharing memory.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from typing import Any

from providers.adapters import errors
from providers.adapters.base import (
    AccountInfo,
    AvailableNumber,
    Capabilities,
    DialResult,
    NumberSearch,
    OwnedNumber,
    ProviderAdapter,
    ProviderError,
    Purchase,
    Routing,
)

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


@dataclass
class SandboxCall:
    call_id: str
    from_e164: str
    to_e164: str
    webhook_url: str
    reference: str


@dataclass
class _Account:
    owned: dict[str, OwnedNumber] = field(default_factory=dict)  # by ref
    purchases: list[Purchase] = field(default_factory=list)
    calls: list[SandboxCall] = field(default_factory=list)
    released: set[str] = field(default_factory=set)


_accounts: dict[str, _Account] = {}
_lock = threading.Lock()


def ref_for(e164: str) -> str:
    return "SB" + e164.lstrip("+")


def _account(name: str) -> _Account:
    if name not in _accounts:
        account = _Account()
        for e164 in STARTER_NUMBERS:
            account.owned[ref_for(e164)] = OwnedNumber(ref=ref_for(e164), e164=e164, routing=Routing())
        _accounts[name] = account
    return _accounts[name]


def placed_calls(account: str) -> list[SandboxCall]:
    """The calls this process placed for a sandbox account (the demo and tests look at them)."""
    with _lock:
        return list(_account(account).calls)


def reset(account: str | None = None) -> None:
    with _lock:
        if account is None:
            _accounts.clear()
        else:
            _accounts.pop(account, None)


def _not_found() -> ProviderError:
    return ProviderError("not_found", errors.NOT_ON_ACCOUNT.format(provider="The sandbox"), status=404)


class SandboxAdapter(ProviderAdapter):
    key = "sandbox"
    name = "Sandbox"

    def __init__(self, credentials: Mapping[str, Any], *, base_url: str | None = None, timeout: float = 10.0):
        # base_url and timeout are accepted for a uniform factory; nothing leaves the process.
        self._name = str(credentials.get("account") or "sandbox").strip()

    def verify(self) -> AccountInfo:
        return AccountInfo(account_id=self._name, name=f"Sandbox ({self._name})", status="active")

    def _search(self, query: NumberSearch) -> list[AvailableNumber]:
        with _lock:
            taken = {number.e164 for number in _account(self._name).owned.values()}
        found = []
        for listing in inventory().values():
            if self._matches(listing, query) and listing.e164 not in taken:
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

    def buy(self, e164: str, *, reference: str) -> Purchase:
        if e164 not in inventory():
            raise ProviderError(
                "not_in_inventory", "The sandbox does not sell that number: pick one from the search."
            )
        with _lock:
            account = _account(self._name)
            ref = ref_for(e164)
            if ref in account.owned:
                raise ProviderError("taken", errors.NUMBER_TAKEN, status=400)
            account.owned[ref] = OwnedNumber(ref=ref, e164=e164, routing=Routing())
            account.released.discard(ref)
            purchase = Purchase(status="active", e164=e164, order_id=ref, ref=ref, reference=reference)
            account.purchases.append(purchase)
        return purchase

    def order_status(self, order_id: str) -> Purchase:
        owned = self._owned(order_id)
        return Purchase(status="active", e164=owned.e164, order_id=owned.ref, ref=owned.ref)

    def find_orders(self, reference: str) -> list[Purchase]:
        with _lock:
            return [p for p in _account(self._name).purchases if p.reference == reference]

    def find_owned(self, e164: str) -> OwnedNumber | None:
        with _lock:
            return _account(self._name).owned.get(ref_for(e164))

    def list_owned(self) -> list[OwnedNumber]:
        with _lock:
            return sorted(_account(self._name).owned.values(), key=lambda number: number.e164)

    def route_inbound(self, ref: str, webhook_url: str) -> Routing:
        previous = self._owned(ref).routing
        self._set_routing(ref, Routing(voice_url=webhook_url, voice_method="POST"))
        return previous

    def restore_routing(self, ref: str, previous: Routing) -> None:
        self._owned(ref)
        self._set_routing(ref, previous)

    def release(self, ref: str) -> None:
        with _lock:
            account = _account(self._name)
            account.owned.pop(ref, None)  # already gone counts as released
            account.released.add(ref)

    def dial(self, *, from_e164: str, to_e164: str, webhook_url: str, reference: str) -> DialResult:
        if from_e164 not in inventory():
            raise ProviderError(
                "bad_caller_id", "The sandbox cannot call from that number: use a sandbox number."
            )
        with _lock:
            calls = _account(self._name).calls
            call_id = f"SBCA{uuid.uuid4().hex}"
            calls.append(SandboxCall(call_id, from_e164, to_e164, webhook_url, reference))
        return DialResult(call_id=call_id)

    def _owned(self, ref: str) -> OwnedNumber:
        """The number behind `ref`. A sandbox number sold by another process is adopted here."""
        with _lock:
            account = _account(self._name)
            if ref not in account.owned:
                e164 = "+" + ref.removeprefix("SB")
                if not ref.startswith("SB") or e164 not in inventory() or ref in account.released:
                    raise _not_found()
                account.owned[ref] = OwnedNumber(ref=ref, e164=e164, routing=Routing())
            return account.owned[ref]

    def _set_routing(self, ref: str, routing: Routing) -> None:
        with _lock:
            owned = _account(self._name).owned
            owned[ref] = replace(owned[ref], routing=routing)
