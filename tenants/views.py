from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from tenants.api_keys import api_keys_listed
from tenants.decorators import workspace_view
from tenants.forms import ActivityFilterForm, EnvironmentSipForm, ReleaseHoldForm, SignInForm
from tenants.http import finish, render_form
from tenants.member_views import new_link
from tenants.models import AuditEvent, Environment, Invitation, Membership
from tenants.selectors import membership_for, memberships_for_user, refusal_for
from tenants.services import environment_update_sip, workspace_release_hold_set
from tenants.tasks import HEARTBEAT_KEY


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


@login_required
@require_GET
def home(request):
    """Back to the workspace used last, else the first one; the switcher when there are none."""
    last = request.session.get("last_workspace")
    if last and membership_for(request.user, last):
        return redirect("numbers:list", workspace_slug=last)
    first = memberships_for_user(request.user).first()
    if first:
        return redirect("numbers:list", workspace_slug=first.workspace.slug)
    return redirect("workspaces")


@login_required
@require_GET
def workspace_list(request):
    return render(request, "tenants/workspaces.html", {"memberships": memberships_for_user(request.user)})


@workspace_view()
@require_GET
def workspace_root(request, workspace_slug):
    return redirect("numbers:list", workspace_slug=workspace_slug)


@workspace_view()
@require_GET
def settings_page(request, workspace_slug):
    environments = sorted(Environment.objects.all(), key=lambda e: e.position)
    members = Membership.objects.select_related("user").order_by("user__username")
    context = {
        "environments": environments,
        "members": members,
        # Lazy: read only where the template shows them, to those who manage members.
        "invitations": Invitation.objects.filter(accepted_at=None, revoked_at=None).select_related(
            "invited_by"
        ),
        "new_link": new_link(request),
        "api_keys": api_keys_listed(),  # lazy: read only where the template shows them, to admins
        "section": "settings",
    }
    return render(request, "tenants/settings.html", context)


@workspace_view(write="workspace.manage")
@require_http_methods(["GET", "POST"])
def environment_edit(request, workspace_slug, environment_id):
    environment = get_object_or_404(Environment.objects, pk=environment_id)
    form = EnvironmentSipForm(request.POST or None, instance=environment)
    if request.method == "POST" and form.is_valid():
        environment_update_sip(
            environment=Environment.objects.get(pk=environment.pk),
            actor=request.user,
            sip_main=form.cleaned_data["sip_main"],
            sip_fallback=form.cleaned_data["sip_fallback"],
        )
        messages.success(request, f"{environment} SIP addresses saved.")
        return finish(request, "settings", workspace_slug=workspace_slug)
    context = {"form": form, "environment": environment, "section": "settings"}
    return render_form(request, "tenants/environment_form.html", context, form=form)


@workspace_view(write="workspace.manage")
@require_http_methods(["GET", "POST"])
def release_hold_edit(request, workspace_slug):
    """How long deleted numbers are held before they are released (0 to 30 days)."""
    form = ReleaseHoldForm(request.POST or None, initial={"days": request.workspace.release_hold_days})
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["days"]
        workspace_release_hold_set(workspace=request.workspace, actor=request.user, days=days)
        said = (
            "released at once" if days == 0 else f"held {days} day{'s' if days != 1 else ''} before release"
        )
        messages.success(request, f"Deleted numbers are now {said}.")
        return finish(request, "settings", workspace_slug=workspace_slug)
    return render_form(request, "tenants/release_hold.html", {"form": form, "section": "settings"}, form=form)


@workspace_view()
@require_GET
def activity(request, workspace_slug):
    events = AuditEvent.objects.select_related("actor")
    form = ActivityFilterForm(request.GET)
    action = form.cleaned_data["action"].strip() if form.is_valid() else ""
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    actions = AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
    template = "tenants/activity.html#events" if request.htmx else "tenants/activity.html"
    return render(
        request,
        template,
        {"page": page, "action": action, "actions": actions, "form": form, "section": "settings"},
    )


def permission_denied(request, exception):
    """403 (handler403): a member sees it inside the app, with who can help; anyone else, the plain page."""
    context = {"exception": str(exception)}
    membership = getattr(request, "membership", None)
    if membership is not None:
        context["refusal"] = refusal_for(membership, getattr(exception, "permission", None))
    return render(request, "403.html", context, status=403)


@never_cache
@require_GET
def healthz(request):
    """Liveness for load balancers and compose health checks: database and Redis answer. Anyone learns up
    (200) or down (503), nothing more; staff also see which part failed and the workers' last heartbeat."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        checks["worker_heartbeat"] = cache.get(HEARTBEAT_KEY) or "none yet"
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    healthy = checks["database"] == "ok" and checks["redis"] == "ok"
    answer = {"status": "ok" if healthy else "down"}
    if _staff(request):
        answer |= checks
    return JsonResponse(answer, status=200 if healthy else 503)


def _staff(request) -> bool:
    try:
        return request.user.is_active and request.user.is_staff
    except Exception:  # noqa: BLE001 - sessions are cached in Redis: when it is down, the caller is nobody
        request.user = AnonymousUser()
        return False
