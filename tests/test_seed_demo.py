import io

import pytest
from django.core.management import call_command
from django.db.models import Q

from campaigns.models import Campaign
from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection
from providers.selectors import managed_usage
from tenants.models import AuditEvent, Membership, Workspace
from tenants.roles import Role
from tenants.scope import all_workspaces

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_the_login():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert "login demo / dialtone-demo" in out.getvalue()
    with all_workspaces():
        assert Workspace.objects.filter(slug__in=["acme-health", "globex-support"]).count() == 2
        assert PhoneNumber.objects.filter(state="active").count() == 10
        # Its sandbox connections were verified when made, and the plan's managed numbers are in use.
        acme = Workspace.objects.get(slug="acme-health")
        connections = ProviderConnection.objects.filter(Q(workspace=acme) | Q(workspace=None))
        assert {(c.label, c.state, bool(c.last_verified_at)) for c in connections} == {
            ("Sandbox", "verified", True),
            ("Dialtone managed", "verified", True),
        }
        assert str(managed_usage(acme)) == "2 of 5 managed numbers used"
        assert Campaign.objects.count() == 1


def test_every_demo_workspace_has_an_owner_and_the_demo_user_is_an_operator_in_globex():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    with all_workspaces():
        for workspace in Workspace.objects.all():
            assert Membership.objects.filter(workspace=workspace, role=Role.OWNER).exists(), workspace
        globex = Membership.objects.filter(workspace__slug="globex-support")
        assert {(m.user.username, m.role) for m in globex} == {("grace", "owner"), ("demo", "operator")}
        # Seeding again adds no member: the Activity page does not grow with every `make run`.
        assert AuditEvent.objects.filter(workspace__slug="globex-support", action="member.added").count() == 1
