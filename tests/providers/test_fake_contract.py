"""The fakes speak the providers' real wire format.

The adapters drive every route of each fake, success paths and error bodies alike; then every answer
the fake recorded is validated against the official OpenAPI document in provider-specs/, and every
request the adapters sent is checked against the documented parameters. A fake that drifts from the
provider fails here, not in production.

An operation the shared documents lack is described in tests/fakes/specs/ (each file says where its
facts come from) and merged in; a test fails once the official document covers it, to drop it then.
"""

import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from providers.adapters.base import ProviderError, ProviderUnavailable, Routing
from providers.adapters.compliance import Bundle
from providers.telnyx.adapter import TelnyxAdapter
from providers.twilio.adapter import TwilioAdapter
from tests.fakes.common import FakeProviderServer
from tests.fakes.spec import (
    REQUEST_FORMATS,
    SPECS,
    TELNYX_REPUTATION_SPEC,
    TELNYX_SPEC,
    TELNYX_SUPPLEMENT,
    TWILIO_ERROR,
    TWILIO_PRICING_SPEC,
    TWILIO_REGULATORY_SPEC,
    TWILIO_SPEC,
    Spec,
    nullable_to_union,
    pointer_part,
    twilio_wire_types,
)
from tests.fakes.telnyx_server import TelnyxServer
from tests.fakes.twilio_server import TwilioServer

# The documents are vendored: a missing one is a broken checkout, never a reason to skip the contract.
assert TWILIO_SPEC.is_file() and TELNYX_SPEC.is_file() and TWILIO_PRICING_SPEC.is_file(), (
    f"Provider OpenAPI documents not found in {SPECS} (PROVIDER_SPECS_DIR, or tests/fakes/specs/official/)"
)

ERROR_STATUSES = (400, 401, 403, 404, 409, 422, 429, 500, 503)
WEBHOOK = "https://dialtone.example.com/hooks/inbound"


def attempt(call: Callable[[], Any]) -> None:
    """Drive a path whose failure is the point; the adapter tests check what the failure says."""
    with suppress(ProviderError, ProviderUnavailable):
        call()


FROM = "+14155550100"


def drive_twilio(server: TwilioServer) -> None:
    twilio = TwilioAdapter(server.credentials, base_url=server.base_url, timeout=2)
    twilio.verify()
    for country, kind in (("US", "local"), ("US", "toll_free"), ("GB", "mobile")):
        twilio.search_available(country=country, kind=kind)
    purchase = twilio.buy("+14155550100", reference="op-1")
    twilio.order_status(purchase.order_id)
    twilio.find_orders("op-1")
    twilio.find_owned("+14155550100")
    twilio.list_owned()
    twilio.restore_routing(purchase.ref, twilio.route_inbound(purchase.ref, WEBHOOK))
    on_app = server.add_owned("+13125550111", voice_application_sid="AP" + "a" * 32)
    twilio.restore_routing(on_app, twilio.route_inbound(on_app, WEBHOOK))  # clears the app, then our URL
    placed = twilio.dial(
        from_e164="+14155550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="c",
        status_url=WEBHOOK + "?call=c",
    )  # fmt: skip
    twilio.call_status(placed.call_id)
    server.end_call(placed.call_id, "completed", duration=72)
    twilio.call_status(placed.call_id)
    attempt(lambda: twilio.call_status("CA" + "0" * 32))  # 404
    now = datetime.now(UTC)
    twilio.find_call(reference="c", from_e164="+14155550100", to_e164="+12125550199", attempted_at=now)
    twilio.find_call(reference="x", from_e164="+14155550100", to_e164="+12125550100", attempted_at=now)
    twilio.release(purchase.ref)
    twilio.release(purchase.ref)  # 404
    attempt(lambda: twilio.buy("+14155550100", reference="op-2"))  # 21422
    attempt(  # 21210: not a number of this account
        lambda: twilio.dial(
            from_e164="+19995550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="c"
        )
    )
    attempt(TwilioAdapter({**server.credentials, "auth_token": "wrong"}, base_url=server.base_url).verify)
    for status in ERROR_STATUSES:
        server.fail_next("GET", "*/IncomingPhoneNumbers.json", status)
        attempt(twilio.list_owned)
    server.fail_next("GET", "*/Calls.json", 500)
    attempt(lambda: twilio.find_call(reference="c", from_e164=FROM, to_e164="+12125550199", attempted_at=now))
    drive_twilio_pricing(server, twilio)
    drive_twilio_regulatory(server, twilio)


