"""Every API route, the permission it needs, and a request a permitted key's call would act on. The schema
test (test_schema.py) proves this list is every operation of the OpenAPI document, so the matrix
(test_matrix.py) covers each route the day it is added."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI's form: /api/v1/numbers/{number_id}
    permission: str
    body: dict | None = None
    headers: dict = field(default_factory=dict)

    def concrete(self, values: dict) -> str:
        return self.path.format(**values)


BUY = {"connection_id": "{connection_id}", "environment": "live", "e164": "+14155550100"}

CAMPAIGN = {"name": "Hijack", "environment": "live", "tags": ["callers"], "destinations": ["+14155550111"]}

ROUTES = [
    Route("GET", "/api/v1/numbers", "workspace.view"),
    Route("GET", "/api/v1/numbers/{number_id}", "workspace.view"),
    Route("POST", "/api/v1/numbers", "numbers.manage", BUY, {"Idempotency-Key": "matrix-buy-1"}),
    Route("POST", "/api/v1/numbers/link", "numbers.manage", BUY | {"e164": "+14155550101"}),
    Route("PATCH", "/api/v1/numbers/{number_id}", "numbers.manage", {"version": 0, "tags": ["hijacked"]}),
    Route("POST", "/api/v1/numbers/{number_id}/detach", "numbers.manage", {}),
    Route("POST", "/api/v1/numbers/{number_id}/delete", "numbers.release", {}),
    Route("POST", "/api/v1/numbers/{number_id}/restore", "numbers.manage", {}),
    Route(
        "POST",
        "/api/v1/numbers/{number_id}/release",
        "numbers.release",
        {},
        {"Idempotency-Key": "matrix-rel-1"},
    ),
    Route("GET", "/api/v1/connections/{connection_id}/inventory", "numbers.manage"),
    Route(
        "POST",
        "/api/v1/numbers/bulk",
        "numbers.manage",
        {"action": "tag", "ids": ["{number_id}"], "tags": ["x"]},
    ),
    Route("GET", "/api/v1/numbers/export", "workspace.view"),
    Route("POST", "/api/v1/numbers/import", "numbers.manage", {}),
    Route("GET", "/api/v1/jobs", "workspace.view"),
    Route("GET", "/api/v1/jobs/{job_id}", "workspace.view"),
    Route("GET", "/api/v1/jobs/{job_id}/items", "workspace.view"),
    Route("POST", "/api/v1/jobs/{job_id}/confirm", "numbers.manage", {}),
    Route(
        "POST",
        "/api/v1/numbers/bulk-buy/quote",
        "numbers.manage",
        {"connection_id": "{connection_id}", "environment": "live", "area_codes": ["415"], "quantity": 2},
    ),
    Route(
        "POST",
        "/api/v1/numbers/bulk-buy",
        "numbers.manage",
        {"quote_id": "{job_id}", "quote_hash": "0" * 32},
        {"Idempotency-Key": "matrix-bulk-1"},
    ),
    Route("GET", "/api/v1/numbers/bulk-buy/{job_id}", "workspace.view"),
    Route("GET", "/api/v1/tags", "workspace.view"),
    Route("GET", "/api/v1/agents", "workspace.view"),
    Route(
        "POST", "/api/v1/agents", "agents.manage", {"name": "Hijack", "sip_destination": "sip:x@evil.example"}
    ),
    Route("GET", "/api/v1/agents/{agent_id}", "workspace.view"),
    Route(
        "PUT",
        "/api/v1/agents/{agent_id}",
        "agents.manage",
        {"name": "Hijacked", "sip_destination": "sip:x@evil.example"},
    ),
    Route("DELETE", "/api/v1/agents/{agent_id}", "agents.manage"),
    Route(
        "POST",
        "/api/v1/agents/{agent_id}/variants",
        "agents.manage",
        {"name": "evil", "published_to": ["live"]},
    ),
    Route(
        "PUT",
        "/api/v1/agents/{agent_id}/variants/{variant_id}",
        "agents.manage",
        {"name": "evil", "published_to": []},
    ),
    Route("DELETE", "/api/v1/agents/{agent_id}/variants/{variant_id}", "agents.manage"),
    Route("GET", "/api/v1/do-not-call", "workspace.view"),
    Route("POST", "/api/v1/do-not-call", "campaigns.manage", {"numbers": ["+14155550999"]}),
    Route("DELETE", "/api/v1/do-not-call/{entry_id}", "campaigns.manage"),
    Route("GET", "/api/v1/pacing", "workspace.view"),
    Route("GET", "/api/v1/pacing/{environment}", "workspace.view"),
    Route("PUT", "/api/v1/pacing/{environment}", "pacing.manage", {"enabled": True, "gap_seconds": 60}),
    Route("GET", "/api/v1/campaigns", "workspace.view"),
    Route("POST", "/api/v1/campaigns", "campaigns.manage", CAMPAIGN),
    Route("GET", "/api/v1/campaigns/{campaign_id}", "workspace.view"),
    Route("POST", "/api/v1/campaigns/{campaign_id}/start", "campaigns.manage", {}),
    Route("POST", "/api/v1/campaigns/{campaign_id}/pause", "campaigns.manage", {}),
    Route("POST", "/api/v1/campaigns/{campaign_id}/resume", "campaigns.manage", {}),
    Route("POST", "/api/v1/campaigns/{campaign_id}/cancel", "campaigns.manage", {}),
    Route("GET", "/api/v1/campaigns/{campaign_id}/calls", "workspace.view"),
    Route("GET", "/api/v1/connections", "providers.manage"),
    Route(
        "POST",
        "/api/v1/connections",
        "providers.manage",
        {"provider": "sandbox", "label": "Hijack", "credentials": {}},
    ),
    Route("PUT", "/api/v1/connections/{connection_id}", "providers.manage", {"label": "Hijacked"}),
    Route("POST", "/api/v1/connections/{connection_id}/verify", "providers.manage", {}),
    Route("DELETE", "/api/v1/connections/{connection_id}", "providers.manage"),
]


def body_for(route: Route, values: dict):
    if route.body is None:
        return None

    def value(v):
        if isinstance(v, list):
            return [value(item) for item in v]
        return int(v.format(**values)) if isinstance(v, str) and v.startswith("{") else v

    return {k: value(v) for k, v in route.body.items()}
