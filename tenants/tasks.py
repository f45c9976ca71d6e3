from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "worker-heartbeat"


@shared_task(name="tenants.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Beat sends this every 15 s; the health page shows when a worker last ran one."""
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=300)
