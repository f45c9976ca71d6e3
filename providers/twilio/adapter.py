"""Twilio through its official SDK. Buying is synchronous; inbound routing is the number's voice URL."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.connection import HTTPConnection
from urllib3.util import Timeout

from providers.adapters import errors
from providers.adapters.base import (
    LIST_MAX_ITEMS,
    LIST_PAGE_SIZE,
    STATUS_RANKS,
    AccountInfo,
    AvailableNumber,
    CallLookup,
    CallStatus,
    Capabilities,
    DialResult,
    NumberSearch,
    OwnedList,
    OwnedNumber,
    Price,
    ProviderAdapter,
    ProviderError,
    Purchase,
    Routing,
    page_size_for,
    read_pages,
)
from providers.adapters.compliance import Bundle, Requirements, short

MAX_PAGE_SIZE = 1000  # PageSize is at most 1000 (the API's spec)

# Twilio has no idempotency token on purchases, so the reference rides in the number's
# FriendlyName (64 characters at most) and find_orders looks for it there.
FRIENDLY_NAME_PREFIX = "Dialtone "
FRIENDLY_NAME_MAX = 64

# A Call resource gives back nothing of ours (no URL, no callback), so find_call looks for a call
# between the same two numbers created near the attempt: within the window (clock skew, the dial's
# own timeout), read at most CALLS_READ of them, and trust an absence only once the attempt is
# old enough for the list to show every call created then.
CALL_WINDOW = timedelta(minutes=5)
CALL_ABSENT_AFTER = timedelta(minutes=2)
CALLS_READ = 200
# The call's progress Twilio posts to its StatusCallback ("answered" arrives as CallStatus in-progress).
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]

SENTENCES: dict[int, str] = {
    20003: errors.BAD_CREDENTIALS.format(provider="Twilio", fields="Account SID and Auth Token"),
    20005: "This Twilio account is suspended or closed: reactivate it in the Twilio console.",
    20404: errors.NOT_ON_ACCOUNT.format(provider="Twilio"),
    21421: errors.INVALID_NUMBER.format(provider="Twilio"),
    21422: errors.NUMBER_TAKEN,
    21615: errors.REGULATORY,
    21631: errors.REGULATORY,
    21649: errors.REGULATORY,
    21210: "Twilio cannot call from that number: use a number on this account.",
    21212: "Twilio cannot call from that number: use a number on this account.",
    21211: "The number to call is not a valid phone number.",
    21215: "This Twilio account may not call that country: allow it in the console's geo permissions.",
}
# The Pricing API's number types that are ours (it also knows national, shared cost and others).
PRICED_KINDS = {"local": "local", "mobile": "mobile", "toll free": "toll_free"}
STATUS_SENTENCES = {401: SENTENCES[20003], 404: SENTENCES[20404]}
# The Regulations and Bundles APIs' NumberType for each of our kinds.
REGULATED_KINDS = {"local": "local", "mobile": "mobile", "toll_free": "toll free"}


def twilio_error(status: int, code: int | None, message: str) -> Exception:
    """The one place a Twilio answer becomes our error (translated_errors routes every failure here)."""
    if status == 429:
        return errors.unavailable("Twilio", "rate_limited")
    if status >= 500:
        return errors.unavailable("Twilio", "server_error")
    sentence = SENTENCES.get(code or 0) or STATUS_SENTENCES.get(status)
    return ProviderError(code or status, sentence or f"Twilio refused the request: {message}", status=status)


@contextmanager
def translated_errors() -> Iterator[None]:
    try:
        yield
    except TwilioRestException as exc:
        # The SDK prefixes Twilio's message with what it was doing ("Unable to create record: ...").
        raise twilio_error(exc.status, exc.code, exc.msg.partition(": ")[2] or exc.msg) from exc
    except TwilioException as exc:
        raise _plain_error(exc) from exc
    except requests.ConnectTimeout as exc:
        raise errors.unavailable("Twilio", "not_sent") from exc
    except requests.Timeout as exc:
        raise errors.unavailable("Twilio", "timeout") from exc
    except requests.RequestException as exc:
        raise errors.unavailable("Twilio", "connection") from exc
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # The SDK reading an answer of a shape it does not expect (a list without its records).
        raise errors.malformed("Twilio", "the fields its API documents") from exc


def _plain_error(exc: TwilioException) -> Exception:
    """Lists and searches raise TwilioException("Unable to fetch page", response): read the response."""
    if hasattr(exc, "status"):  # TwilioServiceException (RFC 9457 bodies)
        return twilio_error(exc.status, exc.code, getattr(exc, "detail", None) or exc.title)
    response = exc.args[1] if len(exc.args) > 1 else None
    if response is None or not hasattr(response, "status_code"):
        # "Page Records can not be deserialized": a list answer without its records.
        return errors.malformed("Twilio", "the fields its API documents")
    try:
        payload = json.loads(response.text)
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    return twilio_error(response.status_code, payload.get("code"), str(payload.get("message", "")))


def _requirement_names(requirements: object) -> Iterator[tuple[str, bool]]:
    """(name, whether it is an address) of each requirement a regulation lists: its end user and its
    supporting documents. The spec leaves `requirements` untyped and nullable: anything else is none."""
    if not isinstance(requirements, dict):
        return
    for end_user in requirements.get("end_user") or []:
        if isinstance(end_user, dict):
            yield short(end_user.get("name"), 80), False
    for group in requirements.get("supporting_document") or []:
        for document in group if isinstance(group, list) else [group]:
            if not isinstance(document, dict):
                continue
            accepted = document.get("accepted_documents") or []
            kinds = {str(d.get("type", "")) for d in accepted if isinstance(d, dict)}
            is_address = "address" in kinds or "address" in str(document.get("requirement_name", ""))
            yield short(document.get("name"), 80), is_address


def _blank_to_none(value: str | None) -> str | None:
    return value or None


def _routing(number: Any) -> Routing:
    return Routing(
        voice_url=_blank_to_none(number.voice_url),
        voice_method=_blank_to_none(number.voice_method),
        application_sid=_blank_to_none(number.voice_application_sid),
        trunk_sid=_blank_to_none(number.trunk_sid),
    )


def _owned(number: Any) -> OwnedNumber:
    return OwnedNumber(
        ref=errors.present(number.sid, "Twilio", "a number's sid"),
        e164=errors.present(number.phone_number, "Twilio", "a number's phone number"),
        routing=_routing(number),
    )


def _pages(page: Any) -> Iterator[tuple[list[Any], bool]]:
    """Each page of an SDK listing and whether Twilio offers another; the next is fetched only when asked."""
    while True:
        more = bool(page.next_page_url)
        yield list(page), more
        if not more:
            return
        page = page.next_page()


def _capabilities(raw: Mapping[str, Any] | None) -> Capabilities:
    # The spec says lowercase keys; the live search API answers "SMS" and "MMS".
    flags = {key.lower(): bool(value) for key, value in (raw or {}).items()}
    return Capabilities(voice=flags.get("voice", False), sms=flags.get("sms", False))


def _purchase(number: Any) -> Purchase:
    # Without its sid or number a bought number can't be recorded: the caller reconciles by reference.
    sid = errors.present(number.sid, "Twilio", "the number's sid")
    e164 = errors.present(number.phone_number, "Twilio", "the number's phone number")
    name = number.friendly_name or ""
    reference = name.removeprefix(FRIENDLY_NAME_PREFIX) if name.startswith(FRIENDLY_NAME_PREFIX) else None
    return Purchase(status="active", e164=e164, order_id=sid, ref=sid, reference=reference)


def _changes(current: Routing, previous: Routing) -> dict[str, str]:
    """What to send to bring routing back from `current` to `previous`: only fields that differ, and ""
    (Twilio's clear) only for a field that is set."""
    changes = {}
    if previous.voice_url != current.voice_url:
        changes["voice_url"] = previous.voice_url or ""
    if previous.voice_method and previous.voice_method != current.voice_method:
        changes["voice_method"] = previous.voice_method
    # Setting a trunk clears the application and the other way round, so send at most one of them.
    if previous.trunk_sid:
        if previous.trunk_sid != current.trunk_sid:
            changes["trunk_sid"] = previous.trunk_sid
    elif previous.application_sid:
        if previous.application_sid != current.application_sid:
            changes["voice_application_sid"] = previous.application_sid
    else:
        if current.application_sid:
            changes["voice_application_sid"] = ""
        if current.trunk_sid:
            changes["trunk_sid"] = ""
    return changes


def friendly_name_for(reference: str) -> str:
    name = f"{FRIENDLY_NAME_PREFIX}{reference}"
    if len(name) > FRIENDLY_NAME_MAX:
        raise ValueError(
            f"reference must be at most {FRIENDLY_NAME_MAX - len(FRIENDLY_NAME_PREFIX)} characters"
        )
    return name


class _ResettingAdapter(HTTPAdapter):
    """Connections closed with a reset (SO_LINGER 0): a request given up on is never delivered later by
    the kernel's retransmissions (a plain close keeps sending what is unacknowledged)."""

    def init_poolmanager(self, *args, **kwargs):
        linger = (socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        kwargs["socket_options"] = [*HTTPConnection.default_socket_options, linger]
        super().init_poolmanager(*args, **kwargs)


class TwilioAdapter(ProviderAdapter):
    key = "twilio"
    name = "Twilio"
    tells_call_status = True

    def __init__(self, credentials: Mapping[str, Any], *, base_url: str | None = None, timeout: float = 10.0):
        account_sid = str(credentials.get("account_sid", "")).strip()
        auth_token = str(credentials.get("auth_token", "")).strip()
        if not account_sid or not auth_token:
            raise ProviderError("credentials", "Twilio needs an Account SID and an Auth Token.")
        self._http = TwilioHttpClient(timeout=timeout)
        for scheme in ("https://", "http://"):
            self._http.session.mount(scheme, _ResettingAdapter(pool_maxsize=4))
        self._client = Client(account_sid, auth_token, http_client=self._http)
        if base_url:
            # Pricing lives on its own host (pricing.twilio.com); the SDK takes its override separately.
            self._client.api.base_url = self._client.pricing.base_url = base_url
            # TWILIO_EDGE / TWILIO_REGION in the environment would rewrite the host away from base_url.
            self._client.edge = self._client.region = None
        self._account = self._client.api.v2010.account
        self._numbers = self._account.incoming_phone_numbers
        self._base_url = base_url

    @property
    def _regulatory(self) -> Any:
        """Regulations and bundles (numbers.twilio.com, overridden like pricing): imported on first use,
        as the SDK's numbers domain takes a while to import and only the buy modal needs it."""
        if self._base_url:
            self._client.numbers.base_url = self._base_url
        return self._client.numbers.v2.regulatory_compliance

    def verify(self) -> AccountInfo:
        with translated_errors():
            account = self._account.fetch()
        status = errors.present(account.status, "Twilio", "the account's status")
        if status != "active":
            raise ProviderError(20005, SENTENCES[20005])
        account_id = errors.present(account.sid, "Twilio", "the account's sid")
        return AccountInfo(account_id=account_id, name=account.friendly_name or "", status=status)

    def _search(self, query: NumberSearch) -> list[AvailableNumber]:
        # The SDK's lists are named like our kinds: local, mobile, toll_free.
        listing = getattr(self._account.available_phone_numbers(query.country), query.kind)
        filters: dict[str, Any] = {"voice_enabled": True, "limit": query.limit}
        if query.area_code:
            filters["area_code"] = int(query.area_code)
        if query.contains:
            filters["contains"] = query.contains
        with translated_errors():
            found = listing.list(**filters)
        return [
            AvailableNumber(
                e164=number.phone_number,
                locality=number.locality or None,
                region=number.region or None,
                country=number.iso_country or query.country,
                capabilities=_capabilities(number.capabilities),
            )
            for number in found
            if number.phone_number
        ]

    def monthly_prices(self, country: str) -> dict[str, Price]:
        """Twilio's search answers carry no price: its Pricing API gives one per number type and country."""
        with translated_errors():
            try:
                answer = self._client.pricing.v1.phone_numbers.countries(country.upper()).fetch()
            except (ValueError, AttributeError) as exc:  # a body that is not a JSON object
                raise errors.unavailable("Twilio", "bad_response") from exc
        prices: dict[str, Price] = {}
        for entry in answer.phone_number_prices or []:
            entry = entry if isinstance(entry, dict) else {}
            kind = PRICED_KINDS.get(str(entry.get("number_type", "")).lower())
            price = Price.read(entry.get("current_price"), answer.price_unit) or Price.read(
                entry.get("base_price"), answer.price_unit
            )
            if kind and price:
                prices.setdefault(kind, price)
        return prices

    def buy(self, e164: str, *, reference: str, bundle: Bundle | None = None) -> Purchase:
        friendly_name = friendly_name_for(reference)
        attach = {}
        if bundle is not None:
            attach["address_sid" if bundle.kind == "address" else "bundle_sid"] = bundle.id
        with translated_errors():
            number = self._numbers.create(phone_number=e164, friendly_name=friendly_name, **attach)
        return _purchase(number)

    def requirements(self, country: str, kind: str) -> Requirements:
        """Regulations for the country and number type: any at all means a bundle (Twilio's bundles hold
        the end user, the address and the documents a regulation asks for)."""
        regulations = self._regulatory.regulations
        with translated_errors():
            found = regulations.list(
                iso_country=country, number_type=REGULATED_KINDS[kind], include_constraints=True, limit=20
            )
        names: list[str] = []
        address = False
        for regulation in found:
            for name, is_address in _requirement_names(regulation.requirements):
                address = address or is_address
                if name and name not in names:
                    names.append(name)
        return Requirements(country, kind, bundle=bool(found), address=address, details=tuple(names[:6]))

    def compliance(self, country: str, kind: str) -> tuple[Bundle, ...]:
        bundles = self._regulatory.bundles
        with translated_errors():
            found = bundles.list(
                status="twilio-approved", iso_country=country, number_type=REGULATED_KINDS[kind], limit=50
            )
        return tuple(
            Bundle(id=b.sid, label=short(b.friendly_name, 80) or b.sid)
            for b in found
            if isinstance(b.sid, str) and b.sid and b.status in (None, "twilio-approved")
        )

    def order_status(self, order_id: str) -> Purchase:
        """A Twilio purchase is the number itself: the order id is its sid, active once it exists."""
        with translated_errors():
            number = self._numbers(order_id).fetch()
        return _purchase(number)

    def find_orders(self, reference: str) -> list[Purchase]:
        friendly_name = friendly_name_for(reference)
        with translated_errors():
            numbers, _ = read_pages(
                _pages(self._numbers.page(friendly_name=friendly_name, page_size=LIST_PAGE_SIZE))
            )
        return [_purchase(n) for n in numbers if n.friendly_name == friendly_name]

    def find_owned(self, e164: str) -> OwnedNumber | None:
        with translated_errors():
            numbers, _ = read_pages(_pages(self._numbers.page(phone_number=e164, page_size=LIST_PAGE_SIZE)))
        # Twilio's PhoneNumber filter also matches partial numbers.
        return next((_owned(n) for n in numbers if n.phone_number == e164), None)

    def list_owned(self, *, max_items: int = LIST_MAX_ITEMS) -> OwnedList:
        size = page_size_for(max_items, MAX_PAGE_SIZE)
        with translated_errors():
            numbers, truncated = read_pages(
                _pages(self._numbers.page(page_size=size)), max_items=max_items, page_size=size
            )
        return OwnedList(tuple(_owned(n) for n in numbers), truncated=truncated)

    def route_inbound(self, ref: str, webhook_url: str) -> Routing:
        number = self._numbers(ref)
        with translated_errors():
            previous = _routing(number.fetch())
            changes = {"voice_url": webhook_url, "voice_method": "POST"}
            # An application or a trunk on the number would override the URL: clear the one that is set
            # (Twilio clears a field sent empty; the spec's SID patterns refuse "" where nothing is set).
            if previous.application_sid:
                changes["voice_application_sid"] = ""
            if previous.trunk_sid:
                changes["trunk_sid"] = ""
            number.update(**changes)
        return previous

    def restore_routing(self, ref: str, previous: Routing) -> None:
        number = self._numbers(ref)
        with translated_errors():
            current = _routing(number.fetch())
            changes = _changes(current, previous)
            if changes:
                number.update(**changes)

    def release(self, ref: str) -> None:
        try:
            with translated_errors():
                self._numbers(ref).delete()
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
        # Twilio calls carry no reference of ours; the caller keeps the returned call sid.
        progress = (
            {
                "status_callback": status_url,
                "status_callback_event": STATUS_EVENTS,
                "status_callback_method": "POST",
            }
            if status_url
            else {}
        )
        with translated_errors(), self._within(within):
            call = self._account.calls.create(
                to=to_e164, from_=from_e164, url=webhook_url, method="POST", **progress
            )
        # A 2xx means the call is placed: without its sid, the dial is unknown and reconciled, never redone.
        return DialResult(call_id=errors.present(call.sid, "Twilio", "the call's sid"))

    def call_status(self, call_id: str) -> CallStatus | None:
        with translated_errors():
            call = self._account.calls(call_id).fetch()
        status = "answered" if call.status == "in-progress" else str(call.status or "")
        if status not in STATUS_RANKS:
            raise errors.malformed("Twilio", "the call's status")
        found = CallStatus(call_id, status, at=call.end_time)
        duration = str(call.duration or "")
        seconds = int(duration) if found.final and duration.isascii() and duration.isdigit() else None
        answered_at = None
        if status == "completed" and call.end_time is not None and seconds is not None:
            answered_at = call.end_time - timedelta(seconds=seconds)
        return CallStatus(call_id, status, seconds, call.end_time, answered_at)

    @contextmanager
    def _within(self, seconds: float | None) -> Iterator[None]:
        """This request's timeouts: connecting and the whole exchange within `seconds` (urllib3's total)."""
        if seconds is None:
            yield
            return
        usual, self._http.timeout = self._http.timeout, Timeout(connect=seconds, read=seconds, total=seconds)
        try:
            yield
        finally:
            self._http.timeout = usual

    def find_call(
        self, *, reference: str, from_e164: str, to_e164: str, attempted_at: datetime
    ) -> CallLookup:
        with translated_errors():
            # No StartTime filter: a call still queued at Twilio has no start time yet.
            calls = self._account.calls.list(to=to_e164, from_=from_e164, limit=CALLS_READ + 1)
        near = [
            call
            for call in calls[:CALLS_READ]
            if call.sid
            and call.to == to_e164
            and call._from == from_e164
            and call.date_created is not None
            and abs(call.date_created - attempted_at) <= CALL_WINDOW
        ]
        if near:
            return CallLookup.found(min(near, key=lambda call: abs(call.date_created - attempted_at)).sid)
        if len(calls) > CALLS_READ:
            return CallLookup.cannot_tell(
                "Twilio lists too many calls between these two numbers to rule this one out: "
                "check Twilio's call log."
            )
        if datetime.now(UTC) - attempted_at < CALL_ABSENT_AFTER:
            return CallLookup.cannot_tell("Twilio does not list the call yet.", ask_again=True)
        return CallLookup.absent()
