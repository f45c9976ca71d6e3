from functools import lru_cache

import phonenumbers
from django import template

register = template.Library()


@register.filter
@lru_cache(
    maxsize=65536
)  # parsing costs ~60 µs a number; a 50-row page shows the same numbers again and again
def phone(e164: str) -> str:
    """+14155550142 -> +1 415-555-0142, the way people read numbers."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


@register.filter
def without_tag(filters, tag: str) -> str:
    return filters.without_tag(tag)


@register.filter
def with_page(filters, page: int) -> str:
    return filters.query_string(page=page)


@register.filter
def url_under(number, list_url: str) -> str:
    """The number's own URL (list/<id>/), built once per row instead of a reverse() per link."""
    return f"{list_url}{number.pk}/"
