"""How values read to people, shared by every app's messages, pages and audit events."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from django.utils import timezone
from django.utils.dateformat import format as date_format

# An E.164 number inside a sentence (a provider's error, an old audit label).
E164_IN_TEXT = re.compile(r"\+[1-9]\d{6,14}\b")


# Parsing costs ~60 µs a number, and a 50-row page shows the same numbers again and again.
@lru_cache(maxsize=65536)
def phone(e164: str) -> str:
    """+14155550142 -> +1 415-555-0142, the way people read numbers (also the `phone` template filter)."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def day(when) -> str:
    """ "Dec 10, 2026": a date the way pages and messages name it (the site's time zone)."""
    return date_format(timezone.localtime(when), "M j, Y")


def phones_in(text: str) -> str:
    """Every E.164 number in `text` written the way people read it."""
    return E164_IN_TEXT.sub(lambda m: phone(m.group()), text)


def phones_listed(numbers: list[str], limit: int) -> str:
    """ "+1 415-555-0100, +1 415-555-0101 and 3 more": the first `limit` numbers of a refusal."""
    listed = ", ".join(phone(n) for n in numbers[:limit])
    return listed + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")