def nulled(record: dict, *keep: str) -> dict:
    """Every nullable field null: all but `keep` (enums the document does not let be null)."""
    return {key: value if key in keep else None for key, value in record.items()}


def drive_twilio_regulatory(server: TwilioServer, twilio: TwilioAdapter) -> None:
    """Regulations and bundles: none, some, sparse (nullable null, optional absent), errors; a purchase
    with a bundle."""
    twilio.requirements("US", "local")
    twilio.compliance("US", "local")
    server.require_bundle("GB", "local")
    sid = server.add_bundle("GB", "local")
    server.add_bundle("GB", "local", status="draft")
    twilio.requirements("GB", "local")
    twilio.compliance("GB", "local")
    twilio.buy("+442079460100", reference="op-gb", bundle=Bundle(id=sid, label="Acme"))
    regulations, bundles = "/v2/RegulatoryCompliance/Regulations", "/v2/RegulatoryCompliance/Bundles"
    server.reshape_next(
        "GET", regulations, lambda b: {**b, "results": [nulled(b["results"][0], "end_user_type")]}
    )
    twilio.requirements("GB", "local")
    server.reshape_next("GET", bundles, lambda b: {**b, "results": [nulled(b["results"][0], "status")]})
    twilio.compliance("GB", "local")
    server.reshape_next("GET", regulations, lambda b: {**b, "results": [{}]})
    twilio.requirements("GB", "local")
    for status in ERROR_STATUSES:
        server.fail_next("GET", regulations, status)
        attempt(lambda: twilio.requirements("GB", "local"))
        server.fail_next("GET", bundles, status)
        attempt(lambda: twilio.compliance("GB", "local"))


def drive_twilio_pricing(server: TwilioServer, twilio: TwilioAdapter) -> None:
    """Prices as Twilio may give them: complete, with every nullable field null, with fields absent."""
    for country in ("US", "GB"):
        twilio.monthly_prices(country)
    prices = "/v1/PhoneNumbers/Countries/*"
    server.reshape_next("GET", prices, lambda body: {key: None for key in body})
    twilio.monthly_prices("US")
    server.reshape_next("GET", prices, lambda body: {**body, "price_unit": None})
    twilio.monthly_prices("US")
    server.reshape_next("GET", prices, lambda body: {"phone_number_prices": [{}, {"number_type": "local"}]})
    twilio.monthly_prices("US")
    attempt(lambda: twilio.monthly_prices("FR"))  # 404: no prices for that country
    for status in ERROR_STATUSES:
        server.fail_next("GET", prices, status)
        attempt(lambda: twilio.monthly_prices("US"))


