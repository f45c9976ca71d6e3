"""The sandbox account lives in the database: other processes (workers, a restarted web process) see
what this one bought, routed and released, and two processes racing for one number get it once."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from providers.models import ProviderConnection, SandboxNumber, SandboxOrder
from providers.sandbox.adapter import STARTER_NUMBERS, ref_for
from providers.services import connection_adapter
from tests.helpers import database_url, wait_until

# Committed, so other processes see it.
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "tests.providers_django.sandbox_process"


def other_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", SCRIPT, *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url()},
        stdout=subprocess.PIPE,
        text=True,
    )


def answer(process: subprocess.Popen) -> str:
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return out.strip()


@pytest.fixture
def account():
    return ProviderConnection.unscoped.create(provider="sandbox", label="Shared")


def test_another_process_sees_what_this_one_bought_routed_and_released(account):
    adapter = connection_adapter(account)
    routed = adapter.buy("+14155550100", reference="op-1").ref
    adapter.route_inbound(routed, "https://d.example.com/in")
    adapter.release(adapter.buy("+14155550101", reference="op-2").ref)  # released: gone for good
    adapter.release(ref_for(STARTER_NUMBERS[1]))

    seen = json.loads(answer(other_process(str(account.pk), "owned")))

    assert seen == {"+14155550100": "https://d.example.com/in", STARTER_NUMBERS[0]: None}


def test_two_processes_buying_one_number_get_it_once(account, tmp_path):
    racers = [other_process(str(account.pk), "buy", "+14155550100", str(tmp_path)) for _ in range(2)]
    wait_until(lambda: len(list(tmp_path.glob("ready-*"))) == 2)  # both started Django, wait at the barrier
    (tmp_path / "go").touch()

    answers = sorted(answer(p) for p in racers)

    assert answers == ["bought", "refused: not_available"]
    assert SandboxNumber.objects.filter(connection=account, e164="+14155550100").count() == 1
    assert SandboxOrder.objects.filter(connection=account, e164="+14155550100").count() == 1
