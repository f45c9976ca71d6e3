"""A stateful fake of Twilio's REST API (2010-04-01), speaking its wire format: form-encoded bodies,
basic auth with the Account SID and Auth Token, JSON answers with `{code, message, more_info, status}`
errors, and page-based lists with `next_page_uri`.

    with TwilioServer() as twilio:
        adapter = adapter_for("twilio", twilio.credentials, base_url=twilio.base_url)
        twilio.fail_next("POST", "*/IncomingPhoneNumbers.json", 400, code=21422)
"""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

from tests.fakes.common import (
    STOCK,
    FakeProviderServer,
    LoggedRequest,
    Reply,
    Route,
    Stock,
    digits,
    serve_from_command_line,
)

ACCOUNT_SID = "AC" + "5e1d" * 8
AUTH_TOKEN = "fake-twilio-auth-token"
API = "/2010-04-01/Accounts"
PRICING = "/v1/PhoneNumbers/Countries"  # on pricing.twilio.com at Twilio; here on the same server
REGULATORY = "/v2/RegulatoryCompliance"  # on numbers.twilio.com at Twilio; here on the same server
NUMBER_TYPES = {"local": "local", "mobile": "mobile", "toll_free": "toll free"}  # Regulations' NumberType
KIND_PATHS = {"local": "Local", "mobile": "Mobile", "toll_free": "TollFree"}
DEFAULT_PAGE_SIZE = 50
# Monthly prices by country and the Pricing API's number type (near the list prices Twilio publishes).
MONTHLY_PRICES = {
    "US": {"local": "1.15", "toll free": "2.15"},
    "GB": {"local": "1.15", "mobile": "1.15", "toll free": "2.15", "national": "1.15"},
}
COUNTRY_NAMES = {"US": "United States", "GB": "United Kingdom"}

MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21205: "Url parameter is required.",
    21210: "The source phone number provided is not yet verified for your account.",
    21211: "Invalid 'To' Phone Number",
    21422: "PhoneNumber is not available.",
    21452: "No phone numbers found",
    21649: "Phone Number Requires a Bundle",
}


