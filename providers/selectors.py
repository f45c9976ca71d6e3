from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import QuerySet

from providers import signals
from providers.adapters.base import Price, ProviderError, ProviderUnavailable
from providers.adapters.compliance import Bundle, Requirements
from providers.models import ProviderConnection
from providers.services import connection_adapter, connection_adapter_warm

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


def monthly_prices(connection: ProviderConnection, country: str, *, fresh: bool = False) -> dict[str, Price]:
    """What a number of each kind costs a month in `country` at this connection's account, by kind; cached.
    Empty when the provider can't say right now: prices inform a search, they never stop one.
    `fresh`: asked now (and cached), its failure raised: a purchase about to be made checks its price."""
    key = f"monthly-prices:{connection.pk}:{country}"
    if fresh:
        prices = connection_adapter(connection).monthly_prices(country)
        cache.set(key, prices, PRICES_TTL)
        return prices
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


# Requirements change with regulation (rarely); approvals change when a bundle is reviewed: minutes.
REQUIREMENTS_TTL = 3600
BUNDLES_TTL = 120
# After a failure, the modal goes on without them for a while instead of waiting on the provider each keystroke.
REQUIREMENTS_RETRY_AFTER = 30


@dataclass(frozen=True)
class PurchaseRequirements:
    """What buying a kind of number in a country needs at a connection, and what the account holds to meet
    it. `needs` is None when the provider could not say (`error` says why): the person may still search,
    and the provider decides at purchase."""

    needs: Requirements | None
    bundles: tuple[Bundle, ...] = ()
    error: str = ""

    @property
    def blocked(self) -> bool:
        """Needed, and the account has nothing approved to meet it: no number here can be bought."""
        return self.needs is not None and self.needs.any and not self.bundles

    def bundle(self, value: str) -> Bundle | None:
        return next((b for b in self.bundles if b.value == value), None)


def purchase_requirements(connection: ProviderConnection, country: str, kind: str) -> PurchaseRequirements:
    """Cached per connection, country and kind: the buy modal asks on every search."""
    key = f"purchase-requirements:{connection.pk}:{country}:{kind}"
    found = cache.get(key)
    if found is not None:
        return found
    adapter = connection_adapter_warm(connection)  # the modal asks often: keep its client and connection
    try:
        needs = adapter.requirements(country, kind)
        bundles = adapter.compliance(country, kind) if needs.any else ()
    except (ProviderError, ProviderUnavailable) as exc:
        found = PurchaseRequirements(None, error=_cannot_say(connection, exc))
        cache.set(key, found, REQUIREMENTS_RETRY_AFTER)
        return found
    found = PurchaseRequirements(needs, bundles)
    cache.set(key, found, BUNDLES_TTL if needs.any else REQUIREMENTS_TTL)
    return found


def _cannot_say(connection: ProviderConnection, exc: Exception) -> str:
    said = getattr(exc, "message", "") or str(exc)
    return (
        f"We could not read what {connection.get_provider_display()} requires for these numbers "
        f"({said.removesuffix('.')}). You can still search; {connection.get_provider_display()} "
        "checks its requirements when you buy."
    )
