"""The provider contract: what Dialtone asks of Twilio, Telnyx and the sandbox. Free of Django.

Everything crossing this boundary is a frozen dataclass; every failure is ProviderError (permanent)
or ProviderUnavailable (transient). Adapters never let an SDK exception through.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from providers.adapters.errors import ProviderError, ProviderUnavailable

if TYPE_CHECKING:
    from providers.adapters.compliance import Bundle, Requirements

__all__ = [
    "AccountInfo",
    "AvailableNumber",
    "CallLookup",
    "CallStatus",
    "Capabilities",
    "DialResult",
    "NumberSearch",
    "OwnedList",
    "OwnedNumber",
    "Price",
    "ProviderAdapter",
    "ProviderError",
    "ProviderUnavailable",
    "Purchase",
    "Reputation",
    "Routing",
]

Kind = Literal["local", "mobile", "toll_free"]
PurchaseStatus = Literal["active", "pending", "failed"]

# What can be bought where. The US has no separate mobile ranges; the UK does.
OFFERED_KINDS: dict[str, tuple[str, ...]] = {
    "US": ("local", "toll_free"),
    "GB": ("local", "mobile", "toll_free"),
}
# Listings read at most LIST_MAX_ITEMS, LIST_PAGE_SIZE a page, so at most LIST_MAX_PAGES requests: an
# account or a provider that keeps offering pages must not hold a person or a worker forever. A capped
# listing says so (OwnedList.truncated).
LIST_MAX_ITEMS = 1000
LIST_PAGE_SIZE = 100
LIST_MAX_PAGES = LIST_MAX_ITEMS // LIST_PAGE_SIZE + 1
# Reconciling an account reads the whole of it, in the largest pages the provider serves, rather than
# asking for each number past a person's listing alone (10,000 numbers: 10 requests, not 9,000).
RECONCILE_LIST_MAX_ITEMS = 100_000
KIND_LABELS = {"local": "local", "mobile": "mobile", "toll_free": "toll-free"}
COUNTRY_NAMES = {"US": "the US", "GB": "the UK"}


@dataclass(frozen=True)
class AccountInfo:
    account_id: str
    name: str
    status: str


@dataclass(frozen=True)
class Capabilities:
    voice: bool
    sms: bool


@dataclass(frozen=True)
class Price:
    amount: Decimal
    currency: str  # ISO 4217, upper case

    @classmethod
    def read(cls, amount: object, currency: object) -> Price | None:
        """A price from a provider's answer, or None where it gives none a person could rely on: absent or
        null, not a finite amount of at least zero, or in no currency."""
        if not isinstance(amount, str | int | float | Decimal) or not isinstance(currency, str):
            return None
        try:
            value = Decimal(str(amount).strip())
        except InvalidOperation:
            return None
        if not value.is_finite() or value < 0 or not currency.strip():
            return None
        return cls(value, currency.strip().upper())


@dataclass(frozen=True)
class AvailableNumber:
    e164: str
    locality: str | None
    region: str | None
    country: str
    capabilities: Capabilities
    monthly_price: Decimal | None = None  # None where the provider's search does not say
    currency: str | None = None


@dataclass(frozen=True)
class Purchase:
    """A bought (active), still-ordering (pending) or refused (failed) number.

    `ref` is the provider's id of the number (Twilio PN sid, Telnyx phone number id); it is None until
    the number is active. `order_id` is what `order_status` polls: the Telnyx number order id, or for a
    synchronous provider the number's own id.
    """

    status: PurchaseStatus
    e164: str
    order_id: str
    ref: str | None = None
    reference: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class Routing:
    """Where a number's inbound calls go at the provider, kept so a detach can put it back.

    Twilio uses voice_url/voice_method, or an application or SIP trunk that overrides them;
    Telnyx routes through the application (connection) the number is assigned to.
    """

    voice_url: str | None = None
    voice_method: str | None = None
    application_sid: str | None = None
    trunk_sid: str | None = None
    connection_id: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Routing:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class OwnedNumber:
    ref: str
    e164: str
    routing: Routing


@dataclass(frozen=True)
class OwnedList:
    """The account's numbers, at most LIST_MAX_ITEMS of them; `truncated` when the account has more."""

    numbers: tuple[OwnedNumber, ...]
    truncated: bool = False

    @classmethod
    def read(
        cls, pages: Iterable[tuple[list[OwnedNumber], bool]], *, max_items: int = LIST_MAX_ITEMS
    ) -> OwnedList:
        numbers, truncated = read_pages(pages, max_items=max_items)
        return cls(tuple(numbers), truncated=truncated)

    def __iter__(self) -> Iterator[OwnedNumber]:
        return iter(self.numbers)

    def __len__(self) -> int:
        return len(self.numbers)