def rfc2822(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def rfc2822_now() -> str:
    return rfc2822(datetime.now(UTC))


class TwilioServer(FakeProviderServer):
    name = "Twilio"
    spec_name = "twilio"

    def __init__(self, *, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.account_name = "Dialtone test account"
        self.account_status = "active"
        self.available: dict[str, Stock] = {s.e164: s for s in STOCK}
        self.numbers: dict[str, dict[str, Any]] = {}  # IncomingPhoneNumber resources by sid
        self.calls: dict[str, dict[str, Any]] = {}  # Call resources by sid, as Twilio lists them
        self.call_urls: dict[str, tuple[str, str]] = {}  # sid -> (Url, Method): kept, never listed
        # sid -> (StatusCallback, its events in order, StatusCallbackMethod), as the dial sent them
        self.status_callbacks: dict[str, tuple[str, list[str], str]] = {}
        self.bundle_required: set[str] = set()  # countries where buying answers 21649 without a bundle
        self.regulations: list[dict[str, Any]] = []  # Regulation resources
        self.bundles: list[dict[str, Any]] = []  # Bundle resources, approved or not
        self.prices = {country: dict(prices) for country, prices in MONTHLY_PRICES.items()}
        self._created: dict[str, datetime] = {}  # call sid -> creation time, for the list's order
        self._serial = itertools.count(1)
        self.empty_clears: list[tuple[str, str]] = []  # (number sid, field) sent "" with nothing to clear
        super().__init__()

    @property
    def credentials(self) -> dict[str, str]:
        return {"account_sid": self.account_sid, "auth_token": self.auth_token}

    # --- test helpers ---------------------------------------------------------------------------
    def add_owned(self, e164: str, **fields: Any) -> str:
        """A number the account already owns (bought elsewhere); returns its sid."""
        with self._lock:
            stock = self.available.pop(e164, None) or Stock.unlisted(e164)
            record = self._incoming_number(stock, friendly_name=fields.pop("friendly_name", None))
            record.update(fields)
            self.numbers[record["sid"]] = record
            return record["sid"]

    def require_bundle(self, country: str, kind: str = "local") -> None:
        """Buying in `country` needs an approved bundle (21649 without), and its Regulations say so."""
        with self._lock:
            self.bundle_required.add(country)
            sid = self._sid("RN")
            self.regulations.append({
                "sid": sid,
                "friendly_name": f"{COUNTRY_NAMES.get(country, country)}: {kind} - Business",
                "iso_country": country,
                "number_type": NUMBER_TYPES[kind],
                "end_user_type": "business",
                "requirements": {
                    "end_user": [{"name": "Business", "type": "business", "requirement_name": "business_info",
                                  "fields": ["business_name"], "detailed_fields": [],
                                  "url": f"https://numbers.twilio.com{REGULATORY}/Regulations/business"}],
                    "supporting_document": [[{
                        "name": "Address", "type": "document", "requirement_name": "proof_of_address",
                        "description": "An address within the locality of the number.",
                        "accepted_documents": [{"name": "Address Validation", "type": "address",
                                                "fields": ["address_sids"], "detailed_fields": [],
                                                "url": "https://numbers.twilio.com/v2/RegulatoryCompliance/DocumentTypes/address"}],
                    }]],
                },
                "url": f"https://numbers.twilio.com{REGULATORY}/Regulations/{sid}",
            })  # fmt: skip

    def add_bundle(
        self, country: str, kind: str = "local", *, status: str = "twilio-approved", name: str = "Acme Ltd"
    ) -> str:
        """A bundle of the account for `country` and `kind`; returns its sid."""
        with self._lock:
            sid = self._sid("BU")
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.bundles.append({
                "sid": sid, "account_sid": self.account_sid, "regulation_sid": self._sid("RN"),
                "friendly_name": name, "status": status, "valid_until": None, "email": "ops@example.com",
                "status_callback": None, "date_created": now, "date_updated": now,
                "url": f"https://numbers.twilio.com{REGULATORY}/Bundles/{sid}",
                "links": {"item_assignments": f"https://numbers.twilio.com{REGULATORY}/Bundles/{sid}/ItemAssignments"},
                "_country": country, "_kind": NUMBER_TYPES[kind],
            })  # fmt: skip
            return sid

    def add_call(self, from_e164: str, to_e164: str, *, created: datetime | None = None) -> str:
        """A call placed earlier (say, by a worker that died before it heard the answer); returns its sid."""
        with self._lock:
            return self._call(from_e164, to_e164, created or datetime.now(UTC))["sid"]

    # --- the provider's rules -------------------------------------------------------------------
    def build_routes(self) -> list[Route]:
        account, numbers = f"{API}/{{AccountSid}}", f"{API}/{{AccountSid}}/IncomingPhoneNumbers"
        available = f"{API}/{{AccountSid}}/AvailablePhoneNumbers/{{CountryCode}}"
        return [
            Route("GET", f"{API}/{{Sid}}.json", self.fetch_account),
            *(
                Route("GET", f"{available}/{path}.json", partial(self.search_available, kind=kind))
                for kind, path in KIND_PATHS.items()
            ),
            Route("GET", f"{numbers}.json", self.list_numbers),
            Route("POST", f"{numbers}.json", self.buy_number),
            Route("GET", f"{numbers}/{{Sid}}.json", self.fetch_number),
            Route("POST", f"{numbers}/{{Sid}}.json", self.update_number),
            Route("DELETE", f"{numbers}/{{Sid}}.json", self.delete_number),
            Route("POST", f"{account}/Calls.json", self.create_call),
            Route("GET", f"{account}/Calls.json", self.list_calls),
            Route("GET", f"{account}/Calls/{{Sid}}.json", self.fetch_call),
            Route("GET", f"{PRICING}/{{IsoCountry}}", self.fetch_prices),
            Route("GET", f"{REGULATORY}/Regulations", self.list_regulations),
            Route("GET", f"{REGULATORY}/Bundles", self.list_bundles),
        ]

    def authorized(self, request: LoggedRequest) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def error(self, status: int, code: str | int | None = None, message: str | None = None) -> Reply:
        code = int(code) if code is not None else (20003 if status == 401 else 20000 + status)
        body = {
            "code": code,
            "message": message or MESSAGES.get(code, "Error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return status, body

    def documented_errors(self, route: Route) -> list[Reply]:
        # The 2010 document describes no errors: these are the statuses and the body its error docs give.
        return [self.error(status) for status in (400, 401, 403, 404, 409, 422, 429, 500, 503)]

    def fetch_account(self, request: LoggedRequest, Sid: str) -> Reply:
        if Sid != self.account_sid:
            return self.error(404)
        now = rfc2822_now()
        return 200, {
            "auth_token": self.auth_token,
            "date_created": now,
            "date_updated": now,
            "friendly_name": self.account_name,
            "owner_account_sid": self.account_sid,
            "sid": self.account_sid,
            "status": self.account_status,
            "subresource_uris": {"incoming_phone_numbers": f"{API}/{Sid}/IncomingPhoneNumbers.json"},
            "type": "Full",
            "uri": f"{API}/{Sid}.json",
        }

    def search_available(
        self, request: LoggedRequest, AccountSid: str, CountryCode: str, *, kind: str
    ) -> Reply:
        if AccountSid != self.account_sid or (CountryCode == "US" and kind == "mobile"):
            return self.error(404, message=f"The requested resource {request.path} was not found")
        query = request.query
        page_size = int(query.get("PageSize", DEFAULT_PAGE_SIZE))
        found = [
            self._available_number(stock)
            for stock in self.available.values()
            if stock.country == CountryCode
            and stock.kind == kind
            and query.get("AreaCode", stock.area_code) == stock.area_code
            and query.get("Contains", "") in digits(stock.e164)
        ]
        return 200, {"uri": request.path, "available_phone_numbers": found[:page_size]}

    def fetch_prices(self, request: LoggedRequest, IsoCountry: str) -> Reply:
        prices = self.prices.get(IsoCountry)
        if prices is None:
            return self.error(404, message=f"The requested resource {request.path} was not found")
        return 200, {
            "country": COUNTRY_NAMES.get(IsoCountry),
            "iso_country": IsoCountry,
            "phone_number_prices": [
                {"number_type": kind, "base_price": price, "current_price": price}
                for kind, price in prices.items()
            ],
            "price_unit": "USD",
            "url": f"https://pricing.twilio.com{request.path}",
        }

    def list_regulations(self, request: LoggedRequest) -> Reply:
        query = request.query
        found = [
            r
            for r in self.regulations
            if query.get("IsoCountry", r["iso_country"]) == r["iso_country"]
            and query.get("NumberType", r["number_type"]) == r["number_type"]
            and query.get("EndUserType", r["end_user_type"]) == r["end_user_type"]
        ]
        return 200, self._v2_page(request, found)

    def list_bundles(self, request: LoggedRequest) -> Reply:
        query = request.query
        found = [
            {k: v for k, v in b.items() if not k.startswith("_")}
            for b in self.bundles
            if query.get("Status", b["status"]) == b["status"]
            and query.get("IsoCountry", b["_country"]) == b["_country"]
            and query.get("NumberType", b["_kind"]) == b["_kind"]
        ]
        return 200, self._v2_page(request, found)

    def list_numbers(self, request: LoggedRequest, AccountSid: str) -> Reply:
        if AccountSid != self.account_sid:
            return self.error(404)
        query = request.query
        wanted = digits(query.get("PhoneNumber", ""))
        matching = [
            n
            for n in self.numbers.values()
            if wanted in digits(n["phone_number"])
            and query.get("FriendlyName", n["friendly_name"]) == n["friendly_name"]
        ]
        return 200, self._page(request, "incoming_phone_numbers", matching)

    def buy_number(self, request: LoggedRequest, AccountSid: str) -> Reply:
        if AccountSid != self.account_sid:
            return self.error(404)
        form = request.body or {}
        stock = self.available.get(form.get("PhoneNumber", ""))
        if stock is None:
            return self.error(400, 21422, f"PhoneNumber {form.get('PhoneNumber')} is not available.")
        approved = {b["sid"] for b in self.bundles if b["status"] == "twilio-approved"}
        if stock.country in self.bundle_required and form.get("BundleSid") not in approved:
            return self.error(400, 21649)
        del self.available[stock.e164]
        record = self._incoming_number(stock, friendly_name=form.get("FriendlyName"))
        record.update(bundle_sid=form.get("BundleSid"), address_sid=form.get("AddressSid"))
        self.numbers[record["sid"]] = record
        return 201, record

    def fetch_number(self, request: LoggedRequest, AccountSid: str, Sid: str) -> Reply:
        number = self.numbers.get(Sid) if AccountSid == self.account_sid else None
        return (200, number) if number else self.error(404)

    def update_number(self, request: LoggedRequest, AccountSid: str, Sid: str) -> Reply:
        number = self.numbers.get(Sid) if AccountSid == self.account_sid else None
        if number is None:
            return self.error(404)
        form = request.body or {}
        fields = {
            "FriendlyName": "friendly_name",
            "VoiceUrl": "voice_url",
            "VoiceMethod": "voice_method",
            "VoiceApplicationSid": "voice_application_sid",
            "TrunkSid": "trunk_sid",
        }
        for param, key in fields.items():
            if param in form:
                if form[param] == "" and not number[key]:
                    self.empty_clears.append((Sid, param))  # accepted, but the spec's pattern refuses ""
                number[key] = form[param] or None  # Twilio clears a field set to ""
        # An application and a trunk exclude each other; setting one deletes the other.
        if form.get("VoiceApplicationSid"):
            number["trunk_sid"] = None
        if form.get("TrunkSid"):
            number["voice_application_sid"] = None
        number["date_updated"] = rfc2822_now()
        return 200, number

    def delete_number(self, request: LoggedRequest, AccountSid: str, Sid: str) -> Reply:
        if AccountSid != self.account_sid or Sid not in self.numbers:
            return self.error(404)
        del self.numbers[Sid]
        return 204, None

    def create_call(self, request: LoggedRequest, AccountSid: str) -> Reply:
        if AccountSid != self.account_sid:
            return self.error(404)
        form = request.body or {}
        if not form.get("Url"):
            return self.error(400, 21205)
        if not any(n["phone_number"] == form.get("From") for n in self.numbers.values()):
            return self.error(400, 21210)
        if not form.get("To", "").startswith("+") or len(digits(form["To"])) < 8:
            return self.error(400, 21211)
        call = self._call(form["From"], form["To"], datetime.now(UTC))
        self.call_urls[call["sid"]] = (form["Url"], form.get("Method", "POST"))
        if form.get("StatusCallback"):
            events = request.form_lists.get("StatusCallbackEvent", [])
            self.status_callbacks[call["sid"]] = (
                form["StatusCallback"],
                events,
                form.get("StatusCallbackMethod", "POST"),
            )
        return 201, call

    def fetch_call(self, request: LoggedRequest, AccountSid: str, Sid: str) -> Reply:
        if AccountSid != self.account_sid or Sid not in self.calls:
            return self.error(404)
        return 200, self.calls[Sid]

    def end_call(self, sid: str, status: str, *, duration: int = 0) -> None:
        """The call's end as Twilio records it: its status (completed, busy, no-answer, failed, canceled,
        or still in-progress / ringing), and how long it was connected."""
        with self._lock:
            call = self.calls[sid]
            now = rfc2822_now()
            call.update(status=status, date_updated=now)
            if status not in ("queued", "ringing", "in-progress"):
                call.update(end_time=now, duration=str(duration), start_time=call["start_time"] or now)

    def list_calls(self, request: LoggedRequest, AccountSid: str) -> Reply:
        if AccountSid != self.account_sid:
            return self.error(404)
        query = request.query
        matching = [
            call
            for call in self.calls.values()
            if query.get("To", call["to"]) == call["to"] and query.get("From", call["from"]) == call["from"]
        ]
        # Newest first; find_call reads them all and must not depend on the order.
        matching.sort(key=lambda call: self._created[call["sid"]], reverse=True)
        return 200, self._page(request, "calls", matching)

    # --- representations ------------------------------------------------------------------------
    def _sid(self, prefix: str) -> str:
        return f"{prefix}{next(self._serial):032x}"

    def _call(self, from_e164: str, to_e164: str, created: datetime) -> dict[str, Any]:
        sid = self._sid("CA")
        at = rfc2822(created)
        call = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to_e164,
            "to_formatted": to_e164,
            "from": from_e164,
            "from_formatted": from_e164,
            "status": "queued",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": at,
            "date_updated": at,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "price": None,
            "price_unit": "USD",
            "parent_call_sid": None,
            "phone_number_sid": next(
                (n["sid"] for n in self.numbers.values() if n["phone_number"] == from_e164), None
            ),
            "answered_by": None,
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": f"{API}/{self.account_sid}/Calls/{sid}.json",
            "subresource_uris": {"recordings": f"{API}/{self.account_sid}/Calls/{sid}/Recordings.json"},
        }
        self.calls[sid] = call
        self._created[sid] = created
        return call

    def _available_number(self, stock: Stock) -> dict[str, Any]:
        return {
            "friendly_name": stock.e164,
            "phone_number": stock.e164,
            "lata": None,
            "locality": stock.locality,
            "rate_center": stock.locality.upper() if stock.locality else None,
            "latitude": None,
            "longitude": None,
            "region": stock.region,
            "postal_code": None,
            "iso_country": stock.country,
            "address_requirements": "none",
            "beta": False,
            "capabilities": {"voice": True, "sms": stock.kind != "toll_free", "mms": False, "fax": False},
        }

    def _incoming_number(self, stock: Stock, *, friendly_name: str | None) -> dict[str, Any]:
        sid = self._sid("PN")
        now = rfc2822_now()
        return {
            "account_sid": self.account_sid,
            "address_sid": None,
            "address_requirements": "none",
            "api_version": "2010-04-01",
            "beta": False,
            "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
            "date_created": now,
            "date_updated": now,
            "friendly_name": friendly_name or stock.e164,
            "identity_sid": None,
            "phone_number": stock.e164,
            "origin": "twilio",
            "sid": sid,
            "sms_application_sid": None,
            "sms_fallback_method": "POST",
            "sms_fallback_url": None,
            "sms_method": "POST",
            "sms_url": None,
            "status_callback": None,
            "status_callback_method": "POST",
            "trunk_sid": None,
            "uri": f"{API}/{self.account_sid}/IncomingPhoneNumbers/{sid}.json",
            "voice_receive_mode": "voice",
            "voice_application_sid": None,
            "voice_caller_id_lookup": False,
            "voice_fallback_method": "POST",
            "voice_fallback_url": None,
            "voice_method": "POST",
            "voice_url": None,
            "emergency_status": "Inactive",
            "emergency_address_sid": None,
            "emergency_address_status": "unregistered",
            "bundle_sid": None,
            "status": "in-use",
            "type": stock.kind.replace("_", "-"),
        }

    def _v2_page(self, request: LoggedRequest, records: list[dict[str, Any]]) -> dict[str, Any]:
        """The numbers.twilio.com page: `meta` with absolute URLs and the records under `results`."""
        size = int(request.query.get("PageSize", DEFAULT_PAGE_SIZE))
        page = int(request.query.get("Page", 0))
        filters = {k: v for k, v in request.query.items() if k not in ("Page", "PageSize", "PageToken")}

        def url(number: int) -> str:
            query = urlencode({**filters, "PageSize": size, "Page": number})
            return f"{self.base_url}{request.path}?{query}"  # so the SDK pages here, not at Twilio

        more = (page + 1) * size < len(records)
        return {
            "meta": {
                "first_page_url": url(0), "key": "results", "page": page, "page_size": size,
                "previous_page_url": url(page - 1) if page > 0 else None, "url": url(page),
                "next_page_url": f"{url(page + 1)}&PageToken=PA{page + 1}" if more else None,
            },
            "results": records[page * size : (page + 1) * size],
        }  # fmt: skip

    def _page(self, request: LoggedRequest, key: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        query = request.query
        size = int(query.get("PageSize", DEFAULT_PAGE_SIZE))
        page = int(query.get("Page", 0))
        start = page * size
        shown = records[start : start + size]
        filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def uri(number: int) -> str:
            return f"{request.path}?{urlencode({**filters, 'PageSize': size, 'Page': number})}"

        return {
            key: shown,
            "start": start,
            "end": start + max(len(shown) - 1, 0),
            "page": page,
            "page_size": size,
            "uri": uri(page),
            "first_page_uri": uri(0),
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "next_page_uri": f"{uri(page + 1)}&PageToken=PA{page + 1}"
            if start + size < len(records)
            else None,
        }


if __name__ == "__main__":
    serve_from_command_line(TwilioServer())
