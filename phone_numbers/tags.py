"""Tag names: what a person may type, and the one place that turns typed names into Tag rows.

A tag is lower-case letters a-z, digits, hyphens and underscores, starting with a letter or a digit, at
most Tag.MAX_LENGTH characters. What people type is brought there where the meaning is plain: trimmed,
lower-cased, spaces turned into hyphens ("Sales US" is sales-us), full-width forms folded (NFKC). Anything
else is refused with a message naming the tag, never silently rewritten. static/js/app.js applies the
same rules as a person types; PostgreSQL checks them too (migration 0008).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

from phone_numbers.models import Tag
from tenants.scope import current_workspace

CHARSET = "lower-case letters a–z, digits, hyphens (-) and underscores (_)"
_ALLOWED = re.compile(r"[a-z0-9_-]")
TAG_NAME = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{Tag.MAX_LENGTH - 1}}}")  # a whole clean name

# Control, format (zero-width, bidi overrides), surrogate, private-use and unassigned characters.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def tag_name_normalize(raw: str) -> str:
    """What a typed name means as a tag (not yet checked): folded, trimmed, lower-case, spaces as hyphens."""
    return "-".join(unicodedata.normalize("NFKC", raw).lower().split())


def clean_tag_name(raw: str) -> str:
    """The tag a person meant by `raw`; refuses empty, too long, and characters outside CHARSET."""
    name = tag_name_normalize(raw)
    if not name:
        raise ValidationError("A tag can't be empty.")
    if any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in name):
        raise ValidationError(f"“{name[:40]}” contains invisible or control characters; type the tag again.")
    if len(name) > Tag.MAX_LENGTH:
        raise ValidationError(f"“{name[:40]}…” is too long: tags have at most {Tag.MAX_LENGTH} characters.")
    bad = "".join(dict.fromkeys(ch for ch in name if not _ALLOWED.fullmatch(ch)))
    if bad:
        raise ValidationError(f"“{name}” can't have {' '.join(bad)} in it: tags use {CHARSET}.")
    if not name[0].isalnum():
        raise ValidationError(f"“{name}” must start with a letter or a digit.")
    return name


def clean_tag_names(raw_names) -> list[str]:
    """Unique, cleaned, at most MAX_PER_NUMBER. Raises one error listing every problem."""
    names: dict[str, None] = {}
    errors = []
    for raw in raw_names:
        if not raw.strip():
            continue
        try:
            names[clean_tag_name(raw)] = None
        except ValidationError as exc:
            errors.extend(exc.messages)
    if len(names) > Tag.MAX_PER_NUMBER:
        errors.append(f"A number can carry at most {Tag.MAX_PER_NUMBER} tags ({len(names)} given).")
    if errors:
        raise ValidationError(errors)
    return list(names)


def tags_get_or_create(names: list[str]) -> list[Tag]:
    """Tags of these clean names, creating the missing ones. Safe under concurrent creates."""
    from phone_numbers.selectors import tags_named

    existing = {t.name: t for t in tags_named(names)}
    missing = [n for n in names if n not in existing]
    if missing:
        workspace = current_workspace()  # bulk_create skips save(), which would fill it in
        Tag.objects.bulk_create([Tag(workspace=workspace, name=n) for n in missing], ignore_conflicts=True)
        existing |= {t.name: t for t in tags_named(missing)}
    return [existing[n] for n in names]
