"""Settings → API keys: admins make a key with a role (its secret shown once, in the modal) and revoke it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods, require_POST

from tenants.api_keys import api_key_create, api_key_revoke
from tenants.decorators import workspace_view
from tenants.forms import ApiKeyForm
from tenants.http import finish, render_form
from tenants.models import ApiKey
from tenants.roles import roles_grantable

KEYS = "workspace.manage"


@workspace_view(read=KEYS, write=KEYS)
@require_http_methods(["GET", "POST"])
def api_key_new(request, workspace_slug):
    form = ApiKeyForm(request.POST or None, roles=roles_grantable(request.membership.role))
    context = {"form": form, "section": "settings"}
    if request.method == "POST" and form.is_valid():
        try:
            key, secret = api_key_create(
                workspace=request.workspace,
                actor=request.user,
                acting_role=request.membership.role,
                **form.cleaned_data,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # The only time the secret exists outside the caller: this answer, never stored or shown again.
            context |= {"key": key, "secret": secret}
    return render_form(request, "tenants/api_key_form.html", context, form=form)


@workspace_view(read=KEYS, write=KEYS)
@require_POST
def api_key_revoke_view(request, workspace_slug, key_id):
    key = api_key_revoke(key=get_object_or_404(ApiKey.objects, pk=key_id), actor=request.user)
    messages.success(request, f"The API key “{key.name}” was revoked: it no longer works.")
    return finish(request, "settings", workspace_slug)
