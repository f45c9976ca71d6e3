"""The Call pacing modal of the Numbers page: everyone may read it, operators and admins change it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from pacing.forms import CallingHoursForm, PacingPolicyForm
from pacing.selectors import capacity, policy_capacity, policy_of, tagged_numbers_count
from pacing.services import hours_update, policy_update
from tenants.decorators import workspace_view
from tenants.http import finish, render_form
from tenants.models import Environment
from tenants.roles import role_allows


@workspace_view(write="pacing.manage")
@require_http_methods(["GET", "POST"])
def policy_edit(request, workspace_slug, environment_id=None):
    if environment_id is None:
        environment = min(Environment.objects.all(), key=lambda e: e.position)
    else:
        environment = get_object_or_404(Environment.objects, pk=environment_id)
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
