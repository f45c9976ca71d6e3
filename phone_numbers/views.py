import uuid
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agents.models import Variant
from phone_numbers.filters import NumberFilters
from phone_numbers.forms import (
    BuyForm,
    DeleteForm,
    EditForm,
    HealthForm,
    LinkForm,
    ReputationScheduleForm,
    RestoreForm,
)
from phone_numbers.health import FLAG_NOTE_MAX, HealthRefused, number_flag, number_health_clear
from phone_numbers.hold import number_hold, number_restore
from phone_numbers.models import HEALTH_OUT_OF_POOLS, Health, NumberOperation, PhoneNumber
from phone_numbers.reputation import reputation_schedule, reputation_schedule_set
from phone_numbers.selectors import (
    inventory_for,
    number_history,
    numbers_page,
    owned_not_linked,
    reputation_of,
    tags_in_use,
)
from phone_numbers.services import (
    NumberRefused,
    number_buy,
    number_detach,
    number_link,
    number_release,
    number_update,
)
from providers import registry
from providers.selectors import has_number_source
from tenants.decorators import workspace_view
from tenants.display import day, phone
from tenants.http import finish, render_form


def access_number(number_id) -> PhoneNumber:
    """The only way views load a number: scoped to the workspace, 404 for "not yours" and "not there"."""
    return get_object_or_404(PhoneNumber.objects.select_related("environment", "connection"), pk=number_id)


@workspace_view()
@require_GET
def number_list(request, workspace_slug):
    filters = NumberFilters.from_query(request.GET)
    page = numbers_page(filters=filters, page_number=request.GET.get("page"))
    context = {
        "numbers": page,
        "has_source": has_number_source(request.workspace),
        "section": "numbers",
        "health_choices": Health.choices,
    }
    if not request.htmx:
        # PolyAI's callout: variants that exist but can't be assigned until they are published.
        context["unpublished"] = list(
            Variant.objects.filter(changed_since_publish=True).select_related("agent").order_by("name")[:5]
        )
        return render(request, "numbers/list.html", context)
    response = render(request, "numbers/list.html#results", context)
    # The address bar gets the canonical filters ("+1 (415)" -> q=1415), so links and Back reproduce them.
    query = filters.query_string(page=request.GET.get("page", ""))
    response["HX-Push-Url"] = request.path + (f"?{query}" if query else "")
    return response


def carried(request) -> dict:
    """A cascade re-render (htmx GET with the form's values) starts from what was already chosen,
    unbound, so nothing shows an error before the person submits."""
    values = {key: request.GET.get(key) for key in request.GET if key not in ("tags",)}
    if "tags" in request.GET or "tags_text" in request.GET:
        values["tags"] = request.GET.getlist("tags")
    return values


def _refusal(form, exc):
    if isinstance(exc, ValidationError):
        for message in exc.messages:
            form.add_error(None, message)
    elif exc.number is not None:  # the number it is about is here: one click away
        url = reverse("numbers:detail", args=[exc.number.workspace.slug, exc.number.pk])
        form.add_error(None, format_html('{} <a href="{}">Open {}</a>', str(exc), url, exc.number))
    else:
        form.add_error(None, str(exc))


@workspace_view(write="numbers.manage")
@require_http_methods(["GET", "POST"])
def number_new(request, workspace_slug):
    """Buy: environment, provider, connection, a number from the inventory, agent, variant, tags."""
    form = BuyForm(
        request.POST if request.method == "POST" else None,
        workspace=request.workspace,
        initial=carried(request),
    )
    if request.method == "POST" and form.is_valid():
        try:
            operation = number_buy(
                workspace=request.workspace,
                actor=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
                bundle=form.chosen_bundle(),
                **form.number_fields(),
            )
        except (NumberRefused, ValidationError) as exc:
            _refusal(form, exc)
        else:
            if operation.state == NumberOperation.State.FAILED:
                # Nothing was bought: say why, and let the next attempt be a new operation.
                form.data = form.data.copy()
                form.data["idempotency_key"] = uuid.uuid4().hex
                form.add_error(None, operation.error)
            else:
                _say_buy_outcome(request, operation)
                return finish(request, "numbers:list", workspace_slug=workspace_slug)
    inventory = inventory_for(form) if form.chosen_connection else None
    context = {"form": form, "inventory": inventory, "all_tags": tags_in_use(), "section": "numbers"}
    if request.htmx and request.htmx.target == "inventory":
        # The submit follows the search's requirements (disabled, saying why): swapped out of band.
        return render(request, "numbers/new.html#inventory", context | {"oob": True})
    return render_form(request, "numbers/new.html", context, form=form)


