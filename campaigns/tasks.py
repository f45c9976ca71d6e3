"""Campaign tasks: thin, id-taking, safe to run twice (the services' guarded moves make them so)."""

from celery import shared_task

from campaigns.services import call_dial, campaigns_dispatch


@shared_task(name="campaigns.dispatch", acks_late=True, ignore_result=True)
def dispatch() -> int:
    """Beat, about every second: claim caller IDs for due calls and queue their dials."""
    return campaigns_dispatch()


@shared_task(name="campaigns.dial", acks_late=True, ignore_result=True)
def dial(call_id: int, attempt_id: int) -> str:
    return call_dial(call_id=call_id, attempt_id=attempt_id)
