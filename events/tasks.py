"""Thin tasks: send one delivery (queued when its event commits), and queue the retries that came due."""

from celery import shared_task

from events.services import deliveries_due, delivery_send


@shared_task(name="events.deliver", ignore_result=True)
def deliver(delivery_id: int) -> None:
    delivery_send(delivery_id=delivery_id)  # not due (sent, leased, waiting): nothing happens


@shared_task(name="events.retry_due", ignore_result=True)
def retry_due() -> int:
    due = deliveries_due()
    for pk in due:
        deliver.delay(pk)
    return len(due)
