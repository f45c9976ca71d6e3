"""The SQLite demo (`make run`) places a paced campaign: the portable paths of the campaign engine.

The test session's database is PostgreSQL, so the campaign runs in a subprocess on a fresh SQLite file:
`manage.py migrate`, then tests/demo/sqlite_campaign.py, which sets the campaign up, plays beat and the
workers, and checks that every destination was dialed exactly once within the policy.
"""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from pacing.services import pacer_redis
from tests.demo import sqlite_campaign

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str]:
    """The script's exit code and output; a script that hangs fails with what it printed so far."""
    try:
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        return -1, _text(exc.stdout) + f"\n(killed after {timeout}s)", _text(exc.stderr)
    return done.returncode, done.stdout, done.stderr


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value or ""


def explain(args: list[str], out: str, err: str) -> str:
    return f"python {' '.join(args)}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"


def test_the_sqlite_demo_places_a_paced_campaign(tmp_path):
    # The pacer's state is keyed by workspace id, and the fresh SQLite file numbers its workspace 1 as
    # PostgreSQL tests may have: the subprocess uses the tests' own Redis database (REDIS_URL, flushed
    # by every campaign test), emptied first.
    pacer_redis().flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "REDIS_URL": settings.REDIS_URL,
        "PACER_REDIS_URL": settings.PACER_REDIS_URL,
    }
    migrate = ["manage.py", "migrate", "--no-input", "-v0"]
    code, out, err = run(migrate, env, timeout=120)
    assert code == 0, explain(migrate, out, err)
    drive = ["-m", "tests.demo.sqlite_campaign"]
    code, out, err = run(drive, env, timeout=90)
    assert code == 0, explain(drive, out, err)
    assert f"OK: {sqlite_campaign.DESTINATIONS} destinations dialed once each" in out, explain(
        drive, out, err
    )
