from django import template

from phone_numbers.rows import phone, render_rows

register = template.Library()


register.filter("phone", phone)


@register.simple_tag(takes_context=True)
def number_rows(context, rows, list_url: str):
    """The Numbers page's table rows (phone_numbers/rows.py says why they are rendered in Python)."""
    can = context["can"]["numbers"]
    return render_rows(rows, list_url=list_url, can_manage=can["manage"], can_release=can["release"])


@register.filter
def without_tag(filters, tag: str) -> str:
    return filters.without_tag(tag)


@register.filter
def with_page(filters, page: int) -> str:
    return filters.query_string(page=page)
