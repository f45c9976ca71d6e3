from tenants.api_keys import api_key_create
from tenants.models import Environment, Membership
from tenants.services import invitation_create
from tests.helpers import owner_of, user
from tests.matrix import WorkspacePage

PAGES = {
    "workspace": WorkspacePage(),
    "settings": WorkspacePage(),
    "environment-edit": WorkspacePage(post={"sip_main": "sip:hijack@evil.example", "sip_fallback": ""}),
    "activity": WorkspacePage(query=("action", "page")),
    "release-hold": WorkspacePage(post={"days": "0"}),
    "member-invite": WorkspacePage(post={"email": "mallory@evil.example", "role": "owner"}),
    "member-role": WorkspacePage(post={"role": "owner"}),
    "member-remove": WorkspacePage(),
    "invitation-resend": WorkspacePage(),
    "invitation-revoke": WorkspacePage(),
    "api-key-new": WorkspacePage(post={"name": "hijacked", "role": "admin"}),
    "api-key-revoke": WorkspacePage(),
}


def values(workspace):
    invitation, token = invitation_create(
        workspace=workspace, email="dana@example.com", role="operator", actor=owner_of(workspace)
    )
    key, _ = api_key_create(
        workspace=workspace, actor=owner_of(workspace), acting_role="owner", name="Matrix", role="viewer"
    )
    return {
        "key_id": key.id,
        "environment_id": Environment.objects.get(kind="live").id,
        "member_id": Membership.objects.get(user=user("olga_operator")).id,
        "invitation_id": invitation.id,
        "token": token,  # the invitation link: a public page (tests/test_isolation_matrix.py)
    }
