"""Health tasks: thin; the sweep is idempotent, so a second delivery changes nothing."""

from celery import shared_task

from health.sweep import health_sweep


@shared_task(name="health.sweep", acks_late=True, ignore_result=True)
def sweep() -> dict[str, int]:
    """Beat, every HEALTH_EVERY_S, on the maintenance queue: judge, rest and return numbers."""
    result = health_sweep()
    return {
        "returned": result.returned,
        "judged": result.judged,
        "held": result.held,
        "rested": result.rested,
    }
