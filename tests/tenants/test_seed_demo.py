import io

import pytest
from django.core.management import call_command

from campaigns.models import Campaign
from phone_numbers.models import PhoneNumber
from tenants.models import Workspace
from tenants.scope import all_workspaces

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_the_login():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert "login demo / dialtone-demo" in out.getvalue()
    with all_workspaces():
        assert Workspace.objects.filter(slug__in=["acme-health", "globex-support"]).count() == 2
        assert PhoneNumber.objects.filter(state="active").count() == 8
        assert Campaign.objects.count() == 1
