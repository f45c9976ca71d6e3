"""How every modal is shown and how every write through one ends: one helper each, shared by every app."""

from urllib.parse import urlsplit

from django.http import HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

# A modal opened by URL with nothing saying where the person came from goes back to its section's page.
SECTION_PAGES = {
    "numbers": "numbers:list",
    "campaigns": "campaigns:list",
    "do_not_call": "dnc:list",
    "agents": "agents:list",
    "providers": "providers:list",
    "settings": "settings",
}


def _workspace_prefix(request) -> str | None:
    workspace = getattr(request, "workspace", None)
    return f"/w/{workspace.slug}/" if workspace else None


def back_to(request, fallback: str) -> str:
    """Where the person came from, with its search, filters and page: the `next` a modal carries, else the
    page htmx was called from, else the Referer; each only if it is another page of this workspace."""
    prefix = _workspace_prefix(request)
    if prefix is None:
        return fallback
    candidates = (
        request.POST.get("next"),
        request.GET.get("next"),
        request.headers.get("HX-Current-URL"),
        request.headers.get("Referer"),
    )
    for url in candidates:
        if not url or not url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
            continue
        parts = urlsplit(url)
        if parts.path.startswith(prefix) and parts.path != request.path:
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return fallback


def finish(request, to: str, *args, go: bool = False, **kwargs):
    """After a successful write (a modal's, or a button's on a list).

    htmx: 204 with the `written` event; app.js closes the modal and refreshes the page in place, so the
    list keeps its search, filters and page. With `go`, the whole page moves to `to` (a new campaign's page),
    as it does whenever `to` is outside this workspace (the person left it).
    A page submit (a modal opened by URL): back where the person came from, else to `to`.
    """
    url = resolve_url(to, *args, **kwargs)
    prefix = _workspace_prefix(request)
    go = go or prefix is None or not url.startswith(prefix)
    if request.htmx and not go:
        return trigger_client_event(HttpResponse(status=204), "written")
    if not go:
        url = back_to(request, url)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def render_form(request, template: str, context: dict, *, form=None, failed: bool = False, partial="modal"):
    """A page for browsers (a modal opened by URL), its `#partial` for htmx; 422 when the form has errors
    (or the write `failed`) so nothing looks saved. `back_url` is where Close and Cancel go on the page."""
    home = resolve_url(SECTION_PAGES.get(context.get("section"), "workspace"), request.workspace.slug)
    context = {**context, "back_url": back_to(request, home)}
    name = f"{template}#{partial}" if request.htmx else template
    failed = failed or bool(form is not None and form.errors)
    return render(request, name, context, status=422 if failed else 200)
