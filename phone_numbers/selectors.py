"""Reads for the Numbers page. A constant number of queries whatever the workspace holds."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.db.models.functions import Lower

from phone_numbers.filters import NumberFilters
from phone_numbers.models import PhoneNumber, Tag
from tenants.models import Environment

PER_PAGE = 50
# Live first: production numbers are what operators look for most.
ENVIRONMENT_ORDER = [Environment.Kind.LIVE, Environment.Kind.PRE_RELEASE, Environment.Kind.SANDBOX]


@dataclass(frozen=True)
class Section:
    environment: Environment
    numbers: list[PhoneNumber]
    count: int


@dataclass(frozen=True)
class NumbersPage:
    page: Page
    sections: list[Section]
    filters: NumberFilters
    total: int


def numbers_matching(filters: NumberFilters) -> QuerySet[PhoneNumber]:
    numbers = PhoneNumber.objects.all()
    if not filters.show_finished:
        numbers = numbers.filter(state__in=PhoneNumber.HELD_STATES)
    if filters.digits:
        numbers = numbers.filter(e164__contains=filters.digits)
    if filters.tags:
        # Numbers carrying every chosen tag: one grouped subquery, however many tags.
        tagged = (
            PhoneNumber.tags.through.objects.filter(tag__in=tags_named(filters.tags))
            .values("phonenumber_id")
            .annotate(matched=Count("tag_id"))
            .filter(matched=len(filters.tags))
            .values("phonenumber_id")
        )
        numbers = numbers.filter(pk__in=tagged)
    return numbers


def tags_named(names) -> QuerySet[Tag]:
    return Tag.objects.annotate(lowered=Lower("name")).filter(lowered__in=[n.lower() for n in names])


def numbers_page(*, filters: NumberFilters, page_number) -> NumbersPage:
    matching = numbers_matching(filters)
    env_position = Case(
        *[When(environment__kind=kind, then=Value(i)) for i, kind in enumerate(ENVIRONMENT_ORDER)],
        output_field=IntegerField(),
    )
    ordered = (
        matching.select_related("environment", "connection")
        .prefetch_related("tags")
        .order_by(env_position, "e164", "pk")
    )
    counts = dict(matching.order_by().values_list("environment_id").annotate(n=Count("pk")))
    paginator = Paginator(ordered, PER_PAGE)
    paginator.count = sum(counts.values())  # already counted per environment: skip Paginator's COUNT
    page = paginator.get_page(page_number)
    rows = list(page.object_list)
    environments = sorted(Environment.objects.all(), key=lambda e: ENVIRONMENT_ORDER.index(e.kind))
    sections = [
        Section(
            environment=env,
            numbers=[n for n in rows if n.environment_id == env.id],
            count=counts.get(env.id, 0),
        )
        for env in environments
    ]
    return NumbersPage(page=page, sections=sections, filters=filters, total=paginator.count)


@dataclass(frozen=True)
class Inventory:
    numbers: list
    error: str = ""


def inventory_for(form) -> Inventory:
    """Available numbers at the chosen connection for the buy modal; a provider failure becomes a sentence."""
    from providers.adapters.base import ProviderError, ProviderUnavailable
    from providers.services import connection_adapter

    params = form.search_params()
    try:
        found = connection_adapter(form.chosen_connection).search_available(
            country=params["country"],
            kind="local",
            area_code=params["area_code"],
            contains=params["contains"],
            limit=20,
        )
    except ProviderError as exc:
        return Inventory(numbers=[], error=exc.message)
    except ProviderUnavailable as exc:
        return Inventory(numbers=[], error=f"{exc} Try the search again in a moment.")
    held = set(
        PhoneNumber.unscoped.filter(
            e164__in=[n.e164 for n in found], state__in=PhoneNumber.HELD_STATES
        ).values_list("e164", flat=True)
    )
    return Inventory(numbers=[n for n in found if n.e164 not in held])


def owned_not_linked(connection) -> Inventory:
    """Numbers the account owns that are not in Dialtone yet, for Link existing's pick list."""
    from providers.adapters.base import ProviderError, ProviderUnavailable
    from providers.services import connection_adapter

    try:
        owned = connection_adapter(connection).list_owned()
    except (ProviderError, ProviderUnavailable) as exc:
        return Inventory(numbers=[], error=getattr(exc, "message", str(exc)))
    held = set(
        PhoneNumber.unscoped.filter(
            e164__in=[n.e164 for n in owned], state__in=PhoneNumber.HELD_STATES
        ).values_list("e164", flat=True)
    )
    return Inventory(numbers=[n for n in owned if n.e164 not in held][:100])


def number_history(number: PhoneNumber):
    from tenants.models import AuditEvent

    return AuditEvent.objects.filter(target_type="phonenumber", target_id=str(number.pk)).select_related(
        "actor"
    )[:100]