def drive_telnyx(server: TelnyxServer) -> None:
    telnyx = TelnyxAdapter(server.credentials, base_url=server.base_url, timeout=2, read_retries=0)
    telnyx.verify()
    for country, kind in (("US", "local"), ("US", "toll_free"), ("GB", "mobile")):
        telnyx.search_available(country=country, kind=kind)
    # Every field of an offered number is optional in the spec: a sparse answer is still Telnyx's.
    server.reshape_next("GET", "/available_phone_numbers", sparse_offers)
    telnyx.search_available(country="US")
    purchase = telnyx.buy("+14155550100", reference="op-1")
    telnyx.order_status(purchase.order_id)
    server.complete_order(purchase.order_id)
    ref = telnyx.order_status(purchase.order_id).ref
    server.fail_order(telnyx.buy("+14155550101", reference="op-2").order_id)
    telnyx.find_orders("op-2")
    telnyx.find_owned("+14155550100")
    telnyx.list_owned()
    telnyx.restore_routing(ref, telnyx.route_inbound(ref, WEBHOOK))
    unrouted = server.add_owned("+13125550111")
    telnyx.restore_routing(unrouted, telnyx.route_inbound(unrouted, WEBHOOK))
    telnyx.dial(from_e164="+14155550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="c")
    telnyx.dial(
        from_e164="+14155550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="c",
        status_url=WEBHOOK + "?call=c",
    )  # fmt: skip
    telnyx.release(ref)
    telnyx.release(ref)  # 404
    attempt(lambda: telnyx.buy("+14155550100", reference="op-3"))  # 422: not available
    attempt(lambda: telnyx.order_status("00000000-0000-0000-0000-000000000000"))
    attempt(TelnyxAdapter({**server.credentials, "api_key": "wrong"}, base_url=server.base_url).verify)
    attempt(TelnyxAdapter({**server.credentials, "connection_id": "404"}, base_url=server.base_url).verify)
    attempt(lambda: telnyx.dial(from_e164="+14155550100", to_e164="", webhook_url=WEBHOOK, reference="c"))
    drive_telnyx_reputation(server, telnyx)
    drive_telnyx_requirements(server, telnyx)
    for status in ERROR_STATUSES:
        server.fail_next("GET", "/phone_numbers", status)
        attempt(telnyx.list_owned)
        server.fail_next("POST", "/texml/calls/*", status)
        attempt(
            lambda: telnyx.dial(
                from_e164="+14155550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="d"
            )
        )
        server.fail_next("PATCH", "/texml_applications/*", status)
        attempt(lambda: telnyx.route_inbound(server.add_owned("+15125550177"), WEBHOOK + "/new"))


def drive_telnyx_reputation(server: TelnyxServer, telnyx: TelnyxAdapter) -> None:
    """Number Reputation: checked, never checked (null data), nulls inside, not monitored, paged."""
    server.monitor("+14155550100", spam_risk="high", spam_category="Robocall")
    server.monitor("+14155550102", refreshed=False)
    server.monitor("+14155550103", spam_risk=None)
    for i in range(120):  # two pages of 100
        server.monitor(f"+1212555{i:04d}")
    for e164 in ("+14155550100", "+14155550102", "+14155550103", "+19995550100"):
        telnyx.reputation(e164)
        telnyx.reputation(e164, fresh=True)
    telnyx.reputations()
    path = "/reputation/numbers/*"
    server.reshape_next("GET", path, lambda body: {"data": {**body["data"], "reputation_data": None}})
    telnyx.reputation("+14155550100")
    for status in ERROR_STATUSES:
        server.fail_next("GET", path, status)
        attempt(lambda: telnyx.reputation("+14155550100", fresh=True))
        server.fail_next("GET", "/reputation/numbers", status)
        attempt(telnyx.reputations)


def drive_telnyx_requirements(server: TelnyxServer, telnyx: TelnyxAdapter) -> None:
    """Number requirements and requirement groups: none, some, sparse, errors; an order with a group."""
    telnyx.requirements("US", "local")
    telnyx.compliance("US", "local")
    server.require("GB", "local")
    group = server.add_requirement_group("GB", "local")
    server.add_requirement_group("GB", "local", status="declined")
    telnyx.requirements("GB", "local")
    telnyx.compliance("GB", "local")
    telnyx.buy("+442079460100", reference="op-gb", bundle=Bundle(id=group, label="Acme"))
    attempt(lambda: telnyx.buy("+442079460101", reference="op-gb2"))  # 422: no requirement group
    requirements, groups = "/phone_numbers_regulatory_requirements", "/requirement_groups"
    server.reshape_next("GET", requirements, lambda b: {"data": [{"regulatory_requirements": [{}]}]})
    telnyx.requirements("GB", "local")
    server.reshape_next("GET", groups, lambda b: [{}, {"id": b[0]["id"]}])
    telnyx.compliance("GB", "local")
    for status in ERROR_STATUSES:
        server.fail_next("GET", requirements, status)
        attempt(lambda: telnyx.requirements("GB", "local"))
        server.fail_next("GET", groups, status)
        attempt(lambda: telnyx.compliance("GB", "local"))


def sparse_offers(body: dict) -> dict:
    offers = body["data"]
    offers[0] = {"phone_number": offers[0]["phone_number"]}
    offers[1]["cost_information"] = {}
    return body


@dataclass(frozen=True)
class Case:
    spec: Path
    server_class: type[FakeProviderServer]
    adapter_class: type
    drive: Callable[[Any], None]
    error_schema: dict | None  # for errors the document does not describe; None: use the document's
    supplement: Path | None = None  # operations the shared document lacks (tests/fakes/specs/)
    also: tuple[Path, ...] = ()  # the provider's other official documents (another API host)


CASES = {
    "twilio": Case(
        TWILIO_SPEC,
        TwilioServer,
        TwilioAdapter,
        drive_twilio,
        TWILIO_ERROR,
        also=(TWILIO_PRICING_SPEC, TWILIO_REGULATORY_SPEC),
    ),
    "telnyx": Case(
        TELNYX_SPEC,
        TelnyxServer,
        TelnyxAdapter,
        drive_telnyx,
        None,
        TELNYX_SUPPLEMENT,
        also=(TELNYX_REPUTATION_SPEC,),
    ),
}


@pytest.fixture(scope="module", params=list(CASES))
def driven(request):
    case = CASES[request.param]
    with case.server_class() as server:
        case.drive(server)
    return case, Spec(case.spec, case.supplement, case.also), server


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case.supplement])
def test_a_supplement_only_fills_gaps_in_the_official_document(name):
    official = json.loads(CASES[name].spec.read_text())
    extra = json.loads(CASES[name].supplement.read_text())

    covered = set(extra["paths"]) & set(official["paths"])
    covered |= set(extra["components"]["schemas"]) & set(official["components"]["schemas"])

    assert covered == set(), f"the official document now has {sorted(covered)}: drop them from the supplement"


