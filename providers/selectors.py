from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import QuerySet

from providers import signals
from providers.adapters.base import Price, ProviderError, ProviderUnavailable
from providers.models import ProviderConnection
from providers.services import connection_adapter

# List prices change a few times a year: a price some hours old is close enough for a search.
PRICES_TTL = 6 * 3600
# After a failure, searches go on without prices for a while instead of waiting on pricing each keystroke.
PRICES_RETRY_AFTER = 5 * 60


def workspace_connections() -> QuerySet[ProviderConnection]:
    """The active workspace's own connections (the scoped manager adds the workspace)."""
    return ProviderConnection.objects.exclude(state=ProviderConnection.State.DISCONNECTED)


def managed_connections() -> QuerySet[ProviderConnection]:
    """Platform-managed connections: owned by no workspace, usable by any within its plan limit."""
    return ProviderConnection.unscoped.filter(workspace__isnull=True).exclude(
        state=ProviderConnection.State.DISCONNECTED
    )


def has_number_source(workspace) -> bool:
    """Can this workspace get numbers at all: its own connection, or managed access on its plan?"""
    if workspace_connections().exists():
        return True
    return workspace.plan.managed_number_limit > 0 and managed_connections().exists()


def connection_for_workspace(workspace, connection_id) -> ProviderConnection | None:
    """A connection the workspace may use: its own or a managed one; None for anything else."""
    own = workspace_connections().filter(pk=connection_id).first()
    if own or workspace.plan.managed_number_limit == 0:
        return own
    return managed_connections().filter(pk=connection_id).first()


def monthly_prices(connection: ProviderConnection, country: str) -> dict[str, Price]:
    """What a number of each kind costs a month in `country` at this connection's account, by kind; cached.
    Empty when the provider can't say right now: prices inform a search, they never stop one."""
    key = f"monthly-prices:{connection.pk}:{country}"
    prices = cache.get(key)
    if prices is None:
        try:
            prices, ttl = connection_adapter(connection).monthly_prices(country), PRICES_TTL
        except (ProviderError, ProviderUnavailable):
            prices, ttl = {}, PRICES_RETRY_AFTER
        cache.set(key, prices, ttl)
    return prices


@dataclass(frozen=True)
class ManagedUsage:
    plan: str
    used: int
    limit: int

    @property
    def full(self) -> bool:
        return self.used >= self.limit

    def __str__(self) -> str:
        return f"{self.used} of {self.limit} managed number{'s' if self.limit != 1 else ''} used"


def managed_usage(workspace) -> ManagedUsage:
    """How many numbers the workspace holds on managed connections, against its plan's limit."""
    used = sum(signals.answers(signals.managed_numbers_held, workspace=workspace))  # phone_numbers answers
    return ManagedUsage(plan=workspace.plan.name, used=used, limit=workspace.plan.managed_number_limit)