def page_size_for(max_items: int, provider_max: int) -> int:
    """The page size to list up to `max_items` in: LIST_PAGE_SIZE for a person's listing, the provider's
    largest page for more (reconcile)."""
    return LIST_PAGE_SIZE if max_items <= LIST_MAX_ITEMS else provider_max


def read_pages[T](
    pages: Iterable[tuple[list[T], bool]], *, max_items: int = LIST_MAX_ITEMS, page_size: int = LIST_PAGE_SIZE
) -> tuple[list[T], bool]:
    """The items of a paged listing, each page given with whether the provider offers another, read lazily
    up to `max_items` items and the pages they fill (plus one: a provider may serve short pages); and
    whether it was cut short there."""
    max_pages = -(-max_items // page_size) + 1
    items: list[T] = []
    for read, (page, more) in enumerate(pages, start=1):
        items.extend(page)
        if len(items) > max_items or (more and read >= max_pages):
            return items[:max_items], True
        if not more:
            break
    return items, False


@dataclass(frozen=True)
class DialResult:
    call_id: str
    # How the call went, when the provider knows at once (the sandbox, whose calls ring nobody); others
    # report it later, to the status callback or when asked (call_status).
    status: CallStatus | None = None


@dataclass(frozen=True)
class CallLookup:
    """What the provider says about a dial whose answer we lost (`ProviderAdapter.find_call`).

    placed: the provider has the call; `call_id` is its id, as `dial` would have returned it.
    not_placed: the provider proves it never took the dial, so dialing again calls nobody twice.
    unknown: it can prove neither. `why` tells the person who reviews the call; `ask_again` says
    whether asking later may settle it (a listing that may still be catching up), or never will.
    """

    outcome: Literal["placed", "not_placed", "unknown"]
    call_id: str | None = None
    why: str = ""
    ask_again: bool = False

    @classmethod
    def found(cls, call_id: str) -> CallLookup:
        return cls("placed", call_id=call_id)

    @classmethod
    def absent(cls) -> CallLookup:
        return cls("not_placed")

    @classmethod
    def cannot_tell(cls, why: str, *, ask_again: bool = False) -> CallLookup:
        return cls("unknown", why=why, ask_again=ask_again)


# A call's progress as the providers' status callbacks name it (Twilio's words; TeXML uses the same), and
# its rank: an event never moves a call back to a lower one, so a "ringing" that arrives after "completed"
# changes nothing. The five final ones share the top rank: the first final word is the call's.
STATUS_RANKS = {
    "queued": 10,
    "initiated": 10,
    "ringing": 20,
    "in-progress": 30,
    "answered": 30,
    "completed": 40,
    "busy": 40,
    "no-answer": 40,
    "failed": 40,
    "canceled": 40,
}
FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


@dataclass(frozen=True)
class CallStatus:
    """Where a placed call stands at its provider: from a status callback (`read`) or from asking
    (`ProviderAdapter.call_status`). `status` is one of STATUS_RANKS, "answered" for "in-progress"."""

    call_id: str
    status: str
    duration_s: int | None = None  # final statuses: how long the call was connected
    at: datetime | None = None  # when the provider says it happened (timezone-aware)
    answered_at: datetime | None = None
    cause: str = ""  # why it ended, in the provider's words (failed, busy: its error or SIP code)

    @property
    def rank(self) -> int:
        return STATUS_RANKS[self.status]

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def answered(self) -> bool | None:
        """Whether a person picked up: yes once in progress or completed (Twilio's "completed" is an
        answered call that ended), no for the other final statuses, None while it rings."""
        if self.status in ("answered", "completed"):
            return True
        return False if self.final else None

    @classmethod
    def read(cls, params: Mapping[str, str]) -> CallStatus | None:
        """A status callback's form parameters (Twilio's, and TeXML's Twilio-compatible ones), or None
        when they name no call or no status we know: the caller answers 400 and records nothing."""
        call_id = _short(params.get("CallSid"), 80)
        status = _short(params.get("CallStatus"), 20).lower()
        if not call_id or status not in STATUS_RANKS:
            return None
        status = "answered" if status == "in-progress" else status
        duration = _short(params.get("CallDuration"), 9)
        at = _when(_short(params.get("Timestamp"), 64))
        final = status in FINAL_STATUSES
        seconds = int(duration) if final and duration.isascii() and duration.isdigit() else None
        answered_at = None
        if status == "answered":
            answered_at = at
        elif status == "completed" and at is not None and seconds is not None:
            answered_at = at - timedelta(seconds=seconds)  # it ended `seconds` after it was picked up
        return cls(call_id, status, seconds, at, answered_at, _cause(params) if final else "")


def _short(value: object, most: int) -> str:
    """A parameter we may store or look up: a string without NUL bytes, at most `most` characters."""
    return value.strip() if isinstance(value, str) and "\x00" not in value and len(value) <= most else ""


def _when(text: str) -> datetime | None:
    """RFC 2822 (Twilio's, and Telnyx's documented) or ISO 8601 (Telnyx's examples), timezone-aware."""
    if not text:
        return None
    try:
        at = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            at = datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _cause(params: Mapping[str, str]) -> str:
    """Why a call ended, in the provider's words: its error, a SIP code other than 200, who hung up."""
    message, code = _short(params.get("ErrorMessage"), 200), _short(params.get("ErrorCode"), 12)
    if message or code:
        return f"{message} ({code})" if message and code else message or f"error {code}"
    sip = _short(params.get("SipResponseCode"), 3)
    if sip and sip != "200":
        return f"SIP {sip}"
    hangup = _short(params.get("HangupCause"), 60) or _short(params.get("HangupSource"), 60)
    return hangup.replace("_", " ")


REPUTATION_LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class Reputation:
    """What a provider's spam-likelihood feed says of one number (`ProviderAdapter.reputation`).

    level: its coarse spam risk, or "unknown" where the feed says nothing usable (not monitored yet, never
    refreshed, a value we don't know); `why` then says which. flagged: the feed files the number under a
    spam category (`category`). checked_at: when the feed last refreshed it (timezone-aware), if it says.
    """

    e164: str
    level: Literal["low", "medium", "high", "unknown"]
    flagged: bool = False
    category: str = ""
    checked_at: datetime | None = None
    why: str = ""

    @classmethod
    def unknown(cls, e164: str, why: str) -> Reputation:
        return cls(e164, "unknown", why=why)

    @classmethod
    def read(cls, e164: str, *, risk: object, category: object, refreshed: object) -> Reputation:
        """From a feed's three fields, each possibly absent, null or of a shape we don't know: those read
        as "not said", never as a crash."""
        label = _short(category, 80)
        at = refreshed if isinstance(refreshed, datetime) else _when(_short(refreshed, 64))
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        level = risk if isinstance(risk, str) and risk in REPUTATION_LEVELS else "unknown"
        why = "" if level != "unknown" else "the feed gave no spam risk for it yet"
        return cls(e164, level, flagged=bool(label), category=label, checked_at=at, why=why)


@dataclass(frozen=True)
class NumberSearch:
    """A validated search: country US/GB, a kind offered there, a 3-digit US area code, digits to contain."""

    country: str
    kind: str = "local"
    area_code: str | None = None
    contains: str | None = None
    limit: int = 20

    def __post_init__(self):
        if self.country not in OFFERED_KINDS:
            raise ValueError(f"country must be one of {sorted(OFFERED_KINDS)}, not {self.country!r}")
        if self.kind not in KIND_LABELS:
            raise ValueError(f"kind must be one of {sorted(KIND_LABELS)}, not {self.kind!r}")
        if not 1 <= self.limit <= 100:
            raise ValueError(f"limit must be between 1 and 100, not {self.limit}")
        if self.kind not in OFFERED_KINDS[self.country]:
            offered = " or ".join(KIND_LABELS[kind] for kind in OFFERED_KINDS[self.country])
            raise ProviderError(
                "invalid_search",
                f"There are no {KIND_LABELS[self.kind]} numbers to buy in {COUNTRY_NAMES[self.country]}: "
                f"pick {offered}.",
            )
        if self.area_code is not None and self.country != "US":
            raise ProviderError(
                "invalid_search", "Area codes apply to US numbers; search UK numbers by digits."
            )
        if self.area_code is not None and not re.fullmatch(r"[2-9]\d\d", self.area_code):
            raise ProviderError("invalid_search", "A US area code is three digits, like 415.")

    @classmethod
    def build(
        cls, *, country: str, kind: str, area_code: str | None, contains: str | None, limit: int
    ) -> NumberSearch:
        """From what a person typed: "(415)" and "+1 415" both mean the digits 415."""
        area = re.sub(r"\D", "", area_code or "") or None
        digits = re.sub(r"\D", "", contains or "") or None
        return cls(country=country.upper(), kind=kind, area_code=area, contains=digits, limit=limit)


class ProviderAdapter(ABC):
    """One provider account. Constructed with credentials, `base_url` (None = the real API) and `timeout`."""

    key: ClassVar[str]
    name: ClassVar[str]
    # Whether call_status can ask the provider how a placed call went.
    tells_call_status: ClassVar[bool] = False

    @abstractmethod
    def verify(self) -> AccountInfo:
        """The account behind the credentials; ProviderError with a clear sentence when they are wrong."""

    def search_available(
        self,
        *,
        country: str,
        kind: str = "local",
        area_code: str | None = None,
        contains: str | None = None,
        limit: int = 20,
    ) -> list[AvailableNumber]:
        query = NumberSearch.build(
            country=country, kind=kind, area_code=area_code, contains=contains, limit=limit
        )
        return self._search(query)

    @abstractmethod
    def _search(self, query: NumberSearch) -> list[AvailableNumber]: ...

    def monthly_prices(self, country: str) -> dict[str, Price]:
        """What a number of each kind costs a month in `country`, by kind, for a provider whose search
        answers carry no price (Twilio). Empty here: the others price each number they offer."""
        return {}

    @abstractmethod
    def buy(self, e164: str, *, reference: str, bundle: Bundle | None = None) -> Purchase:
        """Buy once. `reference` tags the purchase so `find_orders` can heal a crash after this call;
        `bundle`, one of `compliance`'s, is attached to the purchase (Twilio BundleSid or AddressSid,
        Telnyx requirement group)."""

    def requirements(self, country: str, kind: str) -> Requirements:
        """What buying a `kind` number in `country` needs (a bundle, an address), read from the provider.
        This default, for a provider that can't be asked, says nothing is needed."""
        from providers.adapters.compliance import Requirements

        return Requirements(country, kind)

    def compliance(self, country: str, kind: str) -> tuple[Bundle, ...]:
        """The account's approved bundles and addresses usable for a `kind` number in `country`."""
        return ()

    @abstractmethod
    def order_status(self, order_id: str) -> Purchase: ...

    @abstractmethod
    def find_orders(self, reference: str) -> list[Purchase]:
        """Purchases tagged with `reference`, whatever their state: how a lost answer is reconciled."""

    @abstractmethod
    def find_owned(self, e164: str) -> OwnedNumber | None: ...

    @abstractmethod
    def list_owned(self, *, max_items: int = LIST_MAX_ITEMS) -> OwnedList:
        """The account's numbers, up to `max_items` (OwnedList.truncated beyond): a listing follows every
        page up to the cap, in the provider's largest pages past LIST_MAX_ITEMS (page_size_for)."""

    @abstractmethod
    def route_inbound(self, ref: str, webhook_url: str) -> Routing:
        """Send the number's inbound calls to `webhook_url`; returns the routing it replaced."""

    @abstractmethod
    def restore_routing(self, ref: str, previous: Routing) -> None: ...

    @abstractmethod
    def release(self, ref: str) -> None:
        """Give the number back. A number that is already gone counts as released."""

    @abstractmethod
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
        """Place one call. `reference` is ours for this dial; providers that keep it let find_call use it.

        `status_url`: where the provider posts the call's progress (initiated, ringing, answered and how
        it ended), signed like its voice webhooks; None asks for none.

        `within`: seconds the request has to reach the provider (what is left of the dial's pacing
        deadline), connecting included. Not connected by then, nothing was sent: ProviderUnavailable with
        reason "not_sent". Not answered by then, it may or may not have arrived: reason "timeout", and the
        connection is reset, so nothing of it is delivered later."""

    def find_call(
        self, *, reference: str, from_e164: str, to_e164: str, attempted_at: datetime
    ) -> CallLookup:
        """Did a dial whose answer was lost reach the provider? The arguments are the dial's, and
        `attempted_at` (timezone-aware, our clock) is when it was sent. A timeout or refusal while asking
        raises ProviderUnavailable / ProviderError, like every call here: the caller asks again later.

        Answer not_placed only on proof: a wrong not_placed calls someone twice. This default can't ask.
        """
        return CallLookup.cannot_tell(
            f"{self.name} can't be asked whether a call was placed: check its call log."
        )

    def reputation(self, e164: str, *, fresh: bool = False) -> Reputation:
        """What the provider's spam-likelihood feed says of a number it holds. `fresh` asks for a new check
        (which the provider may charge for) instead of its last one. A provider without such a feed (see
        Provider.offers_reputation) refuses with ProviderError code "not_offered"."""
        raise ProviderError("not_offered", f"{self.name} offers no number reputation feed.")

    def call_status(self, call_id: str) -> CallStatus | None:
        """Where a placed call stands, asked of the provider by its id (a status callback that never came).
        None when the provider can't be asked: the call's outcome stays unknown. Errors as everywhere."""
        return None
