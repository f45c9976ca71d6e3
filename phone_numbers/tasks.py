from celery import shared_task

from phone_numbers.hold import release_due
from phone_numbers.models import NumberOperation
from phone_numbers.reconcile import reconcile_all, reconcile_operation
from phone_numbers.reputation import refresh_all
from providers.adapters.base import ProviderError, ProviderUnavailable
from tenants.scope import all_workspaces, workspace_scope

ORDER_POLL_SECONDS = 5
ORDER_POLL_LIMIT = 60  # ~5 minutes of polling; reconciliation takes over after that


@shared_task(name="numbers.poll_order", bind=True, max_retries=ORDER_POLL_LIMIT)
def poll_number_order(self, operation_id: int) -> None:
    """Follow an asynchronous number order (Telnyx) until it succeeds or fails."""
    with all_workspaces():
        operation = NumberOperation.objects.select_related("workspace", "connection").get(pk=operation_id)
    if operation.state not in NumberOperation.OPEN_STATES:
        return  # settled already: a redelivery or reconciliation got here first
    with workspace_scope(operation.workspace):
        try:
            finding = reconcile_operation(operation)
        except (ProviderError, ProviderUnavailable):
            finding = None
    if finding is None or finding.kind == "still_pending":
        raise self.retry(countdown=ORDER_POLL_SECONDS)


@shared_task(name="numbers.reconcile")
def reconcile_numbers() -> int:
    return len(reconcile_all())


@shared_task(name="numbers.refresh_reputation")
def refresh_reputation() -> int:
    """Fresh reputation checks of what each workspace's schedule says is due; safe to run twice at once."""
    return refresh_all()


@shared_task(name="numbers.release_held")
def release_held() -> int:
    """Release the numbers whose hold has ended (phone_numbers/hold.py); safe to run twice at once."""
    return len(release_due())


@shared_task(name="numbers.run_bulk_job", acks_late=True, ignore_result=True)
def run_bulk_job(job_id: int) -> None:
    """A bulk change or an import (phone_numbers/bulk.py); a second delivery finds the lease or the work done."""
    from phone_numbers.bulk import bulk_job_run

    bulk_job_run(job_id=job_id)
