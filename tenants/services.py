from django.db import transaction

from tenants.audit import audit, changes
from tenants.models import Environment, Membership, Plan, Workspace
from tenants.roles import Role
from tenants.scope import workspace_scope


@transaction.atomic
def workspace_create(*, name: str, slug: str, plan: Plan, owner) -> Workspace:
    """A workspace with its three environments and its first owner."""
    workspace = Workspace(name=name, slug=slug, plan=plan)
    workspace.full_clean()
    workspace.save()
    with workspace_scope(workspace):
        Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
        audit(actor=owner, action="workspace.created", target=workspace, workspace=workspace)
    return workspace


def member_add(*, workspace: Workspace, user, role: str, actor=None) -> Membership:
    with transaction.atomic(), workspace_scope(workspace):
        membership, _ = Membership.objects.update_or_create(user=user, defaults={"role": role})
        audit(actor=actor, action="member.added", target=membership, user=user.get_username(), role=role)
    return membership


@transaction.atomic
def environment_update_sip(
    *, environment: Environment, actor, sip_main: str, sip_fallback: str
) -> Environment:
    before = {"sip_main": environment.sip_main, "sip_fallback": environment.sip_fallback}
    environment.sip_main, environment.sip_fallback = sip_main, sip_fallback
    environment.full_clean()
    environment.save(update_fields=["sip_main", "sip_fallback"])
    after = {"sip_main": sip_main, "sip_fallback": sip_fallback}
    changed = changes(before, after)
    if changed:
        audit(actor=actor, action="environment.updated", target=environment, changed=changed)
    return environment
