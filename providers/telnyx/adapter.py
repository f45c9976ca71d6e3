"""Telnyx through its official SDK (the generated 4.x client).

Buying is an asynchronous number order tagged with customer_reference. Calls go through one TeXML
application (the credentials' connection_id): inbound, the number's connection_id names it and its
voice_url is our webhook; outbound, TeXML dials from it and fetches our TeXML from the dial's webhook URL.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

import httpx
import telnyx

from providers.adapters import errors
from providers.adapters.base import (
    LIST_MAX_ITEMS,
    AccountInfo,
    AvailableNumber,
    Capabilities,
    DialResult,
    NumberSearch,
    OwnedList,
    OwnedNumber,
    Price,
    ProviderAdapter,
    ProviderError,
    Purchase,
    Reputation,
    Routing,
    page_size_for,
    read_pages,
)
from providers.adapters.compliance import Bundle, Requirements, short

MAX_PAGE_SIZE = 250  # page[size] is at most 250 (the API's spec)

SENTENCES: dict[str, str] = {
    "10009": errors.BAD_CREDENTIALS.format(provider="Telnyx", fields="API key"),
    "10010": "This Telnyx API key may not do that: check its permissions in the Telnyx portal.",
    "10005": errors.NOT_ON_ACCOUNT.format(provider="Telnyx"),
    "10002": errors.INVALID_NUMBER.format(provider="Telnyx"),
    "10016": errors.INVALID_NUMBER.format(provider="Telnyx"),
    "10013": "Telnyx does not know that application (connection) id: check the Telnyx credentials.",
}
STATUS_SENTENCES = {401: SENTENCES["10009"], 403: SENTENCES["10010"], 404: SENTENCES["10005"]}
NO_APPLICATION = "Telnyx has no TeXML application with that id: check the connection id in the credentials."
INACTIVE_APPLICATION = (
    "Telnyx says this TeXML application is not active (active: false): turn it on in the Telnyx portal."
)
NOT_MONITORED = "Telnyx does not monitor this number's reputation: add it to Number Reputation at Telnyx"
NOT_REFRESHED = "Telnyx has not checked this number's reputation yet"
# A dial needs at least this long left once the application's status callback is set, or it is not sent.
PREPARED_LEAST_S = 0.1
log = logging.getLogger(__name__)
ORDER_STATUSES = {"pending": "pending", "success": "active", "failure": "failed"}


def telnyx_error(exc: telnyx.APIError) -> Exception:
    """The one place a Telnyx SDK error becomes ours."""
    if isinstance(exc.__cause__, httpx.ConnectTimeout):
        return errors.unavailable("Telnyx", "not_sent")
    if isinstance(exc, telnyx.APITimeoutError):
        return errors.unavailable("Telnyx", "timeout")
    if isinstance(exc, telnyx.APIConnectionError):
        return errors.unavailable("Telnyx", "connection")
    if not isinstance(exc, telnyx.APIStatusError):
        return errors.unavailable("Telnyx", "bad_response")
    status = exc.status_code
    if status in (408, 429):
        return errors.unavailable("Telnyx", "rate_limited" if status == 429 else "timeout")
    if status >= 500:
        return errors.unavailable("Telnyx", "server_error")
    first = _first_error(exc.body)
    code = str(first.get("code") or status)
    said = first.get("detail") or first.get("title") or "no reason given"
    sentence = SENTENCES.get(code) or STATUS_SENTENCES.get(status) or f"Telnyx refused the request: {said}"
    return ProviderError(code, sentence, status=status)


def _by_status(exc: ProviderError) -> ProviderError:
    """Number Reputation's document gives every error status the same example bodies (a 401 may carry
    10005, "not found"): there the status says what happened, not the code."""
    sentence = STATUS_SENTENCES.get(exc.status or 0)
    return ProviderError(exc.code, sentence, status=exc.status) if sentence else exc


def _first_error(body: object) -> dict[str, Any]:
    found = body.get("errors") if isinstance(body, dict) else None
    return found[0] if isinstance(found, list) and found and isinstance(found[0], dict) else {}


@contextmanager
def translated_errors() -> Iterator[None]:
    try:
        yield
    except telnyx.APIError as exc:
        raise telnyx_error(exc) from exc
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # The SDK reading an answer of a shape it does not expect (a page whose meta lacks its numbers).
        raise errors.malformed("Telnyx", "the fields its API documents") from exc


def _data(answer: Any, what: str) -> Any:
    """The `data` envelope of an answer, which the official spec never requires: without it, `what` is
    missing from the answer."""
    data = getattr(answer, "data", None)
    if data is None or isinstance(data, list | dict | str):
        raise errors.malformed("Telnyx", what)
    return data


def _pages(page: Any) -> Iterator[tuple[list[Any], bool]]:
    """Each page of an SDK listing and whether Telnyx offers another; the next is fetched only when asked.
    Without meta the SDK offers a next page while a page has items, so the cap ends a listing."""
    while True:
        items = getattr(page, "data", None)
        if not isinstance(items, list):
            raise errors.malformed("Telnyx", "the list's data")
        more = page.has_next_page()
        yield items, more
        if not more:
            return
        page = page.get_next_page()


@cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle takes ~50 ms and an adapter is built per operation: load it once.
    return httpx.create_ssl_context()


def _digits(e164: str) -> str:
    # Telnyx's phone_number filter matches digits; any other character matches nothing.
    return "".join(ch for ch in e164 if ch.isdigit())


def _available(number: Any, country: str) -> AvailableNumber:
    # The official spec makes every field optional: a missing one means "not said", never a crash.
    regions = {
        getattr(r, "region_type", None): getattr(r, "region_name", None)
        for r in number.region_information or []
    }
    features = {getattr(f, "name", None) for f in number.features or []}
    cost = number.cost_information
    price = Price.read(getattr(cost, "monthly_cost", None), getattr(cost, "currency", None))
    return AvailableNumber(
        e164=number.phone_number,
        locality=regions.get("rate_center") or regions.get("location"),
        region=regions.get("state"),
        country=regions.get("country_code") or country,
        capabilities=Capabilities(voice="voice" in features, sms="sms" in features),
        monthly_price=price.amount if price else None,
        currency=price.currency if price else None,
    )


def _reputation(number: Any, e164: str) -> Reputation:
    # Every field is optional and reputation_data is null until Telnyx's first refresh of the number.
    data = getattr(number, "reputation_data", None)
    if data is None:
        return Reputation.unknown(e164, NOT_REFRESHED)
    return Reputation.read(
        e164,
        risk=getattr(data, "spam_risk", None),
        category=getattr(data, "spam_category", None),
        refreshed=getattr(data, "last_refreshed_at", None),
    )


def _owned(number: Any) -> OwnedNumber:
    return OwnedNumber(
        ref=errors.present(getattr(number, "id", None), "Telnyx", "a number's id"),
        e164=errors.present(getattr(number, "phone_number", None), "Telnyx", "a number's phone number"),
        routing=Routing(connection_id=getattr(number, "connection_id", None) or None),
    )


class TelnyxAdapter(ProviderAdapter):
    key = "telnyx"
    name = "Telnyx"

    def __init__(
        self,
        credentials: Mapping[str, Any],
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        read_retries: int = 2,
    ):
        api_key = str(credentials.get("api_key", "")).strip()
        self._connection_id = str(credentials.get("connection_id", "")).strip()
        if not api_key or not self._connection_id:
            raise ProviderError(
                "credentials", "Telnyx needs an API key and the TeXML application (connection) id."
            )
        self._client = telnyx.Telnyx(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=read_retries,
            http_client=telnyx.DefaultHttpxClient(verify=_tls()),
        )
        # The SDK retries POSTs on 408/409/429/5xx: an order or a dial could happen twice.
        self._once = self._client.with_options(max_retries=0)
        # Resolved now: a resource's first use imports its module, for seconds, which must not count
        # against the deadline of a credentials check (providers/services.py).
        self._applications = self._client.texml_applications
        self._status_url: str | None = None  # the application's status callback, once set by a dial

    def verify(self) -> AccountInfo:
        try:
            with translated_errors():
                app = _data(self._applications.retrieve(self._connection_id), "the application")
        except ProviderError as exc:
            if exc.status == 404:
                raise ProviderError(exc.code, NO_APPLICATION, status=404) from exc
            raise
        errors.present(getattr(app, "id", None), "Telnyx", "the application's id")
        if getattr(app, "active", None) is False:
            # Its calls would go nowhere: refused here, not stored as verified.
            raise ProviderError("inactive", INACTIVE_APPLICATION)
        return AccountInfo(
            account_id=self._connection_id, name=getattr(app, "friendly_name", None) or "", status="active"
        )

    def _search(self, query: NumberSearch) -> list[AvailableNumber]:
        wanted: dict[str, Any] = {
            "country_code": query.country,
            "phone_number_type": query.kind,
            "features": ["voice"],
            "limit": query.limit,
        }
        if query.area_code:
            wanted["national_destination_code"] = query.area_code
        if query.contains:
            wanted["phone_number"] = {"contains": query.contains}
        with translated_errors():
            found = getattr(self._client.available_phone_numbers.list(filter=wanted), "data", None)
            if not isinstance(found, list):
                raise errors.malformed("Telnyx", "the list's data")
            return [
                _available(number, query.country) for number in found if getattr(number, "phone_number", None)
            ]

    def buy(self, e164: str, *, reference: str, bundle: Bundle | None = None) -> Purchase:
        line = {"phone_number": e164}
        if bundle is not None:
            line["requirement_group_id"] = bundle.id  # Telnyx's bundle: a requirement group
        with translated_errors():
            order = self._once.number_orders.create(
                phone_numbers=[line],
                customer_reference=reference,
                connection_id=self._connection_id,
            )
        # Without its order the number may be bought all the same: the caller reconciles by reference.
        return self._purchase(_data(order, "the number order"))

    def requirements(self, country: str, kind: str) -> Requirements:
        """Telnyx says what a number needs, not a country: ask for one number it offers of the kind (the
        search's first), and read its requirements as the kind's. None offered, nothing to buy."""
        offered = self._search(NumberSearch(country=country, kind=kind, limit=1))
        if not offered:
            return Requirements(country, kind)
        with translated_errors():
            # Once: a person waits on this in the buy modal, which goes on without it (selectors cache that).
            answer = self._once.phone_numbers_regulatory_requirements.retrieve(
                filter={"phone_number": offered[0].e164}
            )
        found = getattr(answer, "data", None)
        if not isinstance(found, list):
            raise errors.malformed("Telnyx", "the number's requirements")
        needed = [r for entry in found for r in getattr(entry, "regulatory_requirements", None) or []]
        address = any("address" in str(getattr(r, "field_type", None) or "") for r in needed)
        names = [n for n in dict.fromkeys(short(getattr(r, "label", None), 80) for r in needed) if n]
        return Requirements(country, kind, bundle=bool(needed), address=address, details=tuple(names[:6]))

    def compliance(self, country: str, kind: str) -> tuple[Bundle, ...]:
        with translated_errors():
            groups = self._once.requirement_groups.list(
                filter={
                    "country_code": country,
                    "phone_number_type": kind,
                    "action": "ordering",
                    "status": "approved",
                }
            )
        if not isinstance(groups, list):  # the spec answers a bare array, no `data` envelope
            raise errors.malformed("Telnyx", "the list of requirement groups")
        return tuple(
            Bundle(id=group_id, label=short(getattr(g, "customer_reference", None), 80) or group_id)
            for g in groups
            if isinstance(group_id := getattr(g, "id", None), str)
            and group_id
            and getattr(g, "status", None) in (None, "approved")
        )

    def order_status(self, order_id: str) -> Purchase:
        with translated_errors():
            order = _data(self._client.number_orders.retrieve(order_id), "the number order")
        return self._purchase(order)

    def find_orders(self, reference: str) -> list[Purchase]:
        with translated_errors():
            first = self._client.number_orders.list(filter={"customer_reference": reference})
            orders, _ = read_pages(_pages(first))
        return [
            self._purchase(order)
            for order in orders
            if getattr(order, "customer_reference", None) == reference
        ]

    def find_owned(self, e164: str) -> OwnedNumber | None:
        number = self._find_number(e164)
        return _owned(number) if number else None

    def list_owned(self, *, max_items: int = LIST_MAX_ITEMS) -> OwnedList:
        size = page_size_for(max_items, MAX_PAGE_SIZE)
        with translated_errors():
            numbers, truncated = read_pages(
                _pages(self._client.phone_numbers.list(page_size=size)), max_items=max_items, page_size=size
            )
        return OwnedList(tuple(_owned(number) for number in numbers), truncated=truncated)

    def route_inbound(self, ref: str, webhook_url: str) -> Routing:
        with translated_errors():
            number = _data(self._client.phone_numbers.retrieve(ref), "the phone number")
            # Read before anything changes: without it, a detach could not put the number back.
            previous = Routing(connection_id=getattr(number, "connection_id", None) or None)
            self._point_application_at(webhook_url)
            if previous.connection_id != self._connection_id:
                self._client.phone_numbers.update(ref, connection_id=self._connection_id)
        return previous

    def restore_routing(self, ref: str, previous: Routing) -> None:
        with translated_errors():
            # An empty string detaches the number from any application: the official spec types the
            # request's connection_id as a string (UpdatePhoneNumberRequest, not nullable), and leaving it
            # out would leave the number on ours.
            self._client.phone_numbers.update(ref, connection_id=previous.connection_id or "")

    def release(self, ref: str) -> None:
        try:
            with translated_errors():
                self._client.phone_numbers.delete(ref)
        except ProviderError as exc:
            if exc.status != 404:
                raise  # a 404 means already gone: releasing twice is fine

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
        # Not POST /calls: that takes only a Call Control application id (official spec, CallRequest's
        # connection_id; 422 code 10015 "Only Call Control Apps ... are accepted") and sends JSON events,
        # where our webhook answers TeXML. TeXML dials from the TeXML application and, once answered,
        # fetches TeXML from Url, as for inbound calls:
        # https://developers.telnyx.com/api-reference/texml-rest-commands/create-a-connection-scoped-texml-call
        # It takes no reference of ours (the webhook URL carries it), so find_call can't look one up.
        started = time.monotonic()
        # The application's callback serves all its calls: the URL without this call's query, so its
        # reports name the call by CallSid alone (the webhook finds it by the id this dial returns).
        status_url = status_url.partition("?")[0] if status_url else None
        if status_url and status_url != self._status_url:
            self._report_progress_to(status_url, webhook_url.partition("?")[0], within)
        if within is not None:
            within -= time.monotonic() - started
            if within < PREPARED_LEAST_S:  # setting the callback took the dial's time: nothing was sent
                raise errors.unavailable("Telnyx", "not_sent")
        # httpx has no total timeout: connecting, sending and the answer each within `within`.
        client = self._once if within is None else self._once.with_options(timeout=httpx.Timeout(within))
        with translated_errors():
            call = client.texml.calls.create(
                self._connection_id, from_=from_e164, to=to_e164, url=webhook_url, method="POST"
            )
        # A 2xx means the call is placed (its last published answer had no id at all): without the id the
        # dial is unknown and reconciled, never redone.
        return DialResult(call_id=errors.present(getattr(call, "call_sid", None), "Telnyx", "the call id"))

    def reputation(self, e164: str, *, fresh: bool = False) -> Reputation:
        """Number Reputation (official spec: GET /reputation/numbers/{phone_number}, the alias that needs no
        enterprise id). A number Telnyx does not monitor (404) or has not refreshed yet (reputation_data
        null) is "unknown", saying so; `fresh` is the paid check."""
        try:
            with translated_errors():
                answer = self._client.reputation.numbers.retrieve(e164, fresh=fresh)
        except ProviderError as exc:
            if exc.status == 404:
                return Reputation.unknown(e164, NOT_MONITORED)
            raise _by_status(exc) from exc
        return _reputation(_data(answer, "the number's reputation"), e164)

    def reputations(self, *, max_items: int = LIST_MAX_ITEMS) -> list[Reputation]:
        """The last check of every number the account monitors (GET /reputation/numbers: free, paged)."""
        size = page_size_for(max_items, MAX_PAGE_SIZE)
        try:
            with translated_errors():
                first = self._client.reputation.numbers.list(page_size=size)
                found, _ = read_pages(_pages(first), max_items=max_items, page_size=size)
        except ProviderError as exc:
            raise _by_status(exc) from exc
        numbers = [(getattr(n, "phone_number", None), n) for n in found]
        return [_reputation(n, e164) for e164, n in numbers if isinstance(e164, str) and e164]

    def _report_progress_to(self, status_url: str, voice_url: str, within: float | None) -> None:
        """A connection-scoped TeXML call takes no StatusCallback of its own (SDK: texml.calls.create; the
        supplement's TexmlConnectionCallRequest): its progress goes to the TeXML application's
        `status_callback` (official spec, UpdateTexmlApplicationRequest), for every call of it. Set once per
        adapter (a warm one serves many dials); a failure here leaves the call to reconcile, never unsent."""
        client = self._client if within is None else self._client.with_options(timeout=httpx.Timeout(within))
        try:
            with translated_errors():
                app = _data(client.texml_applications.retrieve(self._connection_id), "the application")
                if getattr(app, "status_callback", None) != status_url:
                    client.texml_applications.update(
                        self._connection_id,
                        friendly_name=getattr(app, "friendly_name", None) or "Dialtone",
                        voice_url=getattr(app, "voice_url", None) or voice_url,
                        status_callback=status_url,
                        status_callback_method="post",
                    )
        except (ProviderError, errors.ProviderUnavailable) as exc:
            log.warning("Telnyx application %s: status callback not set (%s)", self._connection_id, exc)
            return
        self._status_url = status_url

    def _point_application_at(self, webhook_url: str) -> None:
        """The TeXML application is shared by every number on it: its URL is the connection's webhook."""
        app = _data(self._applications.retrieve(self._connection_id), "the application")
        if getattr(app, "voice_url", None) != webhook_url:
            self._applications.update(
                self._connection_id,
                friendly_name=getattr(app, "friendly_name", None) or "Dialtone",
                voice_url=webhook_url,
                voice_method="post",
            )

    def _find_number(self, e164: str) -> Any | None:
        with translated_errors():
            numbers, _ = read_pages(
                _pages(self._client.phone_numbers.list(filter={"phone_number": _digits(e164)}))
            )
        return next((number for number in numbers if getattr(number, "phone_number", None) == e164), None)

    def _purchase(self, order: Any) -> Purchase:
        order_id = errors.present(getattr(order, "id", None), "Telnyx", "the order's id")
        lines = getattr(order, "phone_numbers", None)
        first = lines[0] if isinstance(lines, list) and lines else None
        e164 = errors.present(getattr(first, "phone_number", None), "Telnyx", "the order's phone numbers")
        status = ORDER_STATUSES.get(getattr(order, "status", None) or "pending", "pending")
        ref = None
        if status == "active":
            number = self._find_number(e164)
            if number is None:
                status = "pending"  # the order finished but the number is not listed yet: ask again later
            else:
                ref = errors.present(getattr(number, "id", None), "Telnyx", "the number's id")
        reference = getattr(order, "customer_reference", None) or None
        return Purchase(status=status, e164=e164, order_id=order_id, ref=ref, reference=reference)
