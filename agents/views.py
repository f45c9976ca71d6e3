"""The Agents page and its modals. Views parse, call one service, and render; refusals show in the modal."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from agents import services
from agents.forms import AgentForm, ConfirmForm, PublishForm, VariantForm
from agents.models import Agent, Variant
from agents.selectors import agents_page, environments_in_order, routed_numbers
from tenants.decorators import workspace_view
from tenants.http import finish, render_form
from tenants.models import Environment

MANAGE = "agents.manage"


def access_agent(agent_id) -> Agent:
    """The only way views load an agent: scoped to the workspace, 404 for "not yours" and "not there"."""
    return get_object_or_404(Agent.objects, pk=agent_id)


def access_variant(agent_id, variant_id) -> Variant:
    return get_object_or_404(Variant.objects.select_related("agent"), pk=variant_id, agent_id=agent_id)


def _posted(request):
    """Bind forms on POST even when nothing was posted: an empty confirm or publish form means something."""
    return request.POST if request.method == "POST" else None


def _attempt(request, form, write, success):
    """Run a service on a valid POST: the list page on success, else None with the refusal in the form.

    `success(result)` says what happened, in a toast on the next page.
    """
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        result = write()
    except ValidationError as error:
        form.add_error(None, error)  # its field errors land beside their fields
        return None
    except services.AgentInUse as error:
        form.add_error(None, str(error))
        return None
    messages.success(request, success(result))
    return finish(request, "agents:list", workspace_slug=request.workspace.slug)


def _modal(request, template: str, form, **context):
    return render_form(request, template, {"form": form, "section": "agents", **context}, form=form)


def _in_use(numbers, shown: int = 10) -> dict:
    """The numbers that keep an agent or variant from being deleted, for its dialog to list up front."""
    count = numbers.count()
    return {"in_use": list(numbers[:shown]) if count else [], "in_use_more": max(count - shown, 0)}


@workspace_view()
@require_GET
def agents_list(request, workspace_slug):
    return render(request, "agents/list.html", {"page": agents_page(), "section": "agents"})


# ---- Agents --------------------------------------------------------------------------------------
# Each modal's wording is fixed before the write, so a refused rename does not retitle its own modal.


@workspace_view(write=MANAGE)
@require_http_methods(["GET", "POST"])
def agent_new(request, workspace_slug):
    form = AgentForm(_posted(request))
    saved = _attempt(
        request,
        form,
        lambda: services.agent_create(workspace=request.workspace, actor=request.user, **form.cleaned_data),
        lambda agent: f"Agent “{agent}” created.",
    )
    return saved or _modal(request, "agents/form.html", form, title="New agent", submit="Create agent")


@workspace_view(write=MANAGE)
@require_http_methods(["GET", "POST"])
def agent_edit(request, workspace_slug, agent_id):
    agent = access_agent(agent_id)
    form = AgentForm(_posted(request), initial=model_to_dict(agent, AgentForm.base_fields))
    context = {
        "title": f"Edit {agent}",
        "submit": "Save",
        "danger_url": reverse("agents:delete", args=[workspace_slug, agent.pk]),
        "danger_label": "Delete agent",
    }
    saved = _attempt(
        request,
        form,
        lambda: services.agent_update(agent=agent, actor=request.user, **form.cleaned_data),
        lambda agent: f"Agent “{agent}” saved.",
    )
    return saved or _modal(request, "agents/form.html", form, **context)


@workspace_view(write=MANAGE)
@require_http_methods(["GET", "POST"])
def agent_delete(request, workspace_slug, agent_id):
    agent = access_agent(agent_id)
    form = ConfirmForm(_posted(request))
    variants = agent.variants.count()
    also = f"Its {variants} variant{pluralize(variants)} will be deleted too. " if variants else ""
    context = {
        "title": f"Delete {agent}?",
        "text": also + "Numbers can no longer be routed to it. This cannot be undone.",
        "submit": "Delete agent",
        "name": agent.name,
        **_in_use(routed_numbers(agent=agent)),
    }
    deleted = _attempt(
        request,
        form,
        lambda: services.agent_delete(agent=agent, actor=request.user),
        lambda _: f"Agent “{agent}” deleted.",
    )
    return deleted or _modal(request, "agents/delete.html", form, **context)


# ---- Variants ------------------------------------------------------------------------------------


@workspace_view(write=MANAGE)
@require_http_methods(["GET", "POST"])
def variant_new(request, workspace_slug, agent_id):
    agent = access_agent(agent_id)
    form = VariantForm(_posted(request))
    context = {
        "title": f"New variant of {agent}",
        "intro": "A new variant is a draft: publish it to an environment so numbers there can use it.",
        "submit": "Add variant",
    }
    saved = _attempt(
        request,
        form,
        lambda: services.variant_create(agent=agent, actor=request.user, **form.cleaned_data),
        lambda variant: f"Variant “{variant}” added. Publish it so numbers can use it.",
    )
    return saved or _modal(request, "agents/form.html", form, **context)


@workspace_view(write=MANAGE)
@require_http_methods(["GET", "POST"])
def variant_edit(request, workspace_slug, agent_id, variant_id):
    variant = access_variant(agent_id, variant_id)
    form = VariantForm(_posted(request), initial={"name": variant.name})
    context = {
        "title": f"Rename {variant.agent} / {variant}",
        "submit": "Save",
        "danger_url": reverse("agents:variant-delete", args=[workspace_slug, agent_id, variant.pk]),
        "danger_label": "Delete variant",
    }
    saved = _attempt(
        request,
        form,
        lambda: services.variant_update(variant=variant, actor=request.user, **form.cleaned_data),
        lambda variant: f"Variant renamed to “{variant}”.",
    )
    return saved or _modal(request, "agents/form.html", form, **context)


@workspace_view(write=MANAGE)
@require_http_methods(["GET", "POST"])
def variant_delete(request, workspace_slug, agent_id, variant_id):
    variant = access_variant(agent_id, variant_id)
    form = ConfirmForm(_posted(request))
    context = {
        "title": f"Delete {variant.agent} / {variant}?",
        "text": "It is withdrawn from every environment it is published to. This cannot be undone.",
        "submit": "Delete variant",
        "name": f"{variant.agent} / {variant}",
        **_in_use(routed_numbers(variant=variant)),
    }
    deleted = _attempt(
        request,
        form,
        lambda: services.variant_delete(variant=variant, actor=request.user),
        lambda _: f"Variant “{variant}” deleted.",
    )
    return deleted or _modal(request, "agents/delete.html", form, **context)


@workspace_view(write=MANAGE)
@require_http_methods(["GET", "POST"])
def variant_publish(request, workspace_slug, agent_id, variant_id):
    variant = access_variant(agent_id, variant_id)
    published = [env.kind for env in variant.published_to.all()]
    form = PublishForm(_posted(request), initial={"environments": published})
    context = {"variant": variant, "environments": environments_in_order()}
    saved = _attempt(
        request,
        form,
        lambda: services.variant_publish_to(
            variant=variant,
            environments=Environment.objects.filter(kind__in=form.cleaned_data["environments"]),
            actor=request.user,
        ),
        _published_sentence,
    )
    return saved or _modal(request, "agents/publish.html", form, **context)


def _published_sentence(variant: Variant) -> str:
    names = [str(env) for env in sorted(variant.published_to.all(), key=lambda e: e.position)]
    if not names:
        return f"“{variant}” is not published anywhere now."
    return f"“{variant}” is published to {', '.join(names)}."
