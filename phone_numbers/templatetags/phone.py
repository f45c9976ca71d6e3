from decimal import Decimal

from django import template

from phone_numbers.rows import render_rows
from phone_numbers.tags import TAG_NAME
from tenants.display import phone

register = template.Library()


register.filter("phone", phone)


@register.simple_tag(takes_context=True)
def number_rows(context, rows, list_url: str):
    """The Numbers page's table rows (phone_numbers/rows.py says why they are rendered in Python)."""
    can = context["can"]["numbers"]
    csrf = str(context.get("csrf_token", ""))  # the Restore buttons' forms
    return render_rows(
        rows, list_url=list_url, can_manage=can["manage"], can_release=can["release"], csrf=csrf
    )


@register.filter
def without_tag(filters, tag: str) -> str:
    return filters.without_tag(tag)


@register.filter
def is_tag_name(name: str) -> bool:
    """Whether a filter's tag could be a tag (its pacing link needs a name a URL can carry)."""
    return bool(TAG_NAME.fullmatch(name))


@register.filter
def with_page(filters, page: int) -> str:
    return filters.query_string(page=page)


CURRENCY_SIGNS = {"USD": "$", "GBP": "£", "EUR": "€"}


def monthly_text(amount, currency: str | None) -> str:
    """A monthly price, "$1.15/mo"; empty when there is none. `amount`: a Decimal or its text."""
    if amount is None:
        return ""
    amount = f"{Decimal(amount):.2f}"
    sign = CURRENCY_SIGNS.get(currency or "")
    return f"{sign}{amount}/mo" if sign else f"{amount} {currency}/mo"


@register.filter
def monthly(offer) -> str:
    """An offered number's monthly price, "$1.15/mo"; empty when the provider gave none."""
    return monthly_text(offer.monthly_price, offer.currency)


@register.filter
def quoted(payload: dict) -> str:
    """A bulk buy quote's price of one number (its item's payload)."""
    return monthly_text(payload.get("price"), payload.get("currency"))


@register.filter
def capabilities(offer) -> str:
    """ "Voice, SMS", "Voice": what an offered number can do."""
    can = offer.capabilities
    return ", ".join(name for name, able in (("Voice", can.voice), ("SMS", can.sms)) if able)
