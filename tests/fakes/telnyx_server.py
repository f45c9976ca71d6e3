"""A stateful fake of Telnyx's API v2, speaking its wire format: JSON bodies, bearer-token auth,
`{"data": ...}` answers with `meta` page numbers, and `{"errors": [{code, title, detail}]}` errors.

Number orders start pending, as at Telnyx; a test settles them with complete_order / fail_order (or,
from another process, POST /_fake/number_orders/{id}/complete|fail). With instant_orders=True an order
is already complete when it is next read.

    with TelnyxServer() as telnyx:
        adapter = adapter_for("telnyx", telnyx.credentials, base_url=telnyx.base_url)
        telnyx.fail_next("POST", "/number_orders", 500)
"""

from __future__ import annotations

import argparse
import itertools
import uuid
from typing import Any
from urllib.parse import unquote

from tests.fakes.common import (
    STOCK,
    FakeProviderServer,
    LoggedRequest,
    Reply,
    Route,
    Stock,
    digits,
    iso_now,
    serve_from_command_line,
)

API_KEY = "KEY_fake_telnyx_api_key"
TEXML_APP_ID = "1293384261075731499"
# The account's webhook-signing public key (base64 Ed25519), as Mission Control shows it.
ENTERPRISE_ID = "4a6192a4-573d-446d-b3ce-aff9117272a6"
PUBLIC_KEY = "GTY+5Mo9RHeBB8YFfmCk9Ws4y1uoWeS0cMAvY0ihsN0="
DEFAULT_PAGE_SIZE = 20
REPUTATION_MAX_PAGE_SIZE = 250  # page[size] above it is clamped (the reputation spec)

ERRORS = {
    "10004": "Missing required parameter",
    "10005": "Resource not found",
    "10007": "Unexpected error",
    "10009": "Authentication failed",
    "10010": "Authorization failed",
    "10011": "Too many requests",
    "10012": "Duplicate resource",
    "10013": "Missing association",
    "10015": "Bad Request",
    "10016": "Phone number must be in +E.164 format",
}
STATUS_CODES = {
    400: "10015",
    401: "10009",
    403: "10010",
    404: "10005",
    409: "10012",
    422: "10015",
    429: "10011",
}


