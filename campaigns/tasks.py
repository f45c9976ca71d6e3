"""Campaign tasks: thin, id-taking, safe to run twice (the services' guarded moves make them so)."""

from celery import shared_task

from campaigns.control import campaign_destinations_load
from campaigns.dial import call_dial, calls_dial
from campaigns.dispatch import campaigns_dispatch
from campaigns.outcomes import outcomes_reconcile
from campaigns.reconcile import calls_reconcile


@shared_task(name="campaigns.dispatch", acks_late=True, ignore_result=True)
def dispatch() -> int:
    """Beat, about every second: claim caller IDs for due calls and queue their dials."""
    return campaigns_dispatch()


@shared_task(name="campaigns.dial", acks_late=True, ignore_result=True)
def dial(call_id: int, attempt_id: int) -> str:
    return call_dial(call_id=call_id, attempt_id=attempt_id)


@shared_task(name="campaigns.dial_chunk", acks_late=True, ignore_result=True)
def dial_chunk(jobs: list[list[int]]) -> dict[str, int]:
    """A chunk of a dispatcher batch: [call id, attempt id] pairs, dialed at once."""
    return {
        str(outcome): n
        for outcome, n in calls_dial([(call_id, attempt_id) for call_id, attempt_id in jobs]).items()
    }


@shared_task(name="campaigns.load_destinations", acks_late=True, ignore_result=True)
def load_destinations(upload_id: int) -> None:
    """A long destination list, read off the request (campaigns/destinations.py: BACKGROUND_BYTES)."""
    campaign_destinations_load(upload_id=upload_id)


@shared_task(name="campaigns.reconcile", acks_late=True, ignore_result=True)
def reconcile() -> int:
    """Beat, every CAMPAIGN_RECONCILE_EVERY_S, on the worker queue: ask providers about calls left dialing,
    and about placed calls whose outcome never came."""
    return calls_reconcile() + outcomes_reconcile()
