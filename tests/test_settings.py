import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.helpers import owner_of

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k7#Tq9!vLr2@Xw8$Zp5^Nb3&Hc6*Jd4(Fg1)Ms0-Ya9=Ue7+Oi5",
    "ALLOWED_HOSTS": "dialtone.example.com",
    "HTTPS": "true",
    "DATABASE_URL": "postgres://dialtone@db.internal:5432/dialtone",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "FIELD_ENCRYPTION_KEYS": "k1:V0y1dKpQ4xW8n2s0TtN0J3C7mCq2b8f6HhQy9lZr3aE=",
    "PUBLIC_BASE_URL": "https://dialtone.example.com",
}


def manage(*args, env):
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into a "production" process.
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_deploy_check_passes_with_production_values():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_flags_a_missing_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


DEVELOPMENT_KEY = "2Xjr4y0dX2QWmmq5yAwQ5mmx7o4gyP1v3Gk6yq8GQnA="  # the one in config/settings.py


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        (None, "FIELD_ENCRYPTION_KEYS is not set"),
        (f"dev:{DEVELOPMENT_KEY}", "development key"),
        (f"k1:{DEVELOPMENT_KEY}", "development key"),  # renamed, it is still the key in the repository
        ("k1:change-me", "not a Fernet key"),
    ],
)
def test_deploy_check_fails_on_an_encryption_key_from_the_repository_or_none(keys, says):
    """An error, not a warning: `check --deploy` fails at its default level, as it does for a missing
    SECRET_KEY with --fail-level WARNING."""
    env = {k: v for k, v in PRODUCTION.items() if k != "FIELD_ENCRYPTION_KEYS"}
    if keys is not None:
        env["FIELD_ENCRYPTION_KEYS"] = keys
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr and says in result.stderr, result.stderr


def test_deploy_check_warns_while_the_development_key_still_decrypts_old_values():
    env = PRODUCTION | {
        "FIELD_ENCRYPTION_KEYS": f"{PRODUCTION['FIELD_ENCRYPTION_KEYS']},dev:{DEVELOPMENT_KEY}"
    }
    assert manage("check", "--deploy", env=env).returncode == 0
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0 and "rotate_encryption_keys" in result.stderr, result.stderr


def test_the_compose_stack_needs_a_key_of_its_own():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert (
        "FIELD_ENCRYPTION_KEYS: ${FIELD_ENCRYPTION_KEYS:?" in compose
    )  # compose refuses to start without it
    assert (
        "manage.py check --deploy && python manage.py migrate" in compose
    )  # and the deploy check runs first


def test_development_runs_keep_the_development_key(tmp_path):
    """`make run` (DEBUG on, no keys set, a SQLite file) passes a plain `check` as before."""
    result = manage("check", env={"DEBUG": "true", "DIALTONE_RUN_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_pages_carry_a_strict_csp_with_a_fresh_nonce(acme):
    client = Client()
    client.force_login(owner_of(acme))
    first = client.get(reverse("numbers:list", args=[acme.slug]))
    second = client.get(reverse("numbers:list", args=[acme.slug]))
    policy = first.headers["Content-Security-Policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'nonce-" in script_src
    assert "unsafe-inline" not in policy
    nonce = script_src.split("'nonce-")[1].split("'")[0]
    assert policy != second.headers["Content-Security-Policy"]
    html = first.content.decode()
    # htmx comes from our own static files, with the nonce, and never injects inline styles.
    assert f'src="/static/django_htmx/htmx-2.min.js" defer nonce="{nonce}"' in html
    assert '"includeIndicatorStyles": false' in html
    assert "<style" not in html and " style=" not in html
    assert "https://" not in "".join(line for line in html.splitlines() if "<script" in line)