class TelnyxServer(FakeProviderServer):
    name = "Telnyx"
    spec_name = "telnyx"

    def __init__(self, *, api_key: str = API_KEY, instant_orders: bool = False):
        self.api_key = api_key
        self.instant_orders = instant_orders
        self.available: dict[str, Stock] = {s.e164: s for s in STOCK}
        self._reserved: dict[str, Stock] = {}  # held by pending orders
        self.applications: dict[str, dict[str, Any]] = {TEXML_APP_ID: self._texml_application(TEXML_APP_ID)}
        self.orders: dict[str, dict[str, Any]] = {}
        self.numbers: dict[str, dict[str, Any]] = {}  # phone number records by id
        self.calls: dict[str, dict[str, Any]] = {}  # TeXML dials by call_sid
        self.reputations: dict[str, dict[str, Any]] = {}  # Number Reputation's monitored numbers, by E.164
        self.fresh_checks: list[str] = []  # numbers checked with fresh=true (the paid check), in turn
        # (country, kind) -> the regulatory requirements of its numbers, as Telnyx lists them
        self.requirements: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.requirement_groups: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        super().__init__()

    @property
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key, "connection_id": TEXML_APP_ID, "public_key": PUBLIC_KEY}

    # --- test helpers ---------------------------------------------------------------------------
    def complete_order(self, order_id: str) -> None:
        with self._lock:
            order = self.orders[order_id]
            order["status"] = "success"
            for line in order["phone_numbers"]:
                line["status"] = "success"
                self._activate(line["phone_number"], order)
            order["updated_at"] = iso_now()

    def fail_order(self, order_id: str) -> None:
        with self._lock:
            order = self.orders[order_id]
            order["status"] = "failure"
            for line in order["phone_numbers"]:
                line["status"] = "failure"
                stock = self._reserved.pop(line["phone_number"], None)
                if stock:
                    self.available[stock.e164] = stock
            order["updated_at"] = iso_now()

    def add_owned(self, e164: str, *, connection_id: str | None = None) -> str:
        """A number the account already owns (bought elsewhere); returns its id."""
        with self._lock:
            self.available.pop(e164, None)
            return self._activate(e164, {"connection_id": connection_id, "customer_reference": None})["id"]

    def require(self, country: str, kind: str = "local", *, address: bool = True) -> None:
        """Numbers of `country` and `kind` need a requirement group (with an address, when `address`)."""
        needed = [{"field_type": "textual", "label": "Business name", "description": "The end user's name"}]
        if address:
            needed.append({
                "field_type": "address_id", "label": "Address matching the DID area code",
                "description": "Address matching the DID area code (street, building number, postal code)",
                "example": "600 Congress Avenue, 14th Floor, Austin, TX 78701",
                "acceptance_criteria": {"field_type": "address", "locality_limit": "Identical locality"},
            })  # fmt: skip
        for entry in needed:
            entry.update(id=str(uuid.uuid4()), record_type="regulatory_requirement")
        self.requirements[(country, kind)] = needed

    def add_requirement_group(
        self, country: str, kind: str = "local", *, status: str = "approved", reference: str = "Acme Ltd"
    ) -> str:
        """A requirement group of the account; returns its id."""
        group_id, now = str(uuid.uuid4()), iso_now()
        self.requirement_groups.append({
            "id": group_id, "record_type": "requirement_group", "action": "ordering", "country_code": country,
            "phone_number_type": kind, "customer_reference": reference, "status": status,
            "regulatory_requirements": [], "created_at": now, "updated_at": now,
        })  # fmt: skip
        return group_id

    def add_order(self, e164: str, *, customer_reference: str = "") -> str:
        """A pending order placed earlier (say, by a process that crashed); returns its id."""
        with self._lock:
            return self._place_order([e164], customer_reference, TEXML_APP_ID)

    def monitor(
        self,
        e164: str,
        *,
        spam_risk: str | None = "low",
        spam_category: str | None = None,
        refreshed: bool = True,
    ) -> None:
        """A number in Number Reputation; `refreshed=False`: not checked yet (reputation_data is null)."""
        with self._lock:
            now = iso_now()
            self.reputations[e164] = {
                "id": str(uuid.uuid4()),
                "enterprise_id": ENTERPRISE_ID,
                "phone_number": e164,
                "reputation_data": _reputation_data(spam_risk, spam_category) if refreshed else None,
                "created_at": now,
                "updated_at": now,
            }

    def set_reputation(self, e164: str, *, spam_risk: str | None, spam_category: str | None = None) -> None:
        """What the next fresh check of a monitored number finds."""
        with self._lock:
            self.reputations[e164]["next"] = (spam_risk, spam_category)

    @property
    def last_order_id(self) -> str:
        return list(self.orders)[-1]

    # --- the provider's rules -------------------------------------------------------------------
    def build_routes(self) -> list[Route]:
        return [
            Route("GET", "/available_phone_numbers", self.search_available),
            Route("POST", "/number_orders", self.create_order),
            Route("GET", "/number_orders", self.list_orders),
            Route("GET", "/number_orders/{number_order_id}", self.retrieve_order),
            Route("GET", "/phone_numbers", self.list_numbers),
            Route("GET", "/phone_numbers/{id}", self.retrieve_number),
            Route("PATCH", "/phone_numbers/{id}", self.update_number),
            Route("DELETE", "/phone_numbers/{id}", self.delete_number),
            Route("GET", "/texml_applications/{id}", self.retrieve_application),
            Route("PATCH", "/texml_applications/{id}", self.update_application),
            Route("POST", "/texml/calls/{connection_id}", self.dial),
            Route("GET", "/phone_numbers_regulatory_requirements", self.number_requirements),
            Route("GET", "/requirement_groups", self.list_requirement_groups),
            Route("GET", "/reputation/numbers", self.list_reputations),
            Route("GET", "/reputation/numbers/{phone_number}", self.retrieve_reputation),
            Route("POST", "/_fake/number_orders/{order_id}/{outcome}", self.settle_order, public=True),
        ]

    def authorized(self, request: LoggedRequest) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def error(self, status: int, code: str | int | None = None, message: str | None = None) -> Reply:
        code = str(code or STATUS_CODES.get(status, "10007"))
        title = ERRORS.get(code, "Error")
        entry = {
            "code": code,
            "title": title,
            "detail": message or title,
            "meta": {"url": f"https://developers.telnyx.com/docs/overview/errors/{code}"},
        }
        return status, {"errors": [entry]}

    def search_available(self, request: LoggedRequest) -> Reply:
        query = request.query
        features = set(filter(None, query.get("filter[features]", "").split(",")))
        found = [
            self._available_number(stock)
            for stock in self.available.values()
            if query.get("filter[country_code]", stock.country) == stock.country
            and query.get("filter[phone_number_type]", stock.kind) == stock.kind
            and query.get("filter[national_destination_code]", stock.area_code) == stock.area_code
            and query.get("filter[phone_number][contains]", "") in digits(stock.e164)
            and features <= self._features(stock)
        ]
        limit = int(query.get("filter[limit]", 50))
        return 200, {"data": found[:limit], "meta": {"total_results": len(found), "best_effort_results": 0}}

    def create_order(self, request: LoggedRequest) -> Reply:
        body = request.body or {}
        wanted = [line.get("phone_number", "") for line in body.get("phone_numbers") or []]
        if not wanted:
            return self.error(422, "10004", "phone_numbers is required.")
        connection_id = body.get("connection_id")
        if connection_id and connection_id not in self.applications:
            return self.error(422, "10013", f"connection_id {connection_id} does not exist.")
        approved = {g["id"] for g in self.requirement_groups if g["status"] == "approved"}
        for line in body.get("phone_numbers") or []:
            stock = self.available.get(line.get("phone_number", ""))
            needed = stock is not None and (stock.country, stock.kind) in self.requirements
            if needed and line.get("requirement_group_id") not in approved:
                # Ours, like the 422 below: the spec gives the generic errors body only.
                return self.error(422, "10015", "This number requires an approved requirement group.")
        for e164 in wanted:
            # The official spec gives CreateNumberOrder's 422 only the generic errors body, with no code
            # for a number someone else took: this code and wording are ours, and the adapter quotes it.
            if e164 not in self.available:
                return self.error(422, "10015", f"The phone number {e164} is not available for purchase.")
        order_id = self._place_order(wanted, body.get("customer_reference", ""), connection_id or "")
        groups = [line.get("requirement_group_id") for line in body.get("phone_numbers") or []]
        for line, group in zip(self.orders[order_id]["phone_numbers"], groups, strict=True):
            if group:
                line["requirement_group_id"] = group
        answer = {"data": _copy(self.orders[order_id])}
        if self.instant_orders:
            self.complete_order(order_id)
        return 200, answer

    def list_orders(self, request: LoggedRequest) -> Reply:
        query = request.query
        matching = [
            _order_summary(order)
            for order in self.orders.values()
            if query.get("filter[customer_reference]", order["customer_reference"])
            == order["customer_reference"]
            and query.get("filter[status]", order["status"]) == order["status"]
        ]
        return 200, _page(request, matching)

    def retrieve_order(self, request: LoggedRequest, number_order_id: str) -> Reply:
        order = self.orders.get(number_order_id)
        return (200, {"data": _copy(order)}) if order else self.error(404)

    def settle_order(self, request: LoggedRequest, order_id: str, outcome: str) -> Reply:
        if order_id not in self.orders or outcome not in ("complete", "fail"):
            return self.error(404)
        (self.complete_order if outcome == "complete" else self.fail_order)(order_id)
        return 200, {"data": _copy(self.orders[order_id])}

    def list_numbers(self, request: LoggedRequest) -> Reply:
        query = request.query
        wanted = query.get("filter[phone_number]", "")
        if wanted and not wanted.isdigit():
            return 200, _page(request, [])  # as at Telnyx: non-digits match nothing
        matching = [
            number
            for number in self.numbers.values()
            if wanted in digits(number["phone_number"])
            and query.get("filter[customer_reference]", number["customer_reference"])
            == number["customer_reference"]
        ]
        return 200, _page(request, matching)

    def retrieve_number(self, request: LoggedRequest, id: str) -> Reply:
        number = self.numbers.get(id)
        return (200, {"data": number}) if number else self.error(404)

    def update_number(self, request: LoggedRequest, id: str) -> Reply:
        number = self.numbers.get(id)
        if number is None:
            return self.error(404)
        body = request.body or {}
        if "connection_id" in body:
            connection_id = body["connection_id"] or None  # "" detaches the number
            if connection_id is not None and connection_id not in self.applications:
                return self.error(422, "10013", f"connection_id {connection_id} does not exist.")
            number["connection_id"] = connection_id
            number["connection_name"] = (
                self.applications[connection_id]["friendly_name"] if connection_id else None
            )
        for key in ("customer_reference", "tags"):
            if key in body:
                number[key] = body[key]
        number["updated_at"] = iso_now()
        return 200, {"data": number}

    def delete_number(self, request: LoggedRequest, id: str) -> Reply:
        number = self.numbers.pop(id, None)
        if number is None:
            return self.error(404)
        # The deleted form has no nulls and fewer fields than the live one.
        dropped = ("source_type", "inbound_call_screening", "emergency_status")
        deleted = {key: value for key, value in number.items() if value is not None and key not in dropped}
        return 200, {"data": {**deleted, "status": "deleted"}}

    def retrieve_application(self, request: LoggedRequest, id: str) -> Reply:
        app = self.applications.get(id)
        return (200, {"data": app}) if app else self.error(404)

    def update_application(self, request: LoggedRequest, id: str) -> Reply:
        app = self.applications.get(id)
        if app is None:
            return self.error(404)
        body = request.body or {}
        missing = [key for key in ("friendly_name", "voice_url") if not body.get(key)]
        if missing:
            return self.error(422, "10004", f"{missing[0]} is required.")
        keys = (
            "friendly_name",
            "voice_url",
            "voice_method",
            "voice_fallback_url",
            "active",
            "status_callback",
        )
        for key in (*keys, "status_callback_method"):
            if key in body:
                app[key] = body[key]
        app["updated_at"] = iso_now()
        return 200, {"data": app}

    def dial(self, request: LoggedRequest, connection_id: str) -> Reply:
        """A connection-scoped TeXML call: parameter names are case-sensitive, the answer is unwrapped."""
        if connection_id not in self.applications:
            return self.error(404)
        body = request.body or {}
        missing = [key for key in ("From", "To") if not body.get(key)]
        if missing:
            return self.error(422, "10004", f"{missing[0]} is required.")
        call_sid = f"v3:{uuid.uuid4().hex}"
        self.calls[call_sid] = {
            "connection_id": connection_id,
            **{key.lower(): body.get(key) for key in ("From", "To", "Url", "Method")},
        }
        return 200, {"call_sid": call_sid, "from": body["From"], "to": body["To"], "status": "queued"}

    def number_requirements(self, request: LoggedRequest) -> Reply:
        wanted = [e for e in request.query.get("filter[phone_number]", "").split(",") if e]
        if not wanted:
            return self.error(400, "10004", "filter[phone_number] is required.")
        found = []
        for e164 in wanted:
            stock = self.available.get(e164) or Stock.unlisted(e164)
            found.append({
                "record_type": "phone_number_regulatory_requirements", "phone_number": e164,
                "phone_number_type": stock.kind,
                "region_information": [{"region_type": "country_code", "region_name": stock.country}],
                "regulatory_requirements": self.requirements.get((stock.country, stock.kind), []),
            })  # fmt: skip
        return 200, {"data": found, "meta": {"page_number": 1, "page_size": 20, "total_pages": 1,
                                             "total_results": len(found)}}  # fmt: skip

    def list_requirement_groups(self, request: LoggedRequest) -> Reply:
        query = request.query
        keys = {"country_code", "phone_number_type", "action", "status", "customer_reference"}
        found = [
            g
            for g in self.requirement_groups
            if all(query.get(f"filter[{key}]", g[key]) == g[key] for key in keys)
        ]
        return 200, found  # a bare array: this operation has no `data` envelope

    def list_reputations(self, request: LoggedRequest) -> Reply:
        query = request.query
        eq, contains = query.get("filter[phone_number][eq]"), query.get("filter[phone_number][contains]", "")
        matching = [
            _public(record)
            for e164, record in self.reputations.items()
            if (eq is None or eq == e164) and digits(contains) in digits(e164)
        ]
        size = min(int(query.get("page[size]", DEFAULT_PAGE_SIZE)), REPUTATION_MAX_PAGE_SIZE)
        page = _page(request, matching, size=size)
        page["meta"]["page_size"] = len(page["data"])  # this document's meta counts what the page holds
        return 200, page

    def retrieve_reputation(self, request: LoggedRequest, phone_number: str) -> Reply:
        record = self.reputations.get(unquote(phone_number))
        if record is None:
            return self.error(404, "10009", "Phone number not found.")
        if request.query.get("fresh") == "true":
            self.fresh_checks.append(record["phone_number"])
            risk, category = record.pop("next", None) or _last(record)
            record["reputation_data"] = _reputation_data(risk, category)
            record["updated_at"] = iso_now()
        return 200, {"data": _public(record)}

    # --- representations ------------------------------------------------------------------------
    def _place_order(self, wanted: list[str], customer_reference: str, connection_id: str) -> str:
        order_id = str(uuid.uuid4())
        stocks = [self.available.pop(e164, None) or Stock.unlisted(e164) for e164 in wanted]
        self._reserved.update((stock.e164, stock) for stock in stocks)
        lines = [self._order_line(stock) for stock in stocks]
        now = iso_now()
        self.orders[order_id] = {
            "id": order_id,
            "record_type": "number_order",
            "status": "pending",
            "phone_numbers": lines,
            "phone_numbers_count": len(lines),
            "connection_id": connection_id,
            "customer_reference": customer_reference,
            "requirements_met": True,
            "sub_number_orders_ids": [str(uuid.uuid4())],
            "created_at": now,
            "updated_at": now,
        }
        return order_id

    def _activate(self, e164: str, order: dict[str, Any]) -> dict[str, Any]:
        stock = self._reserved.pop(e164, None) or Stock.unlisted(e164)
        number_id = str(1293384261075731499 + 1000 + next(self._ids))
        now = iso_now()
        connection_id = order.get("connection_id") or None
        self.numbers[number_id] = {
            "id": number_id,
            "record_type": "phone_number",
            "phone_number": e164,
            "country_iso_alpha2": stock.country,
            "status": "active",
            "tags": [],
            "external_pin": None,
            "connection_id": connection_id,
            "connection_name": self.applications[connection_id]["friendly_name"] if connection_id else None,
            "customer_reference": order.get("customer_reference") or None,
            "billing_group_id": None,
            "messaging_profile_id": None,
            "messaging_profile_name": None,
            "emergency_enabled": False,
            "emergency_address_id": None,
            "emergency_status": "disabled",
            "call_forwarding_enabled": True,
            "cnam_listing_enabled": False,
            "caller_id_name_enabled": False,
            "call_recording_enabled": False,
            "t38_fax_gateway_enabled": False,
            "hd_voice_enabled": False,
            "deletion_lock_enabled": False,
            "inbound_call_screening": "disabled",
            "phone_number_type": stock.kind,
            "source_type": "number_order",
            "created_at": now,
            "updated_at": now,
            "purchased_at": now,
            "activated_at": now,
        }
        return self.numbers[number_id]

    @staticmethod
    def _features(stock: Stock) -> set[str]:
        return {"voice", "sms"} if stock.kind != "toll_free" else {"voice"}

    def _available_number(self, stock: Stock) -> dict[str, Any]:
        regions = [{"region_type": "country_code", "region_name": stock.country}]
        if stock.locality:
            regions.append({"region_type": "rate_center", "region_name": stock.locality.upper()})
        if stock.region:
            regions.append({"region_type": "state", "region_name": stock.region})
        cost = "1.00" if stock.kind != "toll_free" else "2.00"
        return {
            "record_type": "available_phone_number",
            "phone_number": stock.e164,
            "vanity_format": "",
            "best_effort": False,
            "quickship": True,
            "reservable": True,
            "region_information": regions,
            "cost_information": {"upfront_cost": cost, "monthly_cost": cost, "currency": "USD"},
            "features": [{"name": name} for name in sorted(self._features(stock))],
        }

    @staticmethod
    def _order_line(stock: Stock) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "record_type": "number_order_phone_number",
            "phone_number": stock.e164,
            "phone_number_type": stock.kind,
            "country_code": stock.country,
            "regulatory_requirements": [],
            "requirements_met": True,
            "requirements_status": "approved",
            "status": "pending",
        }

    @staticmethod
    def _texml_application(app_id: str) -> dict[str, Any]:
        now = iso_now()
        return {
            "id": app_id,
            "record_type": "texml_application",
            "friendly_name": "Dialtone inbound",
            "active": True,
            "anchorsite_override": "Latency",
            "dtmf_type": "RFC 2833",
            "first_command_timeout": True,
            "first_command_timeout_secs": 10,
            "voice_url": "https://example.com/texml/initial",
            "voice_method": "post",
            "status_callback_method": "post",
            "call_cost_in_webhooks": False,
            "inbound": {
                "channel_limit": 10,
                "shaken_stir_enabled": True,
                "sip_subdomain_receive_settings": "only_my_connections",
            },
            "outbound": {"channel_limit": 10, "outbound_voice_profile_id": "1293384261075731461"},
            "tags": [],
            "created_at": now,
            "updated_at": now,
        }


