from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.decorators import workspace_view


@workspace_view()
@require_GET
def providers_list(request, workspace_slug):
    return render(request, "providers/list.html", {"section": "providers"})
