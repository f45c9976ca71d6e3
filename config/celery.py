"""The Celery app. Every task is named explicitly; settings come from Django's CELERY_* names."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import close_old_connections

from config.memory import release_free_memory

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dialtone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _recycle_database_connections(sender=None, **kwargs) -> None:
    """Around each task, what Django does around each request: close the connection only if it broke or
    outlived CONN_MAX_AGE. (Celery's own fixup would close it every time: settings.CELERY_DB_REUSE_MAX.)"""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return  # run inline, inside the caller's transaction: not ours to close
    close_old_connections()


@task_postrun.connect
def _release_free_memory(sender=None, **kwargs) -> None:
    """Maintenance tasks hold a large result for a moment (every account's numbers): what they freed would
    stay resident in the malloc arena of the thread they ran on (config/memory.py). Their own worker is
    replaced when it grows; this keeps a worker that consumes every queue (make run's, one-off) flat too."""
    if sender is not None and sender.name in settings.MAINTENANCE_TASKS:
        release_free_memory()