def _copy(order: dict[str, Any]) -> dict[str, Any]:
    return {**order, "phone_numbers": [dict(line) for line in order["phone_numbers"]]}


def _order_summary(order: dict[str, Any]) -> dict[str, Any]:
    """Lists carry the short form of each order line (id and number)."""
    lines = [{"id": line["id"], "phone_number": line["phone_number"]} for line in order["phone_numbers"]]
    return {**order, "phone_numbers": lines}


def _reputation_data(spam_risk: str | None, spam_category: str | None) -> dict[str, Any]:
    return {
        "spam_risk": spam_risk,
        "spam_category": spam_category,
        "connection_score": 80,
        "engagement_score": 64,
        "maturity_score": 72,
        "sentiment_score": 75,
        "last_refreshed_at": iso_now(),
    }


def _last(record: dict[str, Any]) -> tuple[str | None, str | None]:
    data = record["reputation_data"] or {"spam_risk": "low"}
    return data.get("spam_risk"), data.get("spam_category")


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "next"}


def _page(
    request: LoggedRequest, records: list[dict[str, Any]], *, size: int | None = None
) -> dict[str, Any]:
    size = size or int(request.query.get("page[size]", DEFAULT_PAGE_SIZE))
    number = int(request.query.get("page[number]", 1))
    start = (number - 1) * size
    return {
        "data": records[start : start + size],
        "meta": {
            "page_number": number,
            "page_size": size,
            "total_pages": max(1, -(-len(records) // size)),
            "total_results": len(records),
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--instant-orders", action="store_true", help="orders complete as soon as they are read"
    )
    known, rest = parser.parse_known_args(argv)
    serve_from_command_line(TelnyxServer(instant_orders=known.instant_orders), rest)


if __name__ == "__main__":
    main()
