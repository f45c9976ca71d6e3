"""How audit events read on the Activity page and a number's history: words, not codes.

Every change reads "before → after" in the units the page took it in (minutes, hours), by name, never
by an internal id. Events recorded before changes were kept under `changed` still read the same way.
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html

from tenants.display import phones_in
from tenants.models import AuditEvent, Environment
from tenants.roles import Role

register = template.Library()

# What an event's target links to, by target type: the page an operator would open next.
TARGET_PAGES = {"phonenumber": "numbers:detail", "campaign": "campaigns:detail"}

LABELS = {
    "connection": "Account",
    "account": "Provider account",
    "label": "Name",
    "sip_destination": "SIP destination",
    "sip_main": "Main SIP address",
    "sip_fallback": "Fallback SIP address",
    "e164": "Number",
    "code": "Provider code",
    "webhook": "Calls go to",
    "found": "Calls went to",
    "credentials_changed": "New credentials",  # before 2026-12
    "enabled": "Limit call frequency",
    "gap_seconds": "Wait between calls",
    "windows": "At most",  # recorded in words: "3 calls per 15 minutes, 5 per hour"
    "daily_cap": "Per day",
    "jitter": "Random extra wait",  # recorded in words, like the windows
    "warm-up": "Warm-up",
    "follows": "Its numbers follow",  # a tag's own pacing
}
# PostgreSQL keeps JSON keys in its own order: details read in this one (others after, as stored).
ORDER = {
    key: i
    for i, key in enumerate(
        ["e164", "destination", "user", "role", "connection", "account", "environment", "agent", "variant",
         "variants", "tags", "destinations", "duplicates_skipped", "name", "label", "sip_destination",
         "description", "sip_main", "sip_fallback", "follows", "enabled", "gap_seconds", "windows", "cap", "window_seconds", "daily_cap",
         "jitter", "warm-up"]
    )
}  # fmt: skip
HIDDEN = {"provider_ref"}  # the provider's id of the number: shown on its page, noise in a list
# Events that put their [before, after] pairs beside the rest (all did before changes were kept under `changed`).
LEGACY_CHANGES = {
    "number.updated": {"environment", "agent", "variant", "tags"},
    "pacing.updated": {"enabled", "gap_seconds", "cap", "window_seconds"},
    "variant.updated": {"name"},
    "member.role_changed": {"role"},
}
# The unit each duration was typed in on the pacing page.
DURATION_UNITS = {"gap_seconds": "min", "window_seconds": "h"}
CAP = {"cap", "window_seconds"}
NOTHING = {"gap_seconds": "no wait", "cap": "no cap", "window_seconds": "no cap"}


@register.filter
def action_label(action: str) -> str:
    """ "number.buy_started" -> "Number buy started", "variant.published" -> "Variant published"."""
    area, _, verb = action.partition(".")
    return f"{area.replace('_', ' ').capitalize()} {verb.replace('_', ' ')}".strip()


@register.simple_tag
def event_when(event: AuditEvent) -> str:
    """ "2 Dec 2026, 14:05 UTC": the year and the time zone, whatever the age of the event."""
    at = timezone.localtime(event.created_at)
    return format_html(
        '<time datetime="{}">{}</time>',
        at.isoformat(timespec="seconds"),
        dateformat.format(at, "j M Y, H:i T"),
    )


@register.simple_tag
def event_target(event: AuditEvent, workspace_slug: str) -> str:
    """The target by the name it had then (numbers formatted), linked to its page when it has one."""
    label = phones_in(event.target_label) or "—"
    if event.target_type == "membership":
        # Its label held the workspace's internal id ("dana in 1 as viewer"); the member's name reads better.
        label = event.details.get("user") or label
    name = TARGET_PAGES.get(event.target_type)
    if not name or not event.target_id.isdigit():
        return label
    return format_html(
        '<a href="{}">{}</a>', reverse(name, args=[workspace_slug, int(event.target_id)]), label
    )


@register.filter
def event_details(event: AuditEvent) -> list[tuple[str, str]]:
    """The event's details as (label, text): facts first, then each change as "before → after"."""
    details = dict(event.details) if isinstance(event.details, dict) else {}
    if event.target_type == "membership":
        details.pop("user", None)  # the target already names the member
    changed = details.pop("changed", None)
    changed = dict(changed) if isinstance(changed, dict) else {}
    for key in LEGACY_CHANGES.get(event.action, ()):
        if _is_pair(details.get(key)):
            changed[key] = details.pop(key)
    facts = [
        (_label(key), _text(key, value))
        for key, value in _ordered(details)
        if key not in HIDDEN and value not in (None, "")
    ]
    return facts + _changes(changed)


