"""Tag names: what a person may type, and the one place that turns typed names into Tag rows."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

from phone_numbers.models import Tag
from tenants.scope import current_workspace

# Control, format (zero-width, bidi overrides), surrogate, private-use and unassigned characters.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_tag_name(raw: str) -> str:
    """Trimmed, inner whitespace collapsed, NFC; refuses empty, too long and invisible characters."""
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if not name:
        raise ValidationError("A tag can't be empty.")
    bad = [ch for ch in name if unicodedata.category(ch) in _INVISIBLE_CATEGORIES]
    if bad:
        raise ValidationError(f"“{name[:40]}” contains invisible or control characters; type the tag again.")
    if len(name) > Tag.MAX_LENGTH:
        raise ValidationError(f"“{name[:40]}…” is too long: tags have at most {Tag.MAX_LENGTH} characters.")
    return name


def clean_tag_names(raw_names) -> list[str]:
    """Unique (ignoring case), cleaned, at most MAX_PER_NUMBER. Raises one error listing every problem."""
    names: dict[str, str] = {}
    errors = []
    for raw in raw_names:
        if not raw.strip():
            continue
        try:
            name = clean_tag_name(raw)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        names.setdefault(name.lower(), name)
    if len(names) > Tag.MAX_PER_NUMBER:
        errors.append(f"A number can carry at most {Tag.MAX_PER_NUMBER} tags ({len(names)} given).")
    if errors:
        raise ValidationError(errors)
    return list(names.values())


def tags_get_or_create(names: list[str]) -> list[Tag]:
    """Existing tags keep their first spelling; new ones are created. Safe under concurrent creates."""
    from phone_numbers.selectors import tags_named

    existing = {t.name.lower(): t for t in tags_named(names)}
    missing = [n for n in names if n.lower() not in existing]
    if missing:
        workspace = current_workspace()  # bulk_create skips save(), which would fill it in
        Tag.objects.bulk_create([Tag(workspace=workspace, name=n) for n in missing], ignore_conflicts=True)
        existing |= {t.name.lower(): t for t in tags_named(missing)}
    return [existing[n.lower()] for n in names]
