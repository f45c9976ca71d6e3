"""`make run` (scripts/run.sh) hands providers webhooks on the port it serves."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_sh_environment(tmp_path, **env) -> str:
    """The environment run.sh has when it first calls uv (a stand-in uv prints it and stops the script)."""
    fake = tmp_path / "uv"
    fake.write_text(
        '#!/bin/sh\n[ "$1" = --version ] && exit 0\necho "PUBLIC_BASE_URL=$PUBLIC_BASE_URL"\nexit 3\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    clean = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "DIALTONE_PORT")}
    path = f"{tmp_path}:{os.environ['PATH']}"
    result = subprocess.run(
        ["bash", "scripts/run.sh"], cwd=ROOT, env={**clean, "PATH": path, "REDIS_URL": "redis://127.0.0.1:1/0", **env},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DIALTONE_PORT": "8123"}, "http://127.0.0.1:8123"),
        ({}, "http://127.0.0.1:8000"),
        ({"DIALTONE_PORT": "8123", "PUBLIC_BASE_URL": "https://tunnel.example"}, "https://tunnel.example"),
    ],
)
def test_make_run_points_webhooks_at_its_own_port_unless_told_otherwise(tmp_path, env, expected):
    assert f"PUBLIC_BASE_URL={expected}\n" in run_sh_environment(tmp_path, **env)
