"""/api/v1/pacing/{environment}: an environment's call pacing policy (the Pacing page's services)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema

from api.base import allow
from api.numbers import EnvironmentKind
from pacing.selectors import policy_of
from pacing.services import policy_update
from tenants.models import Environment

router = Router(tags=["pacing"])


class Window(Schema):
    calls: int = Field(ge=0, le=1_000_000)
    seconds: int = Field(ge=0, le=366 * 86400)


class PolicyBody(Schema):
    enabled: bool = Field(description="Limit call frequency (off keeps the limits for later)")
    gap_seconds: int = Field(0, ge=0, le=366 * 86400, description="Between two calls from a number")
    windows: list[Window] = Field(
        default_factory=list, max_length=10, description="No more than N calls every H"
    )
    daily_cap: int = Field(0, ge=0, le=1_000_000, description="Calls per number per local day (0: none)")
    jitter_seconds: int = Field(0, ge=0, le=86400)
    ramp: list[int] = Field(
        default_factory=list, max_length=60, description="A new number's daily caps, day by day"
    )


class PolicyOut(PolicyBody):
    environment: str


def _policy(environment: Environment) -> dict:
    policy = policy_of(environment)
    limits = policy.limits
    return {
        "environment": environment.kind, "enabled": policy.enabled, "gap_seconds": limits.gap_s,
        "windows": [{"calls": c, "seconds": s} for c, s in limits.windows], "daily_cap": limits.daily_cap,
        "jitter_seconds": limits.jitter_s, "ramp": list(limits.ramp),
    }  # fmt: skip


@router.get("/pacing", response=list[PolicyOut], summary="Every environment's pacing policy")
def pacing_list(request: HttpRequest):
    allow(request, "workspace.view")
    return [_policy(e) for e in sorted(Environment.objects.all(), key=lambda e: e.position)]


@router.get("/pacing/{environment}", response=PolicyOut, summary="An environment's pacing policy")
def pacing_detail(request: HttpRequest, environment: EnvironmentKind):
    allow(request, "workspace.view")
    return _policy(Environment.objects.get(kind=environment))


@router.put("/pacing/{environment}", response=PolicyOut, summary="Set an environment's pacing policy")
def pacing_update(request: HttpRequest, environment: EnvironmentKind, body: PolicyBody):
    allow(request, "pacing.manage")
    env = Environment.objects.get(kind=environment)
    policy_update(
        environment=env, actor=request.actor, enabled=body.enabled, gap_seconds=body.gap_seconds,
        windows=[(w.calls, w.seconds) for w in body.windows], daily_cap=body.daily_cap,
        jitter_seconds=body.jitter_seconds, ramp=body.ramp,
    )  # fmt: skip
    return _policy(env)
