"""The Numbers page's table rows, rendered in Python the way Django admin renders its changelist cells.

Fifty rows of about twenty values each took ~5 ms through the template engine and take ~2 ms here
(bench/numbers_page.py); the rest of the page stays in templates/numbers/list.html. Every value goes
through format_html, so it is escaped exactly as a template would escape it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from tenants.display import day, phone

if TYPE_CHECKING:
    from phone_numbers.selectors import NumberRow

ROW = """
          <tr id="number-{id}">{select}
            <td class="muted mono cell-id">{id}</td>
            <td class="cell-number"><span class="number">{number}</span>{state}</td>
            <td class="cell-agent">{agent}</td>
            <td class="cell-provider">{provider}{managed}</td>
            <td class="cell-connection">{connection}</td>
            <td class="tags">{tags}</td>
            <td>{health}</td>
            <td class="cell-actions">{actions}</td>
          </tr>"""

MENU = """
<details class="row-menu" data-menu>
  <summary class="icon-btn" aria-label="Actions for {e164}">
    <svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="5" r="1.2"/><circle cx="12" cy="12" r="1.2"/><circle cx="12" cy="19" r="1.2"/></svg></summary>
  <div class="menu" role="menu">
    <a role="menuitem" href="{url}edit/" hx-get="{url}edit/" hx-target="#modal-body">Edit</a>
    <a role="menuitem" href="{url}">History</a>{detach}{delete}
  </div>
</details>"""  # noqa: E501

DETACH = """
    <a role="menuitem" href="{url}detach/" hx-get="{url}detach/" hx-target="#modal-body">Detach</a>"""

DELETE = """
    <a role="menuitem" class="danger" href="{url}delete/" hx-get="{url}delete/" hx-target="#modal-body">Delete</a>"""

# A number on hold (deleted): one click restores it; the page refreshes in place after (tenants/http.py).
RESTORE = """
<form class="inline" method="post" action="{url}restore/" hx-post="{url}restore/">
  <input type="hidden" name="csrfmiddlewaretoken" value="{csrf}"><input type="hidden" name="version" value="{version}">
  <button class="btn btn-sm" type="submit">Restore<span class="visually-hidden"> {e164}</span></button></form>"""

ON_HOLD = '<span class="badge state-on-hold" title="Deleted: released at the provider on {day}">Releasing on {day}</span>'

HISTORY = (
    '<a class="icon-btn" href="{url}" aria-label="History of {e164}"><svg viewBox="0 0 24 24" aria-hidden="true">'
    '<circle cx="12" cy="12" r="8"/><path d="M12 8v4l3 2"/></svg></a>'
)


# Tied to the bulk bar's form by its id (templates/numbers/list.html), wherever the row is.
SELECT = """
            <td class="cell-select"><input type="checkbox" name="number" value="{id}" form="bulk-form" aria-label="Select {number}"></td>"""
NO_SELECT = mark_safe("""
            <td class="cell-select"></td>""")

NO_AGENT = mark_safe('<span class="muted">—</span>')
MANAGED = mark_safe(' <span class="muted">(managed)</span>')


def render_rows(
    rows: list[NumberRow], *, list_url: str, can_manage: bool, can_release: bool, csrf: str = ""
) -> SafeString:
    return mark_safe("".join(_row(n, list_url, can_manage, can_release, csrf) for n in rows))  # noqa: S308


def _row(n: NumberRow, list_url: str, can_manage: bool, can_release: bool, csrf: str) -> str:
    url = f"{list_url}{n.id}/"  # one string per row: a reverse() per link cost ~10 ms a page
    on_hold = n.state == "active" and n.release_at is not None
    if on_hold:
        restore = (
            format_html(RESTORE, url=url, csrf=csrf, version=n.version, e164=n.e164) if can_manage else ""
        )
        actions = restore + format_html(HISTORY, url=url, e164=n.e164)
    elif n.state == "active" and can_manage:
        detach = "" if n.managed else format_html(DETACH, url=url)  # managed numbers are only released
        delete = format_html(DELETE, url=url) if can_release else ""
        actions = format_html(MENU, e164=n.e164, url=url, detach=detach, delete=delete)
    else:
        actions = format_html(HISTORY, url=url, e164=n.e164)
    if not can_manage:
        select = ""
    elif n.state in ("pending", "active", "releasing"):
        select = format_html(SELECT, id=n.id, number=phone(n.e164))
    else:
        select = NO_SELECT
    return format_html(
        ROW,
        select=select,
        id=n.id,
        number=phone(n.e164),
        state=_state(n, on_hold),
        agent=_agent(n),
        provider=n.provider,
        managed=MANAGED if n.managed else "",
        connection=n.connection,
        tags=format_html_join("", '<span class="tag">{}</span>', ((t,) for t in n.tags)),
        health=_health(n, url, can_manage),
        actions=actions,
    )  # fmt: skip


HEALTH_LINK = (
    '<a class="badge health-{health}" href="{url}health/" hx-get="{url}health/" hx-target="#modal-body" '
    'title="{reason}" aria-label="{label}: {reason} (health of {e164})">{label}</a>'
)
HEALTH_BADGE = '<span class="badge health-{health}" title="{reason}">{label}</span>'


def _health(n: NumberRow, url: str, can_manage: bool) -> str:
    """A badge for a held number's health; operators open its health modal from it (flag, clear)."""
    if n.state != "active":
        return NO_AGENT
    badge = HEALTH_LINK if can_manage else HEALTH_BADGE
    return format_html(badge, health=n.health, url=url, reason=n.health_reason or n.health_label,
                       label=n.health_label, e164=n.e164)  # fmt: skip


def _state(n: NumberRow, on_hold: bool) -> str:
    if on_hold:
        return format_html(" " + ON_HOLD, day=day(n.release_at))
    if n.state == "active":
        return ""
    return format_html(' <span class="badge state-{}">{}</span>', n.state, n.state_label)


def _agent(n: NumberRow):
    if not n.agent:
        return NO_AGENT
    if not n.variant:
        return n.agent
    return format_html('{} <span class="muted">/ {}</span>', n.agent, n.variant)
