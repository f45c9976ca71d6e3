from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from providers.adapters.base import ProviderError, ProviderUnavailable
from providers.forms import ConnectionForm
from providers.models import ProviderConnection
from providers.selectors import managed_connections, managed_usage, workspace_connections
from providers.services import (
    ConnectionInUse,
    connection_create,
    connection_disconnect,
    connection_reverify,
    connection_update,
    verify_failure,
)
from tenants.decorators import workspace_view
from tenants.http import finish, render_form

SECRETS = ("auth_token", "api_key")


@workspace_view(read="providers.manage")
@require_GET
def providers_list(request, workspace_slug):
    managed = list(managed_connections()) if request.workspace.plan.managed_number_limit else []
    context = {
        "connections": workspace_connections(),
        "managed": managed,
        "managed_usage": managed_usage(request.workspace) if managed else None,
        "section": "providers",
    }
    return render(request, "providers/list.html", context)


@sensitive_post_parameters(*SECRETS)
@workspace_view(read="providers.manage", write="providers.manage")
@require_http_methods(["GET", "POST"])
def connection_new(request, workspace_slug):
    provider = request.POST.get("provider") or request.GET.get("provider")
    # The provider select re-renders the form (htmx GET) with that provider's fields.
    form = ConnectionForm(
        request.POST if request.method == "POST" else None,
        provider=provider,
        initial={"label": request.GET.get("label", "")},
    )
    if request.method == "POST" and form.is_valid():  # noqa: SIM102 - validate, then ask the provider
        if _verified(
            form,
            lambda: connection_create(
                workspace=request.workspace,
                actor=request.user,
                provider=form.provider_key,
                label=form.cleaned_data["label"],
                credentials=form.credentials(),
                calls_per_second=form.cleaned_data["calls_per_second"],
            ),
        ):
            messages.success(request, f"{form.cleaned_data['label']} connected and verified.")
            return finish(request, "providers:list", workspace_slug=workspace_slug)
    return render_form(request, "providers/form.html", _form_context(form), form=form)


@sensitive_post_parameters(*SECRETS)
@workspace_view(read="providers.manage", write="providers.manage")
@require_http_methods(["GET", "POST"])
def connection_edit(request, workspace_slug, connection_id):
    connection = get_object_or_404(workspace_connections(), pk=connection_id)
    form = ConnectionForm(request.POST if request.method == "POST" else None, connection=connection)
    if request.method == "POST" and form.is_valid():  # noqa: SIM102 - validate, then ask the provider
        if _verified(
            form,
            lambda: connection_update(
                connection=connection,
                actor=request.user,
                label=form.cleaned_data["label"],
                credentials=form.credentials(),
                calls_per_second=form.cleaned_data["calls_per_second"],
            ),
        ):
            messages.success(request, f"{form.cleaned_data['label']} saved.")
            return finish(request, "providers:list", workspace_slug=workspace_slug)
    return render_form(request, "providers/form.html", _form_context(form, connection), form=form)


@workspace_view(read="providers.manage", write="providers.manage")
@require_POST
def connection_verify(request, workspace_slug, connection_id):
    connection = connection_reverify(
        connection=get_object_or_404(workspace_connections(), pk=connection_id), actor=request.user
    )
    if connection.state == ProviderConnection.State.VERIFIED:
        messages.success(request, f"{connection.label}: credentials verified.")
    else:
        messages.error(request, f"{connection.label}: {connection.last_error}")
    return finish(request, "providers:list", workspace_slug=workspace_slug)


@workspace_view(read="providers.manage", write="providers.manage")
@require_POST
def connection_disconnect_view(request, workspace_slug, connection_id):
    connection = get_object_or_404(workspace_connections(), pk=connection_id)
    try:
        connection_disconnect(connection=connection, actor=request.user)
    except ConnectionInUse as exc:
        messages.error(request, f"{connection.label} was not disconnected. {exc}")
    else:
        messages.success(request, f"{connection.label} disconnected; its credentials were erased.")
    return finish(request, "providers:list", workspace_slug=workspace_slug)


def _form_context(form: ConnectionForm, connection=None) -> dict:
    return {
        "form": form,
        "connection": connection,
        "verify_deadline": f"{settings.PROVIDER_VERIFY_DEADLINE_S:g}",
        "section": "providers",
    }


def _verified(form: ConnectionForm, save) -> bool:
    """Run a save that first verifies with the provider; its refusal or silence becomes a form error."""
    try:
        save()
    except ProviderError as exc:
        form.add_error(None, f"{verify_failure(form.provider_key, exc)} Nothing was saved.")
    except ProviderUnavailable as exc:
        form.add_error(
            None, f"{verify_failure(form.provider_key, exc)} Nothing was saved; try again in a moment."
        )
    else:
        return True
    return False
