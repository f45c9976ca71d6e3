"""The fakes speak the providers' real wire format.

The adapters drive every route of each fake, success paths and error bodies alike; then every answer
the fake recorded is validated against the official OpenAPI document in provider-specs/, and every
request the adapters sent is checked against the documented parameters. A fake that drifts from the
provider fails here, not in production.

An operation the shared documents lack is described in tests/fakes/specs/ (each file says where its
facts come from) and merged in; a test fails once the official document covers it, to drop it then.
"""

import json
import os
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT202012

from providers.adapters.base import ProviderError, ProviderUnavailable
from providers.telnyx.adapter import TelnyxAdapter
from providers.twilio.adapter import TwilioAdapter
from tests.fakes.common import FakeProviderServer
from tests.fakes.telnyx_server import TelnyxServer
from tests.fakes.twilio_server import TwilioServer

SPECS = Path(
    os.environ.get("PROVIDER_SPECS_DIR")
    or Path(__file__).resolve().parents[2].parent / "shared" / "provider-specs"
)
TWILIO_SPEC, TELNYX_SPEC = SPECS / "twilio-numbers-calls.json", SPECS / "telnyx-numbers-calls.json"
TWILIO_PRICING_SPEC = SPECS / "twilio-pricing.json"
TELNYX_SUPPLEMENT = Path(__file__).resolve().parents[1] / "fakes" / "specs" / "telnyx-supplement.json"
if not (TWILIO_SPEC.is_file() and TELNYX_SPEC.is_file() and TWILIO_PRICING_SPEC.is_file()):
    pytest.skip(
        f"Provider OpenAPI documents not found in {SPECS}: set PROVIDER_SPECS_DIR to the folder holding "
        "twilio-numbers-calls.json, twilio-pricing.json and telnyx-numbers-calls.json.",
        allow_module_level=True,
    )

# Twilio's OpenAPI document describes no error bodies; this is the format its error docs describe.
TWILIO_ERROR = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "more_info": {"type": "string"},
        "status": {"type": "integer"},
    },
    "additionalProperties": False,
}
ERROR_STATUSES = (400, 401, 403, 404, 409, 422, 429, 500, 503)
WEBHOOK = "https://dialtone.example.com/hooks/inbound"


