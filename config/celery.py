"""The Celery app. Every task is named explicitly; settings come from Django's CELERY_* names."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dialtone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
