"""/api/v1/agents: agents and their variants, published to environments (the Agents page's services)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from agents.models import Agent, Variant
from agents.services import (
    agent_create,
    agent_delete,
    agent_update,
    variant_create,
    variant_delete,
    variant_publish_to,
    variant_update,
)
from api.base import allow
from api.numbers import EnvironmentKind
from tenants.models import Environment

router = Router(tags=["agents"])


class VariantOut(Schema):
    id: int
    name: str
    published_to: list[str] = Field(description="The environments numbers may use it in")


class AgentOut(Schema):
    id: int
    name: str
    sip_destination: str
    description: str
    variants: list[VariantOut]


class AgentIn(Schema):
    name: str = Field(max_length=200)
    sip_destination: str = Field(max_length=300, examples=["sip:front-desk@voice.example.com"])
    description: str = Field("", max_length=1000)


class VariantIn(Schema):
    name: str = Field(max_length=200)
    published_to: list[EnvironmentKind] | None = Field(
        None, description="Exactly where it is published; leave out to keep it as it is"
    )


def _agents(queryset):
    agents = list(queryset.prefetch_related("variants__publications__environment").order_by(Lower("name")))
    return [_agent(a) for a in agents]


def _agent(agent: Agent) -> dict:
    return {
        "id": agent.pk, "name": agent.name, "sip_destination": agent.sip_destination,
        "description": agent.description,
        "variants": [_variant(v) for v in sorted(agent.variants.all(), key=lambda v: v.name.lower())],
    }  # fmt: skip


def _variant(variant: Variant) -> dict:
    kinds = sorted(p.environment.kind for p in variant.publications.all())
    return {"id": variant.pk, "name": variant.name, "published_to": kinds}


def access_agent(agent_id: int) -> Agent:
    return get_object_or_404(Agent.objects, pk=agent_id)


def access_variant(agent_id: int, variant_id: int) -> Variant:
    return get_object_or_404(Variant.objects.select_related("agent"), pk=variant_id, agent_id=agent_id)


def _fresh(agent_id: int) -> dict:
    return _agents(Agent.objects.filter(pk=agent_id))[0]


@router.get("/agents", response=list[AgentOut], summary="Agents with their variants")
def agents_list(request: HttpRequest):
    allow(request, "workspace.view")
    return _agents(Agent.objects.all())


@router.post("/agents", response={201: AgentOut}, summary="Create an agent")
def agents_create(request: HttpRequest, body: AgentIn):
    allow(request, "agents.manage")
    agent = agent_create(workspace=request.workspace, actor=request.actor, **body.model_dump())
    return Status(201, _fresh(agent.pk))


@router.get("/agents/{int:agent_id}", response=AgentOut, summary="An agent")
def agents_detail(request: HttpRequest, agent_id: int):
    allow(request, "workspace.view")
    return _fresh(access_agent(agent_id).pk)


@router.put("/agents/{int:agent_id}", response=AgentOut, summary="Edit an agent")
def agents_update(request: HttpRequest, agent_id: int, body: AgentIn):
    allow(request, "agents.manage")
    agent_update(agent=access_agent(agent_id), actor=request.actor, **body.model_dump())
    return _fresh(agent_id)


@router.delete(
    "/agents/{int:agent_id}", response={204: None}, summary="Delete an agent (none of its numbers routed)"
)
def agents_delete(request: HttpRequest, agent_id: int):
    allow(request, "agents.manage")
    agent_delete(agent=access_agent(agent_id), actor=request.actor)
    return Status(204, None)


def _publish(variant: Variant, kinds, actor) -> None:
    if kinds is not None:
        environments = list(Environment.objects.filter(kind__in=kinds))
        variant_publish_to(variant=variant, environments=environments, actor=actor)


@router.post("/agents/{int:agent_id}/variants", response={201: VariantOut}, summary="Create a variant")
def variants_create(request: HttpRequest, agent_id: int, body: VariantIn):
    allow(request, "agents.manage")
    with transaction.atomic():  # all of it, or nothing
        variant = variant_create(agent=access_agent(agent_id), actor=request.actor, name=body.name)
        _publish(variant, body.published_to, request.actor)
    return Status(201, _variant(access_variant(agent_id, variant.pk)))


@router.put(
    "/agents/{int:agent_id}/variants/{int:variant_id}",
    response=VariantOut,
    summary="Rename a variant, and publish it to exactly these environments",
)
def variants_update(request: HttpRequest, agent_id: int, variant_id: int, body: VariantIn):
    allow(request, "agents.manage")
    variant = access_variant(agent_id, variant_id)
    with transaction.atomic():
        variant_update(variant=variant, actor=request.actor, name=body.name)
        _publish(variant, body.published_to, request.actor)
    return _variant(access_variant(agent_id, variant_id))


@router.delete(
    "/agents/{int:agent_id}/variants/{int:variant_id}", response={204: None}, summary="Delete a variant"
)
def variants_delete(request: HttpRequest, agent_id: int, variant_id: int):
    allow(request, "agents.manage")
    variant_delete(variant=access_variant(agent_id, variant_id), actor=request.actor)
    return Status(204, None)
