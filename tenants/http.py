"""Small response helpers shared by every app's views."""

from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect


def finish(request, to: str, *args, **kwargs):
    """After a successful write: a full-page move (htmx would otherwise swap the next page into the modal)."""
    response = redirect(to, *args, **kwargs)
    return HttpResponseClientRedirect(response.url) if request.htmx else response


def render_form(request, template: str, context: dict, *, form, partial: str = "modal"):
    """A page for browsers, its `#partial` for htmx; 422 when the form has errors so nothing looks saved."""
    name = f"{template}#{partial}" if request.htmx else template
    return render(request, name, context, status=422 if form.errors else 200)
