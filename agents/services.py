"""Agents and variants: create, edit, delete, publish. Every write is audited.

Names are unique per workspace (agents) and per agent (variants), in any case; the database has the
last word, so a double submit gets the same friendly error as a typed duplicate.
Removing what phone numbers route to is refused with the numbers (`AgentInUse`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from agents.models import Agent, Publication, Variant
from agents.selectors import numbers_routed_to
from tenants.audit import audit, changes
from tenants.display import phones_listed
from tenants.models import Environment, Workspace


class AgentInUse(Exception):
    """Refused because phone numbers still route to the agent or variant; `numbers` lists them."""

    SHOWN = 5

    def __init__(self, refusal: str, numbers: list[str], advice: str = "Assign them elsewhere first."):
        self.numbers = numbers
        listed = phones_listed(numbers, self.SHOWN)
        routes = "number routes" if len(numbers) == 1 else "numbers route"
        super().__init__(f"{refusal}: {len(numbers)} {routes} to it ({listed}). {advice}")


def _tidy(text: str) -> str:
    """Names are compared as people read them: no outer spaces, no runs of spaces."""
    return " ".join((text or "").split())


def _save_unique(obj: Agent | Variant, duplicate: str, update_fields: list[str] | None = None) -> None:
    """Validate fields, then save; a name clash (typed, or a double submit racing) becomes `duplicate`."""
    obj.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            obj.save(update_fields=update_fields)
    except IntegrityError:
        raise ValidationError({"name": duplicate}) from None


# ---- Agents --------------------------------------------------------------------------------------


@transaction.atomic
def agent_create(
    *, workspace: Workspace, actor, name: str, sip_destination: str, description: str = ""
) -> Agent:
    agent = Agent(
        workspace=workspace,
        name=_tidy(name),
        sip_destination=sip_destination.strip(),
        description=description.strip(),
    )
    _save_unique(agent, f"An agent named “{agent.name}” already exists.")
    audit(actor=actor, action="agent.created", target=agent, sip_destination=agent.sip_destination)
    return agent


@transaction.atomic
def agent_update(*, agent: Agent, actor, name: str, sip_destination: str, description: str = "") -> Agent:
    fields = ("name", "sip_destination", "description")
    before = {f: getattr(agent, f) for f in fields}
    agent.name, agent.sip_destination = _tidy(name), sip_destination.strip()
    agent.description = description.strip()
    changed = changes(before, {f: getattr(agent, f) for f in fields})
    if not changed:
        return agent
    _save_unique(agent, f"Another agent is already named “{agent.name}”.", [*changed, "updated_at"])
    audit(actor=actor, action="agent.updated", target=agent, changed=changed)
    return agent


@transaction.atomic
def agent_delete(*, agent: Agent, actor) -> None:
    """Delete the agent with its variants, unless numbers route to it."""
    # Locked first: a number being routed to it concurrently waits, then fails its foreign key.
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    numbers = numbers_routed_to(agent=agent)
    if numbers:
        raise AgentInUse(f"“{agent.name}” can't be deleted", numbers)
    variants = list(agent.variants.values_list("name", flat=True))
    audit(actor=actor, action="agent.deleted", target=agent, variants=variants)
    agent.delete()  # released and detached numbers keep their history; their agent link is cleared


# ---- Variants ------------------------------------------------------------------------------------


@transaction.atomic
def variant_create(*, agent: Agent, actor, name: str) -> Variant:
    """A new variant starts unpublished: numbers can use it once it is published to their environment."""
    variant = Variant(workspace_id=agent.workspace_id, agent=agent, name=_tidy(name))
    _save_unique(variant, f"{agent.name} already has a variant named “{variant.name}”.")
    audit(actor=actor, action="variant.created", target=variant, agent=agent.name)
    return variant


@transaction.atomic
def variant_update(*, variant: Variant, actor, name: str) -> Variant:
    old, variant.name = variant.name, _tidy(name)
    if variant.name == old:
        return variant
    duplicate = f"{variant.agent.name} already has a variant named “{variant.name}”."
    _save_unique(variant, duplicate, ["name", "updated_at"])
    audit(
        actor=actor,
        action="variant.updated",
        target=variant,
        agent=variant.agent.name,
        changed={"name": [old, variant.name]},
    )
    return variant


@transaction.atomic
def variant_delete(*, variant: Variant, actor) -> None:
    variant = Variant.objects.select_for_update().select_related("agent").get(pk=variant.pk)
    numbers = numbers_routed_to(variant=variant)
    if numbers:
        raise AgentInUse(f"Variant “{variant.name}” can't be deleted", numbers)
    audit(actor=actor, action="variant.deleted", target=variant, agent=variant.agent.name)
    variant.delete()


@transaction.atomic
def variant_publish(*, variant: Variant, environment: Environment, actor) -> Publication:
    """Publish to one environment; publishing again changes nothing."""
    publication = Publication.objects.filter(variant=variant, environment=environment).first()
    if publication is not None:
        return publication
    try:
        with transaction.atomic():
            publication = Publication.objects.create(
                variant=variant, environment=environment, published_by=actor
            )
    except IntegrityError:  # a concurrent publish of the same variant won: the outcome is the same
        return Publication.objects.get(variant=variant, environment=environment)
    if variant.changed_since_publish:
        variant.changed_since_publish = False
        variant.save(update_fields=["changed_since_publish"])
    audit(
        actor=actor,
        action="variant.published",
        target=variant,
        agent=variant.agent.name,
        environment=environment.kind,
    )
    return publication


@transaction.atomic
def variant_unpublish(*, variant: Variant, environment: Environment, actor) -> None:
    """Withdraw from one environment, unless numbers there route to the variant."""
    variant = Variant.objects.select_for_update().select_related("agent").get(pk=variant.pk)
    numbers = numbers_routed_to(variant=variant, environment=environment)
    if numbers:
        raise AgentInUse(f"“{variant.name}” can't be unpublished from {environment}", numbers)
    deleted, _ = Publication.objects.filter(variant=variant, environment=environment).delete()
    if deleted:
        audit(
            actor=actor,
            action="variant.unpublished",
            target=variant,
            agent=variant.agent.name,
            environment=environment.kind,
        )


@transaction.atomic
def variant_publish_to(*, variant: Variant, environments: Iterable[Environment], actor) -> Variant:
    """Make `environments` exactly where the variant is published: all of it, or nothing if refused."""
    wanted = {env.pk: env for env in environments}
    current = {
        pub.environment_id: pub.environment for pub in variant.publications.select_related("environment")
    }
    for pk, environment in current.items():
        if pk not in wanted:
            variant_unpublish(variant=variant, environment=environment, actor=actor)
    for pk, environment in wanted.items():
        if pk not in current:
            variant_publish(variant=variant, environment=environment, actor=actor)
    return variant
