"""A Celery worker with embedded beat, run as a subprocess by the fault tests (so it can be killed -9).

Its sandbox provider logs every dial to the file named by DIALTONE_TEST_DIAL_LOG (tests/campaigns/dial_log.py).
"""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from config.celery import app  # noqa: E402
from tests.campaigns import dial_log  # noqa: E402

if __name__ == "__main__":
    dial_log.install(os.environ[dial_log.ENV])
    app.worker_main(
        [
            "worker", "--beat", "--schedule", sys.argv[1], "--pool", "prefork",
            "--concurrency", os.environ.get("WORKER_CONCURRENCY", "2"), "--loglevel", "WARNING",
            "--without-gossip", "--without-mingle",
        ]
    )  # fmt: skip