def test_the_drive_reaches_every_route_and_every_error_status(driven):
    case, spec, server = driven

    routes = {(r.method, r.template) for r in server.routes if not r.public}
    answered = {(s.method, s.route) for s in server.responses if s.route}
    assert routes - answered == set()
    assert {s.status for s in server.responses} >= set(ERROR_STATUSES)
    assert server.crashes == []


def test_the_fake_serves_only_documented_operations(driven):
    case, spec, server = driven

    undocumented = [
        f"{r.method} {r.template}"
        for r in server.routes
        if not r.public and not spec.documents(r.template, r.method)
    ]

    assert undocumented == []


def test_every_answer_matches_the_official_schema(driven):
    case, spec, server = driven

    assert answer_problems(case, spec, server) == []


def answer_problems(case: Case, spec: Spec, server: FakeProviderServer) -> list[str]:
    problems = []
    for sent in server.responses:
        if sent.route is None or not spec.documents(sent.route, sent.method):
            continue
        where = f"{sent.method} {sent.path} -> {sent.status}"
        if sent.status < 400:
            documented = spec.at(spec.operation_pointer(sent.route, sent.method) + "/responses")
            if str(sent.status) not in documented:
                problems.append(f"{where}: status not documented ({sorted(documented)})")
            schema = spec.response_schema(sent.route, sent.method, sent.status)
        else:
            schema = case.error_schema or spec.response_schema(sent.route, sent.method, sent.status)
            schema = schema or {"$ref": f"{spec.uri}#/components/schemas/ErrorResponse"}
        if schema is None:
            if sent.body is not None:
                problems.append(f"{where}: a body where the document has none")
            continue
        problems += [f"{where}: {problem}" for problem in spec.problems(schema, sent.body)]
    return problems


