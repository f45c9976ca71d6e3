"""Campaign pages: list, new (CSV upload), the live progress page, and its Start/Pause/Resume/Cancel."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from campaigns import control
from campaigns.call_log import FILTERS, call_log, call_log_csv
from campaigns.coverage import Area, campaign_coverage
from campaigns.donotcall.selectors import dnc_listed_among
from campaigns.forms import CampaignForm
from campaigns.models import Campaign, CampaignCall, DestinationUpload
from campaigns.number_activity import activity_charts, number_activity
from campaigns.rules import AttemptRules
from campaigns.selectors import (
    caller_id_choices,
    campaign_callers,
    campaign_hours_notice,
    campaign_progress,
    environment_hours,
)
from pacing.selectors import policy_of
from phone_numbers.models import PhoneNumber
from tenants.decorators import workspace_view
from tenants.http import finish, render_form

MANAGE = "campaigns.manage"


def access_campaign(campaign_id) -> Campaign:
    """The only way views load a campaign: scoped to the workspace, 404 for "not yours" and "not there"."""
    return get_object_or_404(Campaign.objects.select_related("environment"), pk=campaign_id)


@workspace_view()
@require_GET
def campaigns_list(request, workspace_slug):
    campaigns = (
        Campaign.objects.select_related("environment")
        .annotate(
            placed=Count("calls", filter=Q(calls__state=CampaignCall.State.PLACED)),
            failed=Count("calls", filter=Q(calls__state=CampaignCall.State.FAILED)),
        )
        .order_by("-created_at")[:200]
    )
    return render(request, "campaigns/list.html", {"campaigns": campaigns, "section": "campaigns"})


@workspace_view(write=MANAGE)
@require_http_methods(["GET", "POST"])
def campaign_new(request, workspace_slug):
    data = request.POST if request.method == "POST" else request.GET
    choices = caller_id_choices(environment_id=data.get("environment"), tag_ids=data.getlist("tags"))
    if request.htmx and request.htmx.target == "caller-ids":  # a tag or the environment changed
        return render(request, "campaigns/new.html#caller-id-counts", {"choices": choices, "oob": True})
    form = CampaignForm(
        request.POST or None, request.FILES or None, upload_refused=getattr(request, "upload_refused", "")
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = control.campaign_create(
                workspace=request.workspace,
                actor=request.user,
                name=data["name"],
                environment=data["environment"],
                agent=data["agent"],
                tag_names=[t.name for t in data["tags"]],
                destinations=data["destinations"],
                hours=form.campaign_hours(),
                rules=form.rules(),
                local_presence=data["local_presence"],
            )
        except ValidationError as error:
            if hasattr(error, "error_dict") and "hours" in error.error_dict:
                form.add_error("hours_end", error.error_dict.pop("hours"))  # widens the environment's
            if hasattr(error, "error_dict") and "rules" in error.error_dict:
                form.add_error("cap_campaign", error.error_dict.pop("rules"))
            if not hasattr(error, "error_dict") or error.error_dict:
                form.add_error(None, error)
        else:
            skipped = (
                f" ({campaign.duplicates_skipped} duplicate rows skipped)"
                if campaign.duplicates_skipped
                else ""
            )
            listed = dnc_listed_among(campaign)
            if listed:
                skipped += (
                    f". {listed} of them {'is' if listed == 1 else 'are'} on the do-not-call list and will be "
                    "suppressed, never dialed"
                )
            if isinstance(data["destinations"], bytes):
                messages.success(
                    request, f"Campaign “{campaign}” created; its destination list is being read."
                )
            else:
                messages.success(
                    request,
                    f"Campaign “{campaign}” created with {campaign.destinations} destinations{skipped}.",
                )
            return finish(request, "campaigns:detail", workspace_slug, campaign.pk, go=True)
    context = {
        "form": form, "choices": choices, "section": "campaigns", "title": "New campaign",
        "environment_hours": environment_hours(),
    }  # fmt: skip
    return render_form(request, "campaigns/new.html", context, form=form)


@workspace_view()
@require_GET
def campaign_detail(request, workspace_slug, campaign_id):
    campaign = access_campaign(campaign_id)
    seen = request.GET.get("seen")
    if request.htmx and seen and seen != campaign.state:
        return HttpResponseClientRefresh()  # finished or paused meanwhile: the header and actions change too
    callers = campaign_callers(campaign)
    progress = campaign_progress(campaign, pool_size=callers.total)
    context = {
        "campaign": campaign,
        "progress": progress,
        "callers": callers,
        "log": call_log(
            campaign, counts=progress.by_state, state=request.GET.get("state"), page=request.GET.get("page")
        ),
        "policy": policy_of(campaign.environment),
        "hours": campaign_hours_notice(campaign),
        "rules": AttemptRules.of(campaign),
        "upload": upload_of(campaign),
        "section": "campaigns",
    }
    if not request.htmx and campaign.is_open:  # not in the live poll: an EXISTS per waiting call
        context["dnc_listed"] = dnc_listed_among(campaign)
    template = "campaigns/detail.html#live" if request.htmx else "campaigns/detail.html"
    return render(request, template, context)


def upload_of(campaign: Campaign) -> DestinationUpload | None:
    """A long destination list still being read, or that failed to read (the rows are not loaded)."""
    return DestinationUpload.objects.defer("data").filter(campaign=campaign).first()


@workspace_view()
@require_GET
def campaign_upload(request, workspace_slug, campaign_id):
    """The campaign page's poll while its list is read; once read, the page reloads with its calls."""
    campaign = access_campaign(campaign_id)
    upload = upload_of(campaign)
    if upload is None or upload.state != DestinationUpload.State.PENDING:
        if request.htmx:
            return HttpResponseClientRefresh()
        return redirect("campaigns:detail", workspace_slug=workspace_slug, campaign_id=campaign.pk)
    return render(request, "campaigns/detail.html#upload", {"campaign": campaign, "upload": upload})