def _say_buy_outcome(request, operation):
    provider, number = operation.connection.get_provider_display(), phone(operation.e164)
    if operation.state == NumberOperation.State.SUCCEEDED:
        messages.success(request, f"Bought {number}.")
    elif operation.state == NumberOperation.State.PENDING:
        messages.info(
            request,
            f"Ordering {number} at {provider}; it shows as ordering until {provider} confirms.",
        )
    elif operation.state == NumberOperation.State.UNKNOWN:
        messages.warning(
            request,
            f"{provider} did not answer in time. We are checking whether {number} "
            "was bought; it shows as ordering until then. Nothing will be bought twice.",
        )
    else:
        messages.info(request, f"{number}: {operation.get_state_display()}.")


@workspace_view(write="numbers.manage")
@require_http_methods(["GET", "POST"])
def number_link_view(request, workspace_slug):
    form = LinkForm(
        request.POST if request.method == "POST" else None,
        workspace=request.workspace,
        initial=carried(request),
    )
    if request.method == "POST" and form.is_valid():
        try:
            number = number_link(workspace=request.workspace, actor=request.user, **form.number_fields())
        except (NumberRefused, ValidationError) as exc:
            _refusal(form, exc)
        else:
            messages.success(request, f"Linked {number}. It stays owned and billed by your provider.")
            return finish(request, "numbers:list", workspace_slug=workspace_slug)
    owned = owned_not_linked(form.chosen_connection) if form.chosen_connection else None
    context = {"form": form, "owned": owned, "all_tags": tags_in_use(), "section": "numbers"}
    return render_form(request, "numbers/link.html", context, form=form)


@workspace_view(write="numbers.manage")
@require_http_methods(["GET", "POST"])
def number_edit(request, workspace_slug, number_id):
    number = access_number(number_id)
    initial = {
        "environment": number.environment_id,
        "inbound_agent": number.inbound_agent_id,
        "inbound_variant": number.inbound_variant_id,
        "tags": [t.name for t in number.tags.all()],
        "version": number.version,
    }
    form = EditForm(request.POST if request.method == "POST" else None, initial=initial | carried(request))
    if request.method == "POST" and form.is_valid():
        try:
            number_update(
                number=number,
                actor=request.user,
                version=form.cleaned_data["version"],
                environment=form.cleaned_data["environment"],
                agent=form.cleaned_data["inbound_agent"],
                variant=form.cleaned_data["inbound_variant"],
                tag_names=form.cleaned_data["tags"],
            )
        except (NumberRefused, ValidationError) as exc:
            _refusal(form, exc)
        else:
            messages.success(request, f"Saved {number}.")
            return finish(request, "numbers:list", workspace_slug=workspace_slug)
    context = {"form": form, "number": number, "all_tags": tags_in_use(), "section": "numbers"}
    return render_form(request, "numbers/edit.html", context, form=form)


@workspace_view(write="numbers.manage")
@require_http_methods(["GET", "POST"])
def number_detach_view(request, workspace_slug, number_id):
    number = access_number(number_id)
    error = None
    if request.method == "POST":
        try:
            number_detach(number=number, actor=request.user)
        except NumberRefused as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                f"Detached {number}. It is still in your {number.connection.get_provider_display()} account.",
            )
            return finish(request, "numbers:list", workspace_slug=workspace_slug)
    context = {"number": number, "error": error, "section": "numbers"}
    return render_form(request, "numbers/detach.html", context, failed=bool(error))


@workspace_view(write="numbers.manage")
@require_http_methods(["GET", "POST"])
def number_health_view(request, workspace_slug, number_id):
    """The number's health, and a member's flag (with a note) or clear (a flag, a rest, a retirement)."""
    number = access_number(number_id)
    error, note = None, ""
    if request.method == "POST":
        form = HealthForm(request.POST)
        note = request.POST.get("note", "")
        try:
            if not form.is_valid():
                raise HealthRefused(form.first_error())
            if form.cleaned_data["action"] == "flag":
                number_flag(number=number, actor=request.user, note=form.cleaned_data["note"])
                done = f"Flagged {number}: it rests from its pools."
            else:
                number_health_clear(number=number, actor=request.user)
                done = f"{number} is back in its pools, watched."
        except HealthRefused as exc:
            error = str(exc)
        else:
            messages.success(request, done)
            return finish(request, "numbers:list", workspace_slug=workspace_slug)
    clearable = number.flagged or number.health in (Health.AT_RISK, *HEALTH_OUT_OF_POOLS)
    context = {
        "number": number, "error": error, "note": note, "note_max": FLAG_NOTE_MAX, "clearable": clearable,
        "section": "numbers",
    }  # fmt: skip
    return render_form(request, "numbers/health.html", context, failed=bool(error))