def test_every_request_uses_documented_parameters_and_values(driven):
    case, spec, server = driven

    assert request_problems(spec, server) == []


def request_problems(spec: Spec, server: FakeProviderServer) -> list[str]:
    """Every request the adapters sent, checked against the operation's schemas: the names of its query
    parameters and form fields, and every value (path, query, form, JSON) against its type, pattern,
    enum and format."""
    problems = [
        f"clears {field} of {sid}, which has none" for sid, field in getattr(server, "empty_clears", [])
    ]
    for request in server.requests:
        route, params = server.route_for(request)
        if route is None or route.public or not spec.documents(route.template, request.method):
            continue
        where = f"{request.method} {request.path}"
        paths = spec.parameters(route.template, request.method, "path")
        for name, value in params.items():
            problems += [f"{where}: path {name}: {p}" for p in spec.value_problems(paths[name], value)]
        queries = spec.parameters(route.template, request.method, "query")
        for key, value in request.query.items():
            pointer = deep_parameter(spec, queries, key)
            if pointer is None:
                problems.append(f"{where}: query {key} is not documented")
                continue
            problems += [f"{where}: query {key}: {p}" for p in spec.value_problems(pointer, value)]
        if request.body is None:
            continue
        if "json" in request.headers.get("Content-Type", ""):
            schema = spec.request_schema(route.template, request.method, "application/json")
            problems += [f"{where}: body {p}" for p in spec.problems(schema, request.body, REQUEST_FORMATS)]
            continue
        schema = spec.request_schema(route.template, request.method, "application/x-www-form-urlencoded")
        pointer = spec.followed(schema["$ref"].split("#", 1)[1])
        fields = spec.at(pointer).get("properties", {})
        missing = set(spec.at(pointer).get("required", [])) - set(request.body)
        problems += [f"{where}: form field {name} is required" for name in sorted(missing)]
        for name, value in request.body.items():
            if name not in fields:
                problems.append(f"{where}: form field {name} is not documented")
            elif not (value == "" and (route.template, name) in TWILIO_CLEARS):
                field = f"{pointer}/properties/{pointer_part(name)}"
                problems += [f"{where}: form field {name}: {p}" for p in spec.value_problems(field, value)]
    return problems


# Twilio clears a number's routing field sent empty (its docs: "set to an empty string to remove"); the
# document's SID patterns and URI format do not say so. Only these take "", and only for a field that is
# set: the fake lists every other "" it was sent (empty_clears).
TWILIO_CLEARS = {
    ("/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json", field)
    for field in ("VoiceUrl", "VoiceApplicationSid", "TrunkSid")
}


def deep_parameter(spec: Spec, parameters: dict[str, str], key: str) -> str | None:
    """The schema of a query key, following deepObject brackets: filter[phone_number][contains]."""
    if key in parameters:  # a name with brackets of its own: page[size]
        return parameters[key]
    name, *inner = key.replace("]", "").split("[")
    pointer = parameters.get(name)
    for part in inner:
        if pointer is None:
            return None
        pointer = spec.followed(pointer)
        properties = spec.at(pointer).get("properties", {})
        pointer = f"{pointer}/properties/{pointer_part(part)}" if part in properties else None
    return pointer


# --- the sparse and error modes: answers from the spec itself, so the fakes can't drift ------------------


