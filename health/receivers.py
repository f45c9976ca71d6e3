"""Number events health acts on, wired in HealthConfig.ready() (numbers sit below health: they tell)."""

from django.db import transaction
from django.utils import timezone

from health.sweep import numbers_rest
from phone_numbers.models import PhoneNumber
from tenants.scope import all_workspaces


def rest_flagged(sender, number, **kwargs) -> None:
    """A number flagged by hand rests at once (within its pools' cap), not at the next sweep."""
    number_id = number.pk

    def rest() -> None:
        with all_workspaces():
            numbers_rest(PhoneNumber.unscoped.filter(pk=number_id, health="at_risk"), timezone.now())

    transaction.on_commit(rest)
