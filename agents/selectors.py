"""Reads about agents and variants, for the Agents page and for other apps (the Numbers desk)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Lower

from agents import signals
from agents.models import Agent, Publication, Variant
from tenants.models import Environment


def environments_in_order() -> list[Environment]:
    """The workspace's environments, Live first, as every page lists them."""
    return sorted(Environment.objects.all(), key=lambda e: e.position)


@dataclass(frozen=True)
class VariantRow:
    variant: Variant
    publications: list[Publication | None]  # one per environment of the page, in its order


@dataclass(frozen=True)
class AgentRow:
    agent: Agent
    variants: list[VariantRow]
    numbers: int  # held numbers routed to it


@dataclass(frozen=True)
class AgentsPage:
    environments: list[Environment]
    rows: list[AgentRow]

    @property
    def new_variants(self) -> list[Variant]:
        """Variants never published: PolyAI's "New variant added - publish so you can assign it"."""
        return [v.variant for row in self.rows for v in row.variants if v.variant.changed_since_publish]


def agents_page() -> AgentsPage:
    """Every agent, its variants and where each is published, in a fixed number of queries."""
    environments = environments_in_order()
    variants = Variant.objects.prefetch_related("publications")
    agents = Agent.objects.prefetch_related(Prefetch("variants", queryset=variants))
    counts = numbers_per_agent()
    rows = [
        AgentRow(
            agent=agent,
            variants=[_variant_row(variant, environments) for variant in agent.variants.all()],
            numbers=counts.get(agent.pk, 0),
        )
        for agent in agents
    ]
    return AgentsPage(environments=environments, rows=rows)


def _variant_row(variant: Variant, environments: list[Environment]) -> VariantRow:
    by_environment = {p.environment_id: p for p in variant.publications.all()}
    return VariantRow(variant=variant, publications=[by_environment.get(env.pk) for env in environments])


def variants_published_to(environment: Environment) -> QuerySet[Variant]:
    """The variants numbers in `environment` may be assigned to."""
    return (
        Variant.objects.filter(publications__environment=environment)
        .select_related("agent")
        .order_by(Lower("agent__name"), Lower("name"))
    )


def assignable_agents(environment: Environment) -> QuerySet[Agent]:
    """Agents a number in `environment` may be routed to, each with `published_variants` there.

    Every agent qualifies: with no variant chosen, calls go to the agent's own SIP destination.
    Only the variant choice depends on the environment (see `variants_published_to`).
    """
    return Agent.objects.annotate(
        published_variants=Count(
            "variants__publications", filter=Q(variants__publications__environment=environment)
        )
    ).order_by(Lower("name"))


def routed_numbers(*, agent=None, variant=None, environment=None) -> QuerySet:
    """The held numbers routed to `agent` / `variant` (in `environment`), by number.

    The one check behind "refuse to delete or unpublish while numbers route to it".
    """
    if agent is None and variant is None:
        raise TypeError("routed_numbers needs an agent or a variant")
    return signals.answer(signals.routed_numbers, agent=agent, variant=variant, environment=environment)


def numbers_routed_to(*, agent=None, variant=None, environment=None) -> list[str]:
    """E.164 of `routed_numbers`."""
    numbers = routed_numbers(agent=agent, variant=variant, environment=environment)
    return list(numbers.values_list("e164", flat=True))


def numbers_per_agent() -> dict[int, int]:
    """{agent id: held numbers routed to it}."""
    return signals.answer(signals.numbers_per_agent)