def nullable_to_union(node: Any) -> Any:
    """OAS 3.0 writes `nullable: true`; JSON Schema writes a type that may be null."""
    if isinstance(node, list):
        return [nullable_to_union(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {
        key: nullable_to_union(value)
        for key, value in node.items()
        if not (key == "nullable" and value is True)
    }
    if node.get("nullable") is True:
        if isinstance(schema.get("type"), str):
            schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
        if "type" not in schema:
            schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def twilio_wire_types(node: Any) -> Any:
    """Twilio's documents type some fields for its SDK generators and name the type on the wire in
    `x-twilio.overrideType` (the Pricing API's prices: "number", sent as strings like "1.15")."""
    if isinstance(node, list):
        return [twilio_wire_types(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: twilio_wire_types(value) for key, value in node.items()}
    wire = (node.get("x-twilio") or {}).get("overrideType")
    if wire in ("string", "integer", "number", "boolean"):
        schema["type"] = [wire, "null"] if isinstance(schema.get("type"), list) else wire
    return schema


def pointer_part(text: str) -> str:
    return text.replace("~", "~0").replace("/", "~1")


class Spec:
    """One OpenAPI document (plus its supplement), registered so that its internal $refs resolve."""

    def __init__(self, path: Path, supplement: Path | None = None, also: tuple[Path, ...] = ()):
        document = json.loads(path.read_text())
        for extra_path in (*also, *([supplement] if supplement else [])):
            extra = json.loads(extra_path.read_text())
            document["paths"].update(extra["paths"])
            document["components"]["schemas"].update(extra["components"]["schemas"])
        self.oas30 = document["openapi"].startswith("3.0")
        self.document = twilio_wire_types(nullable_to_union(document)) if self.oas30 else document
        self.uri = f"urn:spec:{path.name}"
        # Draft 7 ignores the siblings of a $ref, as OAS 3.0 does.
        specification = DRAFT7 if self.oas30 else DRAFT202012
        self.registry = Registry().with_resource(
            self.uri, Resource.from_contents(self.document, default_specification=specification)
        )
        self.validator_class = Draft7Validator if self.oas30 else Draft202012Validator

    def at(self, pointer: str) -> Any:
        node = self.document
        for part in pointer.strip("/").split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def followed(self, pointer: str) -> str:
        """The pointer of the object at `pointer`, after following any $ref it is."""
        node = self.at(pointer)
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self.at(pointer)
        return pointer

    def operation_pointer(self, template: str, method: str) -> str:
        return f"/paths/{pointer_part(template)}/{method.lower()}"

    def documents(self, template: str, method: str) -> bool:
        return method.lower() in self.document["paths"].get(template, {})

    def response_schema(self, template: str, method: str, status: int) -> dict | None:
        responses = self.at(self.operation_pointer(template, method) + "/responses")
        key = str(status) if str(status) in responses else "default" if "default" in responses else None
        if key is None:
            return None
        response = self.followed(self.operation_pointer(template, method) + f"/responses/{key}")
        if "application/json" not in self.at(response).get("content", {}):
            return None
        return {"$ref": f"{self.uri}#{response}/content/application~1json/schema"}

    def request_schema(self, template: str, method: str, content_type: str) -> dict | None:
        operation = self.at(self.operation_pointer(template, method))
        if "requestBody" not in operation:
            return None
        body = self.followed(self.operation_pointer(template, method) + "/requestBody")
        if content_type not in self.at(body).get("content", {}):
            return None
        return {"$ref": f"{self.uri}#{body}/content/{pointer_part(content_type)}/schema"}

    def query_parameters(self, template: str, method: str) -> set[str]:
        """Names of the query parameters, declared on the operation or on its path."""
        names = set()
        for owner in (self.operation_pointer(template, method), f"/paths/{pointer_part(template)}"):
            for i, _ in enumerate(self.at(owner).get("parameters", [])):
                parameter = self.at(self.followed(f"{owner}/parameters/{i}"))
                if parameter.get("in") == "query":
                    names.add(parameter["name"])
        return names

    def problems(self, schema: dict, instance: Any) -> list[str]:
        validator = self.validator_class(schema, registry=self.registry, format_checker=FormatChecker())
        return [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(instance)]


def attempt(call: Callable[[], Any]) -> None:
    """Drive a path whose failure is the point; the adapter tests check what the failure says."""
    with suppress(ProviderError, ProviderUnavailable):
        call()


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
    twilio.dial(from_e164="+14155550100", to_e164="+12125550199", webhook_url=WEBHOOK, reference="c")
    now = datetime.now(UTC)
    twilio.find_call(reference="c", from_e164="+14155550100", to_e164="+12125550199", attempted_at=now)
    twilio.find_call(reference="x", from_e164="+14155550100", to_e164="+12125550100", attempted_at=now)
    twilio.release(purchase.ref)
    twilio.release(purchase.ref)  # 404
    attempt(lambda: twilio.buy("+14155550100", reference="op-2"))  # 21422
    attempt(lambda: twilio.dial(from_e164="+19995550100", to_e164="+1", webhook_url=WEBHOOK, reference="c"))
    attempt(TwilioAdapter({**server.credentials, "auth_token": "wrong"}, base_url=server.base_url).verify)
    for status in ERROR_STATUSES:
        server.fail_next("GET", "*/IncomingPhoneNumbers.json", status)
        attempt(twilio.list_owned)
    server.fail_next("GET", "*/Calls.json", 500)
    attempt(lambda: twilio.find_call(reference="c", from_e164="+1", to_e164="+1", attempted_at=now))
    drive_twilio_pricing(server, twilio)


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
    telnyx.release(ref)
    telnyx.release(ref)  # 404
    attempt(lambda: telnyx.buy("+14155550100", reference="op-3"))  # 422: not available
    attempt(lambda: telnyx.order_status("00000000-0000-0000-0000-000000000000"))
    attempt(TelnyxAdapter({**server.credentials, "api_key": "wrong"}, base_url=server.base_url).verify)
    attempt(TelnyxAdapter({**server.credentials, "connection_id": "404"}, base_url=server.base_url).verify)
    attempt(lambda: telnyx.dial(from_e164="+14155550100", to_e164="", webhook_url=WEBHOOK, reference="c"))
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


def sparse_offers(body: dict) -> dict:
    offers = body["data"]
    offers[0] = {"phone_number": offers[0]["phone_number"]}
    offers[1]["cost_information"] = {}
    return body


@dataclass(frozen=True)
class Case:
    spec: Path
    server_class: type[FakeProviderServer]
    drive: Callable[[Any], None]
    error_schema: dict | None  # for errors the document does not describe; None: use the document's
    supplement: Path | None = None  # operations the shared document lacks (tests/fakes/specs/)
    also: tuple[Path, ...] = ()  # the provider's other official documents (another API host)


CASES = {
    "twilio": Case(TWILIO_SPEC, TwilioServer, drive_twilio, TWILIO_ERROR, also=(TWILIO_PRICING_SPEC,)),
    "telnyx": Case(TELNYX_SPEC, TelnyxServer, drive_telnyx, None, TELNYX_SUPPLEMENT),
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

    assert problems == []


def test_every_request_uses_documented_parameters(driven):
    case, spec, server = driven
    problems = []

    for request in server.requests:
        route, _ = server.route_for(request)
        if route is None or route.public or not spec.documents(route.template, request.method):
            continue
        where = f"{request.method} {request.path}"
        known = spec.query_parameters(route.template, request.method)
        problems += [f"{where}: query {key}" for key in request.query if key.split("[")[0] not in known]
        if request.body is None:
            continue
        if (
            isinstance(request.body, dict)
            and "Content-Type" in request.headers
            and "json" in request.headers["Content-Type"]
        ):
            schema = spec.request_schema(route.template, request.method, "application/json")
            problems += [f"{where}: body {problem}" for problem in spec.problems(schema, request.body)]
        else:
            schema = spec.request_schema(route.template, request.method, "application/x-www-form-urlencoded")
            fields = set(spec.at(schema["$ref"].split("#")[1]).get("properties", {}))
            problems += [f"{where}: form field {key}" for key in request.body if key not in fields]

    assert problems == []


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