@workspace_view()
@require_GET
def campaign_calls_csv(request, workspace_slug, campaign_id):
    """The call log (under its filter, if any) as CSV, streamed: a 100,000-call list is never held whole."""
    campaign = access_campaign(campaign_id)
    state = request.GET.get("state") if request.GET.get("state") in FILTERS else ""
    response = StreamingHttpResponse(
        call_log_csv(campaign, state=state), content_type="text/csv; charset=utf-8"
    )
    name = "-".join(filter(None, [slugify(campaign.name) or "campaign", "calls", state]))
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


_CONTROLS = {
    "start": (control.campaign_start, "started"),
    "pause": (control.campaign_pause, "paused"),
    "resume": (control.campaign_resume, "resumed"),
    "cancel": (control.campaign_cancel, "cancelled"),
}


@workspace_view(write=MANAGE)
@require_POST
def campaign_control(request, workspace_slug, campaign_id, action):
    campaign = access_campaign(campaign_id)
    service, done = _CONTROLS[action]
    try:
        service(campaign=campaign, actor=request.user)
    except control.CampaignRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"“{campaign}” {done}.")
    if request.htmx:
        return finish(request, "campaigns:detail", workspace_slug=workspace_slug, campaign_id=campaign.pk)
    return redirect("campaigns:detail", workspace_slug=workspace_slug, campaign_id=campaign.pk)


@workspace_view()
@require_GET
def campaign_coverage_view(request, workspace_slug, campaign_id):
    """Destinations by area code against the caller IDs there; each gap links to the buy flow."""
    campaign = access_campaign(campaign_id)
    coverage = campaign_coverage(campaign)
    tag = campaign.tags.order_by("name").first()
    rows = [
        (row, _buy_url(workspace_slug, campaign, tag, row.area) if row.gap else None) for row in coverage.rows
    ]
    context = {"campaign": campaign, "coverage": coverage, "rows": rows, "tag": tag, "section": "campaigns"}
    return render(request, "campaigns/coverage.html", context)


def _buy_url(workspace_slug, campaign, tag, area: Area) -> str | None:
    """The New number modal searching that area, in the campaign's environment and with one of its tags,
    so a number bought there joins the campaign's caller IDs."""
    search = area.buy_query()
    if search is None:
        return None
    query = search | {"environment": campaign.environment_id} | ({"tags": tag.name} if tag else {})
    return reverse("numbers:new", args=[workspace_slug]) + "?" + urlencode(query)


@workspace_view()
@require_GET
def number_calls(request, workspace_slug, number_id):
    """A number's calls per day and answer rate, with the events that changed it: a section of its page
    (phone_numbers' number_detail loads it with htmx: numbers sit below campaigns), or a page of its own."""
    number = get_object_or_404(PhoneNumber.objects.select_related("environment"), pk=number_id)
    activity = number_activity(number)
    context = {
        "number": number,
        "activity": activity,
        "charts": activity_charts(activity),
        # HEALTH OVER TIME: the slot for health_history(number) (the health work), wired in at merge.
        "health": None,
        "section": "numbers",
    }
    template = "campaigns/number_calls.html#activity" if request.htmx else "campaigns/number_calls.html"
    return render(request, template, context)
