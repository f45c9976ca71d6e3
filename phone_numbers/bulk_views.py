"""Pages of bulk changes and CSV: the bulk modal (from the Numbers page's selection), a job's page, the
export and the import. Thin: bulk.py and csv_io.py do the work."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from phone_numbers.bulk import BulkRefused, bulk_job_create, bulk_selection
from phone_numbers.bulk_buy import QuoteChanged, bulk_buy_confirm, bulk_buy_quote, quote_summary
from phone_numbers.bulk_forms import BulkBuyForm, BulkForm, ImportForm
from phone_numbers.csv_io import import_confirm, import_preview, numbers_export_response
from phone_numbers.filters import NumberFilters
from phone_numbers.models import BulkJob, BulkJobItem
from phone_numbers.selectors import numbers_matching, tags_in_use
from phone_numbers.views import carried
from tenants.decorators import workspace_view
from tenants.http import finish, render_form

RESULTS_PER_PAGE = 100


def _bulk(request, *, release: bool):
    data = request.POST if request.method == "POST" else request.GET
    form = BulkForm(data, release=release)
    selection, count, error = None, 0, ""
    try:
        selection = bulk_selection(
            ids=data.getlist("number"), filter_query=form.filter_query, everything=form.everything
        )
        count = selection.count()
    except BulkRefused as exc:
        error = str(exc)
    if request.method == "POST" and not error and form.is_valid(count=count):
        try:
            job = bulk_job_create(
                kind=form.cleaned_data["action"],
                actor=request.user,
                selection=selection,
                params=form.params(),
            )
        except (BulkRefused, ValidationError) as exc:
            form.add_error(None, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        else:
            return finish(request, "numbers:job", request.workspace.slug, job.pk, go=True)
    action = "numbers:bulk_release" if release else "numbers:bulk"
    context = {
        "form": form, "count": count, "selection_error": error, "section": "numbers",
        "all_tags": tags_in_use(), "action_url": reverse(action, args=[request.workspace.slug]),
        "posted": request.method == "POST",
    }  # fmt: skip
    return render_form(request, "numbers/bulk.html", context, form=form if request.method == "POST" else None,
                       failed=bool(error) and request.method == "POST")  # fmt: skip


@workspace_view(write="numbers.manage")
@require_http_methods(["GET", "POST"])
def number_bulk(request, workspace_slug):
    """Tag, untag, route or detach the selected numbers (or all matching the filter) as a job."""
    if request.GET.get("action") == "release" and request.method == "GET":
        return redirect(
            reverse("numbers:bulk_release", args=[workspace_slug]) + "?" + request.GET.urlencode()
        )
    return _bulk(request, release=False)


@workspace_view(write="numbers.release")
@require_http_methods(["GET", "POST"])
def number_bulk_release(request, workspace_slug):
    """Release the selected numbers at their providers, as a job: admins only, with a typed count."""
    return _bulk(request, release=True)


@workspace_view(write="numbers.manage")
@require_http_methods(["GET", "POST"])
def bulk_job_detail(request, workspace_slug, job_id):
    """A job's progress (polled while it runs) and its per-number results; an import's preview, confirmed here."""
    job = get_object_or_404(BulkJob.objects.select_related("actor"), pk=job_id)
    error = ""
    if request.method == "POST" and job.state == BulkJob.State.PREVIEW:
        try:
            if job.kind == BulkJob.Kind.BUY:
                job = bulk_buy_confirm(job=job, actor=request.user, quote_hash=request.POST.get("quote", ""))
            else:
                job = import_confirm(job=job, actor=request.user)
        except QuoteChanged as exc:
            messages.error(request, str(exc))
            return redirect("numbers:job", workspace_slug, exc.fresh.pk if exc.fresh else job.pk)
        except BulkRefused as exc:
            error = str(exc)
        else:
            return redirect("numbers:job", workspace_slug, job.pk)
    show = request.GET.get("show") if request.GET.get("show") in ("failed", "invalid") else ""
    items = job.items.order_by("id")
    if show:
        items = items.filter(state=show)
    page = _int(request.GET.get("page"))
    offset = (page - 1) * RESULTS_PER_PAGE
    rows = list(items[offset : offset + RESULTS_PER_PAGE + 1])
    context = {
        "job": job, "rows": rows[:RESULTS_PER_PAGE], "show": show, "page": page, "error": error,
        "has_next": len(rows) > RESULTS_PER_PAGE, "section": "numbers", "Item": BulkJobItem.State,
        "invalid": job.params.get("invalid", 0) if job.kind == BulkJob.Kind.IMPORT else 0,
        "quote": quote_summary(job) if job.kind == BulkJob.Kind.BUY and not request.GET.get("poll") else None,
    }  # fmt: skip
    if request.htmx and request.GET.get("poll"):
        return render(request, "numbers/job.html#live", context)
    return render(request, "numbers/job.html", context, status=422 if error else 200)


def _int(raw) -> int:
    try:
        return max(1, min(int(raw), 100_000))
    except (TypeError, ValueError):
        return 1


@workspace_view()
@require_GET
def number_export(request, workspace_slug):
    """The numbers matching the page's filter as CSV, streamed a chunk at a time (flat memory)."""
    filters = NumberFilters.from_query(request.GET)
    return numbers_export_response(numbers_matching(filters), workspace_slug)


@workspace_view(write="numbers.manage")
@require_http_methods(["GET", "POST"])
def number_import(request, workspace_slug):
    """Upload a CSV: every row's change and error is shown in a preview before anything is written."""
    posted = request.method == "POST"
    form = ImportForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        upload_refused=getattr(request, "upload_refused", ""),
    )
    if posted and form.is_valid():
        try:
            job = import_preview(
                actor=request.user,
                data=form.cleaned_data["file"].read(),
                connection=form.cleaned_data["connection"],
                environment=form.cleaned_data["environment"],
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            messages.info(request, "Check what the import will change, then confirm it.")
            return finish(request, "numbers:job", workspace_slug, job.pk, go=True)
    return render_form(request, "numbers/import.html", {"form": form, "section": "numbers"}, form=form)


@workspace_view(write="numbers.manage")
@require_http_methods(["GET", "POST"])
def number_bulk_buy(request, workspace_slug):
    """Buy in bulk: how many numbers and where; a quote (the job's page, nothing bought) comes first."""
    posted = request.method == "POST"
    form = BulkBuyForm(
        request.POST if posted else None, workspace=request.workspace, initial=carried(request)
    )
    if posted and form.is_valid():
        try:
            job = bulk_buy_quote(request=form.buy_request(), actor=request.user)
        except (BulkRefused, ValidationError) as exc:
            form.add_error(None, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        else:
            return finish(request, "numbers:job", workspace_slug, job.pk, go=True)
    context = {"form": form, "all_tags": tags_in_use(), "section": "numbers"}
    return render_form(request, "numbers/bulk_buy.html", context, form=form)
