"""Settings → Events: endpoints, their delivery log, a test send, the secret (shown once) and retries."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from events.catalog import EVENT_TYPES
from events.forms import EndpointForm
from events.models import Delivery, Endpoint
from events.services import (
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_roll_secret,
    endpoint_test,
    endpoint_update,
)
from tenants.decorators import workspace_view
from tenants.http import finish, render_form

MANAGE = "workspace.manage"  # endpoints receive the workspace's data: admins and owners set them
SECTION = "settings"


def access_endpoint(endpoint_id) -> Endpoint:
    """The only way views load an endpoint: scoped, 404 for "not yours" and "not there"."""
    return get_object_or_404(Endpoint.objects.all(), pk=endpoint_id)


def _apply_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@workspace_view(read=MANAGE)
@require_GET
def endpoint_list(request, workspace_slug):
    endpoints = Endpoint.objects.all()
    context = {"endpoints": endpoints, "section": SECTION}
    return render(request, "events/list.html", context)


@workspace_view(read=MANAGE, write=MANAGE)
@require_http_methods(["GET", "POST"])
def endpoint_new(request, workspace_slug):
    form = EndpointForm(request.POST or None)
    context = {"form": form, "section": SECTION, "title": "Add an endpoint"}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint, secret = endpoint_create(
                workspace=request.workspace, actor=request.user, url=data["url"], event_types=data["event_types"],
                description=data["description"],
            )  # fmt: skip
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            context.update(endpoint=endpoint, secret=secret)
            return render_form(request, "events/secret.html", context)
    return render_form(request, "events/form.html", context, form=form)


@workspace_view(read=MANAGE)
@require_GET
def endpoint_detail(request, workspace_slug, endpoint_id):
    endpoint = access_endpoint(endpoint_id)
    deliveries = Delivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-id")
    state = request.GET.get("state", "")
    if state in Delivery.State.values:
        deliveries = deliveries.filter(state=state)
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    context = {
        "endpoint": endpoint, "page": page, "state": state, "states": Delivery.State.choices,
        "subscribed": [(t, EVENT_TYPES.get(t, "")) for t in endpoint.event_types], "section": SECTION,
    }  # fmt: skip
    return render(request, "events/detail.html", context)


@workspace_view(read=MANAGE, write=MANAGE)
@require_http_methods(["GET", "POST"])
def endpoint_edit(request, workspace_slug, endpoint_id):
    endpoint = access_endpoint(endpoint_id)
    initial = {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types,
               "enabled": endpoint.enabled}  # fmt: skip
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint_update(
                endpoint=endpoint, actor=request.user, url=data["url"], event_types=data["event_types"],
                description=data["description"], enabled=data["enabled"],
            )  # fmt: skip
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Endpoint saved.")
            return finish(request, "events:detail", workspace_slug=workspace_slug, endpoint_id=endpoint.pk)
    context = {"form": form, "endpoint": endpoint, "section": SECTION, "title": "Edit endpoint"}
    return render_form(request, "events/form.html", context, form=form)


@workspace_view(read=MANAGE, write=MANAGE)
@require_POST
def endpoint_test_view(request, workspace_slug, endpoint_id):
    endpoint = access_endpoint(endpoint_id)
    delivery = endpoint_test(endpoint=endpoint, actor=request.user)
    if delivery.state == Delivery.State.SUCCEEDED:
        messages.success(
            request, f"Test event delivered: HTTP {delivery.last_status} in {delivery.last_ms} ms."
        )
    else:
        messages.error(request, f"Test event not delivered. {delivery.last_error}")
    return finish(request, "events:detail", workspace_slug=workspace_slug, endpoint_id=endpoint.pk)


@workspace_view(read=MANAGE, write=MANAGE)
@require_http_methods(["GET", "POST"])
def endpoint_secret(request, workspace_slug, endpoint_id):
    """Roll the signing secret: confirm, then the new one is shown once."""
    endpoint = access_endpoint(endpoint_id)
    context = {"endpoint": endpoint, "section": SECTION, "title": "Roll signing secret"}
    if request.method == "POST":
        context["secret"] = endpoint_roll_secret(endpoint=endpoint, actor=request.user)
    return render_form(request, "events/secret.html", context)


@workspace_view(read=MANAGE, write=MANAGE)
@require_http_methods(["GET", "POST"])
def endpoint_delete_view(request, workspace_slug, endpoint_id):
    endpoint = access_endpoint(endpoint_id)
    if request.method == "POST":
        endpoint_delete(endpoint=endpoint, actor=request.user)
        messages.success(request, f"Endpoint {endpoint.url} removed.")
        return finish(request, "events:list", workspace_slug=workspace_slug, go=True)
    context = {"endpoint": endpoint, "section": SECTION, "title": "Remove endpoint"}
    return render_form(request, "events/delete.html", context)


@workspace_view(read=MANAGE, write=MANAGE)
@require_POST
def delivery_retry_view(request, workspace_slug, endpoint_id, delivery_id):
    endpoint = access_endpoint(endpoint_id)
    delivery = get_object_or_404(Delivery.objects.filter(endpoint=endpoint), pk=delivery_id)
    if delivery_retry(delivery=delivery, actor=request.user).state == Delivery.State.PENDING:
        messages.success(request, "Sending it again now.")
    else:
        messages.error(request, "Only a failed delivery can be sent again.")
    return finish(request, "events:detail", workspace_slug=workspace_slug, endpoint_id=endpoint.pk)
