"""Numbers answer the questions apps below them ask through signals (providers/signals.py,
agents/signals.py), wired in PhoneNumbersConfig.ready(): those apps never import this one."""

from django.db.models import Count, QuerySet

from phone_numbers.models import PhoneNumber


def numbers_on_connection(sender, connection, **kwargs) -> list[str]:
    """E.164 of the numbers in Dialtone that still live on this connection."""
    return list(
        PhoneNumber.objects.filter(connection=connection)
        .exclude(state__in=PhoneNumber.FINISHED_STATES)
        .order_by("e164")
        .values_list("e164", flat=True)
    )


def managed_numbers_held(sender, workspace, **kwargs) -> int:
    """Numbers the workspace holds on managed connections (its plan's limit counts them)."""
    return PhoneNumber.objects.filter(
        workspace=workspace, connection__workspace__isnull=True, state__in=PhoneNumber.HELD_STATES
    ).count()


def _held() -> QuerySet[PhoneNumber]:
    return PhoneNumber.objects.filter(state__in=PhoneNumber.HELD_STATES)


def routed_numbers(sender, agent, variant, environment, **kwargs) -> QuerySet[PhoneNumber]:
    """Held numbers routed to `agent` / `variant` (in `environment`), by number."""
    filters = {"inbound_agent": agent, "inbound_variant": variant, "environment": environment}
    chosen = {field: value for field, value in filters.items() if value is not None}
    return _held().filter(**chosen).select_related("environment").order_by("e164")


def numbers_per_agent(sender, **kwargs) -> dict[int, int]:
    rows = (
        _held().filter(inbound_agent__isnull=False).order_by().values("inbound_agent").annotate(n=Count("pk"))
    )
    return {row["inbound_agent"]: row["n"] for row in rows}
