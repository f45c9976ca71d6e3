"""Log filters that keep the logs to what a person reads: one line per refused request, no line per tick."""

from __future__ import annotations

import logging


class OneLinePerRefusal(logging.Filter):
    """A refused request (4xx) is one line: the server's access line. Django's warning about it, and the
    traceback it attaches to PermissionDenied or DisallowedHost, would add a dozen more. 5xx still log."""

    def filter(self, record: logging.LogRecord) -> bool:
        refused = 400 <= getattr(record, "status_code", 0) < 500
        return not (refused and record.name.startswith(("django.request", "django.security")))


class QuietTicks(logging.Filter):
    """Drops Celery's INFO lines about frequent periodic tasks ("Sending due task", "received",
    "succeeded"): the dispatcher ticks every second. Their warnings and failures still log."""

    def __init__(self, tasks=()):
        super().__init__()
        self.tasks = frozenset(tasks)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        args = record.args
        if isinstance(args, dict):  # the worker: {"name": task name, "id": ...}
            task = args.get("name")
        elif isinstance(args, tuple) and len(args) == 2:  # beat: (entry name, task name)
            task = args[1]
        else:
            return True
        return task not in self.tasks