@workspace_view(write="numbers.release")
@require_http_methods(["GET", "POST"])
def number_delete(request, workspace_slug, number_id):
    """Delete: a hold (restorable until it ends, phone_numbers/hold.py), or a release now, typed."""
    number = access_number(number_id)
    form = DeleteForm(request.POST if request.method == "POST" else None, number=number)
    if request.method == "POST" and form.is_valid():
        try:
            if form.releases_now:
                key = form.cleaned_data["idempotency_key"]
                _say_release_outcome(
                    request, number_release(number=number, actor=request.user, idempotency_key=key)
                )
            else:
                held = number_hold(number=number, actor=request.user, version=form.cleaned_data["version"])
                messages.success(
                    request,
                    f"{held} is on hold: it no longer calls out, and will be released on "
                    f"{day(held.release_at)}. Restore it any time before then.",
                )
        except NumberRefused as exc:
            form.add_error(None, str(exc))
        else:
            return finish(request, "numbers:list", workspace_slug=workspace_slug)
    release_on = timezone.now() + timedelta(days=form.hold_days)
    context = {"form": form, "number": number, "release_on": release_on, "section": "numbers"}
    return render_form(request, "numbers/delete.html", context, form=form)


def _say_release_outcome(request, operation):
    number, provider = operation.number, operation.connection.get_provider_display()
    if operation.state == NumberOperation.State.SUCCEEDED:
        messages.success(request, f"Released {number} at {provider}.")
    elif operation.state == NumberOperation.State.FAILED:
        messages.error(request, f"{number} was not released: {operation.error}")
    else:
        messages.warning(
            request, f"{provider} did not confirm the release of {number} yet; Dialtone keeps trying."
        )


@workspace_view(write="numbers.manage")
@require_POST
def number_restore_view(request, workspace_slug, number_id):
    """One click on a number on hold: it stays, calls out again, and is not released."""
    number = access_number(number_id)
    form = RestoreForm(request.POST)
    try:
        if not form.is_valid():
            raise NumberRefused("This page is out of date. Reload it and try again.")
        number_restore(number=number, actor=request.user, version=form.cleaned_data["version"])
    except NumberRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Restored {number}: it stays, and calls out again.")
    return finish(request, "numbers:list", workspace_slug=workspace_slug)


@workspace_view()
@require_GET
def number_detail(request, workspace_slug, number_id):
    number = access_number(number_id)
    context = {
        "number": number,
        "events": number_history(number),
        "section": "numbers",
        "reputation": reputation_of([number]).get(number.pk),
        "reputation_offered": registry.get(number.connection.provider).offers_reputation,
        "reputation_schedule": reputation_schedule(),
    }
    if number.state == PhoneNumber.State.DETACHED:
        # "Link again" opens the Link modal with the number, its environment and its account chosen.
        again = {
            "e164": str(number),
            "environment": number.environment_id,
            "provider": number.connection.provider,
            "connection": number.connection_id,
        }
        context["link_again_url"] = reverse("numbers:link", args=[workspace_slug]) + "?" + urlencode(again)
    return render(request, "numbers/detail.html", context)


@workspace_view(write="providers.manage")
@require_http_methods(["GET", "POST"])
def reputation_schedule_edit(request, workspace_slug):
    """How often numbers get a fresh (paid) reputation check: an admin's call, as it spends money."""
    schedule = reputation_schedule()
    form = ReputationScheduleForm(request.POST or None, initial={"every_days": schedule.every_days})
    if request.method == "POST" and form.is_valid():
        schedule = reputation_schedule_set(every_days=form.cleaned_data["every_days"], actor=request.user)
        messages.success(request, f"Reputation checks: {schedule.get_every_days_display().lower()}.")
        return finish(request, "numbers:list", workspace_slug=workspace_slug)
    context = {"form": form, "schedule": schedule, "section": "numbers"}
    return render_form(request, "numbers/reputation.html", context, form=form)
