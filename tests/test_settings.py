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
    "FIELD_ENCRYPTION_KEYS": "k1:2Xjr4y0dX2QWmmq5yAwQ5mmx7o4gyP1v3Gk6yq8GQnA=",
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
