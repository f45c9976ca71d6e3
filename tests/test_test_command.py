"""The test command (scripts/test.sh, `make test`, `make test-fast`, .ci/run): what it runs and when it stops.

A stand-in `uv` first on PATH records every call (one line, each argument in brackets) instead of running it.
"""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FAST = "not worker and not demo and not e2e"


def run(
    tmp_path, command: list[str], *, format_check_fails: bool = False, layers_broken: bool = False
) -> tuple[int, list[str]]:
    log = tmp_path / "uv.log"
    fake = tmp_path / "uv"
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$1" = --version ] && exit 0\n'
        f"printf '[%s]' \"$@\" >> {log}; echo >> {log}\n"
        'case "$*" in *"ruff format --check"*) exit "${FAKE_FORMAT_RC:-0}";; esac\n'
        'case "$*" in *"lint-imports"*) exit "${FAKE_LAYERS_RC:-0}";; esac\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "CHROMIUM": "/bin/true",  # present: the command installs nothing
        "FAKE_FORMAT_RC": "1" if format_check_fails else "0",
        "FAKE_LAYERS_RC": "1" if layers_broken else "0",
    }
    env.pop("MAKEFLAGS", None)
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    return result.returncode, log.read_text().splitlines() if log.exists() else []


def pytest_calls(calls: list[str]) -> list[str]:
    return [call for call in calls if call.startswith("[run][--frozen][pytest]")]


def test_unformatted_code_fails_the_test_command_before_any_test_runs(tmp_path):
    code, calls = run(tmp_path, ["bash", "scripts/test.sh", "-q"], format_check_fails=True)
    assert code != 0
    assert "[run][--frozen][ruff][format][--check][.]" in calls
    assert pytest_calls(calls) == []


@pytest.mark.parametrize(
    "command", [["bash", "scripts/test.sh", "-q"], ["make", "--no-print-directory", "lint"]]
)
def test_an_upward_import_fails_the_test_command_and_make_lint(tmp_path, command):
    """`lint-imports` checks the layers in pyproject.toml (tests/test_layers.py runs it for real)."""
    code, calls = run(tmp_path, command, layers_broken=True)
    assert code != 0
    assert "[run][--frozen][lint-imports][--no-logo][--no-cache]" in calls
    assert pytest_calls(calls) == []


def test_the_test_command_lists_the_slowest_tests_and_passes_its_arguments_on(tmp_path):
    code, calls = run(tmp_path, ["bash", "scripts/test.sh", "-k", "isolation and not slow"])
    assert code == 0
    assert pytest_calls(calls) == ["[run][--frozen][pytest][--durations=25][-k][isolation and not slow]"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("test", "[run][--frozen][pytest][--durations=25][-x]"),
        ("test-fast", f"[run][--frozen][pytest][--durations=25][-m][{FAST}][-x]"),
    ],
)
def test_make_test_runs_everything_and_make_test_fast_skips_the_marked_tests(tmp_path, target, expected):
    code, calls = run(tmp_path, ["make", "--no-print-directory", target, "ARGS=-x"])
    assert code == 0
    assert pytest_calls(calls) == [expected]


def test_ci_runs_exactly_make_test():
    lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert lines[-1] == "make test"
    assert not [line for line in lines if "test-fast" in line or "pytest" in line]


@pytest.mark.worker  # two pytest processes of its own: seconds
def test_the_fast_target_skips_every_worker_demo_and_browser_test():
    """Collected for real: the marked directories and the tests that start workers are all deselected,
    and nothing else is."""
    slow = [
        "tests/e2e",
        "tests/demo",
        "tests/campaigns/test_worker.py",
        "tests/campaigns/test_faults.py",
        "tests/pacing/test_pacer_concurrency.py",
        "tests/providers_django/test_sandbox_account.py",
        "tests/test_celery.py::test_a_real_worker_runs_tasks_enqueued_after_commit",
        "tests/test_celery.py::test_tasks_reuse_the_database_connection_and_replace_a_broken_one",
    ]
    fast = "tests/campaigns/test_services.py"

    def collected(*args: str) -> list[str]:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", *args, *slow, fast],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return [line for line in result.stdout.splitlines() if "::" in line]

    everything = collected()
    assert {test.split("::")[0].split("/")[1] for test in everything} >= {"e2e", "demo", "campaigns"}
    assert collected("-m", FAST) == [test for test in everything if test.startswith(fast + "::")]


# Where a test may still pause: the one poll helper, and the sandbox provider slowed on purpose in the
# fault tests (a latency being modelled, not a wait for something to happen).
MAY_PAUSE = {"tests/helpers.py", "tests/campaigns/dial_log.py"}
TIMED = ("time.sleep(", "wait_for_timeout(", "budget_s", "monotonic() +", "time() +")


def test_tests_wait_for_conditions_never_for_a_fixed_time():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if str(path.relative_to(ROOT)) not in MAY_PAUSE and path != Path(__file__)
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if any(timed in line for timed in TIMED)
    ]
    assert found == [], "wait for the condition (tests/helpers.py: wait_until) or count batches instead"