def _ordered(details: dict) -> list[tuple]:
    return sorted(details.items(), key=lambda item: ORDER.get(item[0], len(ORDER)))


def _is_pair(value) -> bool:
    return isinstance(value, list) and len(value) == 2


def _changes(changed: dict) -> list[tuple[str, str]]:
    pairs = {key: value for key, value in _ordered(changed) if _is_pair(value) and value[0] != value[1]}
    items = []
    for key, (before, after) in pairs.items():
        if key == "tags":
            items.append(("Tags", _tags_change(before, after)))
        elif key in CAP:
            if key == "cap" or "cap" not in pairs:  # the cap and its window read as one
                items.append(_cap_change(changed))
        else:
            items.append((_label(key), f"{_text(key, before)} → {_text(key, after)}"))
    return items


def _tags_change(before, after) -> str:
    """ "+texas −sales": what was added and removed."""
    old, new = _tag_set(before), _tag_set(after)
    return " ".join([*(f"+{t}" for t in sorted(new - old)), *(f"−{t}" for t in sorted(old - new))])


def _tag_set(tags) -> set[str]:
    if isinstance(tags, list):
        return set(tags)
    return {t for t in str(tags or "").split(", ") if t}  # recorded as "a, b" before 2026-12


def _cap_change(changed: dict) -> tuple[str, str]:
    """ "At most 100 calls every 24 h → 50 every 12 h"; an old event may hold only the half that changed."""
    cap, window = changed.get("cap"), changed.get("window_seconds")
    if not _is_pair(window):
        return "At most", f"{_text('cap', cap[0])} → {_text('cap', cap[1])} calls"
    if not _is_pair(cap):
        return "Cap window", f"{_text('window_seconds', window[0])} → {_text('window_seconds', window[1])}"
    sides = [
        f"{c} every {_text('window_seconds', w)}" if c else "no cap" for c, w in zip(cap, window, strict=True)
    ]
    first = 0 if cap[0] else 1  # "calls" once, after the first count
    sides[first] = sides[first].replace(" every", " calls every", 1)
    return "At most", " → ".join(sides)


def _label(key: str) -> str:
    return LABELS.get(key) or key.replace("_", " ").capitalize()


def _text(key: str, value) -> str:
    if isinstance(value, bool):
        return ("on" if value else "off") if key == "enabled" else ("yes" if value else "no")
    if value in (None, "", []) or (key in NOTHING and value == 0):
        return NOTHING.get(key, "none")
    if isinstance(value, list | tuple):
        return ", ".join(_text(key, v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')}: {_text(k, v)}" for k, v in value.items())
    if key in DURATION_UNITS and isinstance(value, int):
        return _duration(value, DURATION_UNITS[key])
    if isinstance(value, int):
        return f"{value:,}"
    if key == "environment" and value in Environment.Kind.values:
        return Environment.Kind(value).label
    if key == "role" and value in Role.values:
        return Role(value).label
    return phones_in(str(value))  # numbers, in a field of their own or inside an error, read formatted


def _duration(seconds: int, unit: str) -> str:
    """In `unit` when it divides evenly ("2 min", "24 h"), else the next smaller unit that does."""
    units = (("h", 3600), ("min", 60), ("s", 1))
    start = [name for name, _ in units].index(unit)
    name, size = next((n, s) for n, s in units[start:] if seconds % s == 0)
    return f"{seconds // size} {name}"
