"""The providers' official OpenAPI documents (tests/fakes/specs/official/, vendored from the team's checked
provider specs, plus tests/fakes/specs/ for what they lack), read so that the fakes can answer from them
and the contract test can check against them.

`Spec.sparse` makes the least answer a schema allows from a full one: optional fields absent, required
nullable fields null, required objects reduced the same way (so the `data` envelope Telnyx never requires
goes). `Spec.error_answers` gives an operation's documented error statuses with the spec's own bodies:
its examples, and the least body its error schema allows.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT202012

SPECS = Path(os.environ.get("PROVIDER_SPECS_DIR") or Path(__file__).resolve().parent / "specs" / "official")
TWILIO_SPEC, TELNYX_SPEC = SPECS / "twilio-numbers-calls.json", SPECS / "telnyx-numbers-calls.json"
TWILIO_PRICING_SPEC = SPECS / "twilio-pricing.json"
# Regulations and bundles (numbers.twilio.com): what a country requires before purchase.
TWILIO_REGULATORY_SPEC = SPECS / "twilio-regulatory.json"
# Number Reputation (and regulatory requirements) is another document of the same API host.
TELNYX_REPUTATION_SPEC = SPECS / "telnyx-reputation-regulatory.json"
TELNYX_SUPPLEMENT = Path(__file__).resolve().parent / "specs" / "telnyx-supplement.json"

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

# Formats the documents use that jsonschema does not check by itself (it checks none of these without
# optional packages): only what the adapters send is checked with them.
REQUEST_FORMATS = FormatChecker()


@REQUEST_FORMATS.checks("uri")
def _absolute_uri(value: object) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is not None and bool(parts.scheme and parts.netloc)


@REQUEST_FORMATS.checks("phone-number")
def _e164(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"\+[1-9]\d{1,14}", value) is not None


@REQUEST_FORMATS.checks("endpoint")
def _endpoint(value: object) -> bool:
    # A phone number, a SIP address or a client identifier (Twilio's To and From).
    return not isinstance(value, str) or _e164(value) or value.startswith(("sip:", "client:"))


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
            # The reputation document is OAS 3.1 but writes 3.0's `nullable` (its fields are null until a
            # first refresh): read as meant. A no-op for the documents that don't.
            extra = nullable_to_union(json.loads(extra_path.read_text()))
            document["paths"].update(extra["paths"])
            for section, named in extra["components"].items():
                document["components"].setdefault(section, {}).update(named)
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

    def parameters(self, template: str, method: str, where: str) -> dict[str, str]:
        """Pointers to the schemas of the operation's parameters `where` ("query", "path"), by name."""
        found = {}
        for owner in (self.operation_pointer(template, method), f"/paths/{pointer_part(template)}"):
            for i, _ in enumerate(self.at(owner).get("parameters", [])):
                pointer = self.followed(f"{owner}/parameters/{i}")
                parameter = self.at(pointer)
                if parameter.get("in") == where:
                    found.setdefault(parameter["name"], f"{pointer}/schema")
        return found

    def wire_value(self, pointer: str, text: str) -> Any:
        """A query or form value (always text on the wire) as the type its schema names, where it reads as
        one; otherwise the text, for the schema to refuse."""
        node = self.at(self.followed(pointer))
        types = node.get("type", [])
        types = [types] if isinstance(types, str) else types
        if "integer" in types and re.fullmatch(r"-?\d+", text):
            return int(text)
        if "number" in types and re.fullmatch(r"-?\d+(\.\d+)?", text):
            return float(text)
        if "boolean" in types and text in ("true", "false"):
            return text == "true"
        if "array" in types:
            return [self.wire_value(f"{self.followed(pointer)}/items", part) for part in text.split(",")]
        return text

    def value_problems(self, pointer: str, text: str) -> list[str]:
        """What the schema at `pointer` says against a value sent as text, formats of requests included."""
        return self.problems(
            {"$ref": f"{self.uri}#{pointer}"}, self.wire_value(pointer, text), REQUEST_FORMATS
        )

    def problems(self, schema: dict, instance: Any, formats: FormatChecker | None = None) -> list[str]:
        checker = formats or FormatChecker()
        validator = self.validator_class(schema, registry=self.registry, format_checker=checker)
        return [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(instance)]

    # --- the least answer a schema allows -----------------------------------------------------------------
    def sparse(self, template: str, method: str, status: int, body: Any) -> Any:
        schema = self.response_schema(template, method, status)
        return body if schema is None else self._least(schema["$ref"].split("#", 1)[1], body)

    def _least(self, pointer: str, value: Any) -> Any:
        pointer = self.followed(pointer)
        node = self.at(pointer)
        if value is None or not isinstance(node, dict):
            return value
        for key in ("anyOf", "oneOf"):
            if key in node:
                options = [f"{pointer}/{key}/{i}" for i in range(len(node[key]))]
                fits = [p for p in options if not self.problems({"$ref": f"{self.uri}#{p}"}, value)]
                return self._least(fits[0], value) if fits else value
        if isinstance(value, list):
            return [self._least(f"{pointer}/items", item) for item in value] if "items" in node else value
        if not isinstance(value, dict):
            return value
        least: dict[str, Any] = {}
        for owner in [pointer, *self._all_of(pointer)]:
            owned = self.at(owner)
            for name in owned.get("required", []):
                if name not in value:
                    continue
                field = f"{owner}/properties/{pointer_part(name)}"
                known = name in owned.get("properties", {})
                least[name] = None if known and self.nullable(field) else (
                    self._least(field, value[name]) if known else value[name]
                )  # fmt: skip
        return least

    def _all_of(self, pointer: str) -> list[str]:
        node = self.at(pointer)
        parts = [self.followed(f"{pointer}/allOf/{i}") for i in range(len(node.get("allOf", [])))]
        return [deeper for part in parts for deeper in (part, *self._all_of(part))]

    def nullable(self, pointer: str) -> bool:
        node = self.at(self.followed(pointer))
        types = node.get("type")
        options = node.get("anyOf", []) + node.get("oneOf", [])
        return (
            types == "null"
            or (isinstance(types, list) and "null" in types)
            or any(isinstance(o, dict) and o.get("type") == "null" for o in options)
        )

    # --- the documented errors ----------------------------------------------------------------------------
    def error_answers(self, template: str, method: str) -> list[tuple[int, Any]]:
        """(status, body) for each error the operation documents: each example the document gives, then the
        least body its schema allows. `default` is answered as 400 and 500."""
        operation = self.operation_pointer(template, method)
        answers: list[tuple[int, Any]] = []
        for key in self.at(operation + "/responses"):
            if not (key == "default" or key[0] in "45"):
                continue
            response = self.followed(f"{operation}/responses/{key}")
            content = self.at(response).get("content", {}).get("application/json")
            if content is None:
                continue
            examples = [content["example"]] if "example" in content else []
            examples += [e["value"] for e in content.get("examples", {}).values() if "value" in e]
            # From an example where there is one: a schema requiring a non-empty list (the reputation
            # document's `errors`) is met by its least entry, not by nothing.
            least = self._least(f"{response}/content/application~1json/schema", (examples or [{}])[0])
            for status in (400, 500) if key == "default" else (int(key),):
                answers += [(status, example) for example in [*examples, least]]
        return answers


@cache
def spec_for(provider: str) -> Spec:
    """The official documents of `provider` ("twilio" or "telnyx"), merged, loaded once per process."""
    if provider == "twilio":
        return Spec(TWILIO_SPEC, also=(TWILIO_PRICING_SPEC, TWILIO_REGULATORY_SPEC))
    return Spec(TELNYX_SPEC, TELNYX_SUPPLEMENT, also=(TELNYX_REPUTATION_SPEC,))
