from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.decorators import workspace_view
from tenants.models import Environment


@workspace_view()
@require_GET
def number_list(request, workspace_slug):
    environments = sorted(Environment.objects.all(), key=lambda e: e.position)
    sections = [{"environment": env, "numbers": [], "count": 0} for env in environments]
    return render(
        request,
        "numbers/list.html",
        {"sections": sections, "total": 0, "section": "numbers"},
    )


@workspace_view(write="numbers.manage")
@require_GET
def number_new(request, workspace_slug):
    """The New number modal; until a provider is connected it explains the prerequisite."""
    template = "numbers/new.html#modal" if request.htmx else "numbers/new.html"
    return render(request, template, {"section": "numbers"})