def drive_in_mode(server: FakeProviderServer, adapter: Any, mode: str) -> int:
    """Every adapter operation against a server answering in `mode`; in error mode, once for each error
    the busiest route documents, so every documented error body is served."""
    server.add_owned("+14155550100")
    ref = adapter.find_owned("+14155550100").ref
    if isinstance(server, TelnyxServer):
        server.monitor("+14155550100")
    server.mode, first = mode, len(server.responses)
    served = [route for route in server.routes if not route.public]
    turns = max(len(server.documented_errors(route)) for route in served) if mode == "error" else 1
    now = datetime.now(UTC)
    for _ in range(turns):
        for call in (
            adapter.verify,
            lambda: adapter.search_available(country="US"),
            lambda: adapter.search_available(country="US", kind="toll_free"),
            lambda: adapter.search_available(country="GB", kind="mobile"),
            lambda: adapter.buy("+14155550101", reference="op-1"),
            lambda: adapter.order_status(ref),
            lambda: adapter.find_orders("op-1"),
            lambda: adapter.find_owned("+14155550100"),
            adapter.list_owned,
            lambda: adapter.route_inbound(ref, WEBHOOK),
            lambda: adapter.restore_routing(ref, Routing(voice_url="https://old.example.com/voice")),
            lambda: adapter.dial(
                from_e164="+14155550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="c"
            ),
            lambda: adapter.dial(
                from_e164="+14155550100",
                to_e164="+12125550199",
                webhook_url=WEBHOOK,
                reference="c",
                status_url=WEBHOOK + "?call=c",
            ),  # fmt: skip
            lambda: adapter.call_status(next(iter(server.calls), "CA" + "0" * 32)),
            lambda: adapter.find_call(
                reference="c", from_e164="+14155550100", to_e164="+12125550199", attempted_at=now
            ),
            lambda: adapter.monthly_prices("US"),
            lambda: adapter.requirements("GB", "local"),
            lambda: adapter.compliance("GB", "local"),
            lambda: adapter.reputation("+14155550100", fresh=True),
            lambda: getattr(adapter, "reputations", list)(),
            lambda: adapter.release(ref),
        ):
            attempt(call)
    return first


@pytest.fixture(scope="module", params=[(name, mode) for name in CASES for mode in ("sparse", "error")])
def moded(request):
    name, mode = request.param
    case = CASES[name]
    with case.server_class() as server:
        adapter = case.adapter_class(server.credentials, base_url=server.base_url, timeout=2)
        first = drive_in_mode(server, adapter, mode)
    return case, Spec(case.spec, case.supplement, case.also), server, mode, first


def test_sparse_and_error_answers_match_the_official_schema(moded):
    case, spec, server, mode, first = moded

    served = [s for s in server.responses[first:] if s.route]
    assert served and server.crashes == []
    assert answer_problems(case, spec, server) == []
    if mode == "sparse":  # the least answers: somewhere a whole answer shrinks to nothing
        assert any(s.body == {} for s in served)
    else:
        assert all(s.status >= 400 for s in served)
        errors = {(s.method, s.route, s.status, json.dumps(s.body)) for s in served}
        documented = {
            (route.method, route.template, status, json.dumps(body))
            for route in server.routes
            if not route.public
            for status, body in server.documented_errors(route)
        }
        assert errors <= documented
        reached = {(s.method, s.route) for s in served}
        assert {d for d in documented if d[:2] in reached} <= errors  # each route it reached: every error


def test_requests_in_sparse_and_error_modes_use_documented_values(moded):
    case, spec, server, mode, first = moded

    assert request_problems(spec, server) == []


def test_nullable_becomes_a_type_union():
    schema = nullable_to_union(
        {"properties": {"sid": {"type": "string", "nullable": True}, "nullable": {"type": "boolean"}}}
    )

    assert schema["properties"]["sid"] == {"type": ["string", "null"]}
    assert schema["properties"]["nullable"] == {"type": "boolean"}  # a property named nullable stays


def test_twilio_names_the_type_on_the_wire():
    schema = twilio_wire_types(
        {
            "properties": {
                "price": {"type": "number", "x-twilio": {"overrideType": "string"}},
                "unit": {"type": ["number", "null"], "x-twilio": {"overrideType": "string"}},
                "count": {"type": "integer"},
            }
        }
    )

    assert schema["properties"]["price"]["type"] == "string"
    assert schema["properties"]["unit"]["type"] == ["string", "null"]
    assert schema["properties"]["count"] == {"type": "integer"}
