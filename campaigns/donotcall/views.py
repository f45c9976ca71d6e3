"""The Do not call page: the list (search by digits, pages), add (one or pasted), CSV import with a
preview, CSV export, remove with a confirmation, and the stop endpoint's token."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from campaigns.donotcall.entries import workspace_regions
from campaigns.donotcall.forms import AddForm, ImportForm
from campaigns.donotcall.selectors import dnc_csv, dnc_page, stop_token
from campaigns.donotcall.services import dnc_add, dnc_remove, stop_token_create
from campaigns.models import DoNotCall
from phone_numbers.filters import NumberFilters
from tenants.decorators import workspace_view
from tenants.display import phone
from tenants.http import finish, render_form

MANAGE = "campaigns.manage"
TOKEN = "workspace.manage"  # a credential: admins and owners make it
PREVIEW_SECONDS = 1800
SECTION = "do_not_call"


def access_entry(entry_id) -> DoNotCall:
    """The only way views load an entry: scoped to the workspace, 404 for "not yours" and "not there"."""
    return get_object_or_404(DoNotCall.objects.all(), pk=entry_id)


def stop_endpoint_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("hooks:stop")


@workspace_view()
@require_GET
def dnc_list(request, workspace_slug):
    filters = NumberFilters.from_query(request.GET)
    context = {
        "page": dnc_page(filters, request.GET.get("page")),
        "filters": filters,
        "token": stop_token(),
        "stop_url": stop_endpoint_url(),
        "section": SECTION,
    }
    if not request.htmx or request.htmx.target != "results":
        return render(request, "donotcall/list.html", context)
    response = render(request, "donotcall/list.html#results", context)
    query = filters.query_string(page=request.GET.get("page", ""))
    response["HX-Push-Url"] = request.path + (f"?{query}" if query else "")
    return response


def _said(request, added) -> None:
    parts = []
    if added.added:
        count = len(added.added)
        parts.append(
            f"Added {phone(added.added[0]) if count == 1 else f'{count:,} numbers'} to the do-not-call list."
        )
    if added.already:
        count = len(added.already)
        parts.append(
            f"{phone(added.already[0]) if count == 1 else f'{count:,} numbers'} "
            f"{'was' if count == 1 else 'were'} already on it."
        )
    if added.suppressed:
        parts.append(f"{added.suppressed} waiting call{'s' if added.suppressed > 1 else ''} suppressed.")
    messages.success(request, " ".join(parts))


@workspace_view(write=MANAGE)
@require_http_methods(["GET", "POST"])
def dnc_add_view(request, workspace_slug):
    form = AddForm(request.POST or None, regions=workspace_regions())
    if request.method == "POST" and form.is_valid():
        added = dnc_add(
            workspace=request.workspace, actor=request.user, numbers=form.cleaned_data["numbers"].numbers,
            source=DoNotCall.Source.MANUAL, note=form.cleaned_data["note"],
        )  # fmt: skip
        _said(request, added)
        return finish(request, "dnc:list", workspace_slug=workspace_slug)
    context = {"form": form, "section": SECTION, "title": "Add to the do-not-call list"}
    return render_form(request, "donotcall/add.html", context, form=form)


def _preview_key(workspace, key: str) -> str:
    # A key we made is 22 URL-safe characters; anything else names no preview.
    return f"dnc-import:{workspace.pk}:{key if re.fullmatch(r'[A-Za-z0-9_-]{1,32}', key) else '-'}"


@workspace_view(write=MANAGE)
@require_http_methods(["GET", "POST"])
def dnc_import_view(request, workspace_slug):
    """A file is read and previewed (what will be added, what is already listed), nothing written; the
    preview's Import writes it. The read list waits in the cache meanwhile, under the workspace's key."""
    form = ImportForm(
        request.POST or None, request.FILES or None, regions=workspace_regions(),
        upload_refused=getattr(request, "upload_refused", ""),
    )  # fmt: skip
    context = {"form": form, "section": SECTION, "title": "Import a do-not-call list"}
    if request.method == "POST" and form.is_valid():
        parsed, note = form.cleaned_data["file"], form.cleaned_data["note"]
        if parsed is not None:  # read: show what will be added
            listed = set()
            for start in range(0, len(parsed.numbers), 5000):
                chunk = parsed.numbers[start : start + 5000]
                listed |= set(DoNotCall.objects.filter(e164__in=chunk).values_list("e164", flat=True))
            new = [n for n in parsed.numbers if n not in listed]
            key = secrets.token_urlsafe(16)
            cache.set(_preview_key(request.workspace, key), new, PREVIEW_SECONDS)
            context["preview"] = {
                "key": key, "new": len(new), "already": len(listed), "duplicates": parsed.duplicates,
                "sample": new[:10], "note": note,
            }  # fmt: skip
            return render_form(request, "donotcall/import.html", context)
        numbers = cache.get(_preview_key(request.workspace, form.cleaned_data["preview"]))
        if numbers is None:
            form.add_error(None, "This preview has expired. Choose the file again.")
        else:
            added = dnc_add(
                workspace=request.workspace, actor=request.user, numbers=numbers, source=DoNotCall.Source.CSV,
                note=note,
            )  # fmt: skip
            cache.delete(_preview_key(request.workspace, form.cleaned_data["preview"]))
            _said(request, added)
            return finish(request, "dnc:list", workspace_slug=workspace_slug)
    return render_form(request, "donotcall/import.html", context, form=form)


@workspace_view()
@require_GET
def dnc_export(request, workspace_slug):
    response = StreamingHttpResponse(dnc_csv(request.workspace.pk), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{workspace_slug}-do-not-call.csv"'
    return response


@workspace_view(write=MANAGE)
@require_http_methods(["GET", "POST"])
def dnc_remove_view(request, workspace_slug, entry_id):
    entry = access_entry(entry_id)
    if request.method == "POST":
        dnc_remove(entry=entry, actor=request.user)
        messages.success(request, f"Removed {phone(entry.e164)} from the do-not-call list.")
        return finish(request, "dnc:list", workspace_slug=workspace_slug)
    context = {"entry": entry, "section": SECTION, "title": f"Remove {phone(entry.e164)}"}
    return render_form(request, "donotcall/remove.html", context)


@workspace_view(read=TOKEN, write=TOKEN)
@require_http_methods(["GET", "POST"])
def dnc_token_view(request, workspace_slug):
    """Make (or replace) the stop endpoint's token; shown once, in the answer to the POST."""
    made = None
    if request.method == "POST":
        made = stop_token_create(workspace=request.workspace, actor=request.user)
    context = {
        "made": made, "token": stop_token(), "stop_url": stop_endpoint_url(), "section": SECTION,
        "title": "Stop endpoint token",
    }  # fmt: skip
    return render_form(request, "donotcall/token.html", context)
