from django.contrib.auth import get_user_model

from tenants.models import Membership, Workspace


def user(username: str):
    return get_user_model().objects.get(username=username)


def owner_of(workspace: Workspace):
    return Membership.unscoped.filter(workspace=workspace, role="owner").select_related("user").first().user
