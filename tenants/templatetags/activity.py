"""How audit events read on the Activity page and a number's history: words, not codes."""

from __future__ import annotations

from django import template
from django.urls import reverse

from tenants.models import AuditEvent, Environment

register = template.Library()

# What an event's target links to, by target type: the page an operator would open next.
TARGET_PAGES = {"phonenumber": "numbers:detail", "campaign": "campaigns:detail"}


@register.filter
def action_label(action: str) -> str:
    """ "number.buy_started" -> "Number buy started", "variant.published" -> "Variant published"."""
    area, _, verb = action.partition(".")
    return f"{area.replace('_', ' ').capitalize()} {verb.replace('_', ' ')}".strip()


@register.filter
def detail_items(details) -> list[tuple[str, str]]:
    """The event's details as (label, text): lists joined, environments by name, booleans as yes/no."""
    if not isinstance(details, dict):
        return []
    return [(key.replace("_", " "), _text(key, value)) for key, value in details.items()]


@register.simple_tag
def target_url(event: AuditEvent, workspace_slug: str) -> str:
    name = TARGET_PAGES.get(event.target_type)
    if not name or not event.target_id.isdigit():
        return ""
    return reverse(name, args=[workspace_slug, int(event.target_id)])


def _text(key: str, value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_text(key, v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')}: {_text(k, v)}" for k, v in value.items())
    if key == "environment" and value in Environment.Kind.values:
        return Environment.Kind(value).label
    return str(value)
