"""The Call pacing modal of the Numbers page: everyone may read it, operators and admins change it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from pacing.forms import CallingHoursForm, PacingPolicyForm, TagPolicyForm
from pacing.selectors import (
    capacity,
    policy_capacity,
    policy_of,
    tag_numbers_count,
    tag_policies,
    tag_policy_of,
    tagged_numbers_count,
)
from pacing.services import hours_update, policy_update, tag_policy_remove, tag_policy_update
from phone_numbers.selectors import tags_named
from tenants.decorators import workspace_view
from tenants.http import finish, render_form
from tenants.models import Environment
from tenants.roles import role_allows


@workspace_view(write="pacing.manage")
@require_http_methods(["GET", "POST"])
def policy_edit(request, workspace_slug, environment_id=None):
    environment = _environment(environment_id)
    policy = policy_of(environment)
    form = PacingPolicyForm(
        request.POST if request.method == "POST" else None, initial=PacingPolicyForm.initial_for(policy)
    )
    hours_form = CallingHoursForm(
        request.POST if request.method == "POST" else None,
        initial=CallingHoursForm.initial_hours(policy.hours),
    )
    with_hours = request.method == "POST" and CallingHoursForm.submitted(request.POST)
    action = reverse("pacing:policy", args=[workspace_slug, environment.pk])
    # Both forms checked, so every mistake shows at once; saved together or not at all.
    if request.method == "POST" and form.is_valid() & (hours_form.is_valid() if with_hours else True):
        try:
            with transaction.atomic():
                policy = policy_update(environment=environment, actor=request.user, **form.policy_values())
                if with_hours:
                    policy = hours_update(
                        environment=environment, actor=request.user, hours=hours_form.hours()
                    )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    if field == "hours":
                        hours_form.add_error("hours_end", problem)
                    else:
                        form.add_error(form.field_of(field), problem)
        else:
            messages.success(
                request,
                f"Call pacing in {environment} saved: {policy.describe()}; "
                f"calling hours {policy.hours.describe()} in the callee's local time.",
            )
            return finish(request, "numbers:list", workspace_slug=workspace_slug)
    numbers = tagged_numbers_count(environment)
    if request.htmx and request.htmx.target == "capacity":
        return _capacity_as_typed(request, environment, numbers)
    context = {
        "section": "numbers",
        "environment": environment,
        "environments": sorted(Environment.objects.all(), key=lambda e: e.position),
        "policy": policy,
        "form": form,
        "hours_form": hours_form,
        "numbers": numbers,
        "capacity": policy_capacity(policy, numbers=numbers),
        "described": policy.describe(),
        "tag_policies": tag_policies(environment),
        "action": action,
        "can_edit": role_allows(request.membership.role, "pacing.manage"),
    }
    return render_form(
        request, "pacing/policy.html", context, form=form, failed=bool(with_hours and hours_form.errors)
    )


def _capacity_as_typed(request, environment, numbers: int):
    """The summary line for the values being typed (nothing is saved), or what stands in their way."""
    typed = PacingPolicyForm(request.GET)
    valid = typed.is_valid()
    context = {
        "environment": environment,
        "numbers": numbers,
        "capacity": capacity(**typed.policy_values(), numbers=numbers) if valid else None,
        "described": typed.limits().describe() if valid else "",
        "problem": None if valid else next(iter(typed.errors.values()))[0],
    }
    return render(request, "pacing/policy.html#capacity", context)


def _environment(environment_id) -> Environment:
    """The environment asked for, else Live first (the Numbers page's buttons)."""
    if environment_id is None:
        return min(Environment.objects.all(), key=lambda e: e.position)
    return get_object_or_404(Environment.objects, pk=environment_id)


@workspace_view(write="pacing.manage")
@require_http_methods(["GET", "POST"])
def tag_policy_edit(request, workspace_slug, tag_name, environment_id=None):
    """A tag's own pacing in one environment, from the tag's filter chip on the Numbers page: set, change,
    or remove it (a POST with remove=1), after which its numbers follow the environment's policy."""
    environment = _environment(environment_id)
    tag = tags_named([tag_name]).first()
    if tag is None:
        raise Http404("No such tag")
    policy = tag_policy_of(environment, tag)
    environment_policy = policy_of(environment)
    posted = request.method == "POST" and "remove" not in request.POST
    form = TagPolicyForm(
        request.POST if posted else None, initial=TagPolicyForm.initial_for(policy) if policy else {}
    )
    if request.method == "POST" and "remove" in request.POST:
        if tag_policy_remove(environment=environment, tag=tag, actor=request.user):
            messages.success(
                request,
                f"“{tag}” in {environment} has no pacing of its own now: its numbers follow the environment's "
                f"({environment_policy.describe()}).",
            )
        return finish(request, "numbers:list", workspace_slug=workspace_slug)
    if posted and form.is_valid():
        try:
            policy = tag_policy_update(
                environment=environment, tag=tag, actor=request.user, limits=form.limits()
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(form.field_of(field), problem)
        else:
            messages.success(request, f"Call pacing for “{tag}” in {environment} saved: {policy.describe()}.")
            return finish(request, "numbers:list", workspace_slug=workspace_slug)
    context = {
        "section": "numbers",
        "environment": environment,
        "environments": sorted(Environment.objects.all(), key=lambda e: e.position),
        "tag": tag,
        "policy": policy,
        "environment_policy": environment_policy,
        "form": form,
        "numbers": tag_numbers_count(environment, tag),
        "action": reverse("pacing:tag", args=[workspace_slug, environment.pk, tag.name]),
        "can_edit": role_allows(request.membership.role, "pacing.manage"),
    }
    return render_form(request, "pacing/tag_policy.html", context, form=form)
