"""Reads of the do-not-call list: its page (search by digits, newest first) and its CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef

from campaigns.call_log import _Echo, csv_cell
from campaigns.models import Campaign, CampaignCall, DoNotCall, StopToken
from phone_numbers.filters import NumberFilters
from phone_numbers.selectors import digits_match

PER_PAGE = 50


def dnc_entries(filters: NumberFilters):
    """The workspace's entries the search matches, newest first (digits in any format, national ones too,
    as the Numbers page reads them)."""
    entries = DoNotCall.objects.select_related("added_by").order_by("-added_at", "-id")
    if filters.refused:
        return entries.none()
    if filters.digits:
        entries = entries.filter(digits_match(filters))
    return entries


def dnc_page(filters: NumberFilters, page):
    return Paginator(dnc_entries(filters), PER_PAGE).get_page(page)


def dnc_csv(workspace_id: int) -> Iterator[str]:
    """Every entry as CSV lines, read in chunks: streamed, never held whole. By id, not the scoped manager:
    the response streams after the request's scope has ended."""
    writer = csv.writer(_Echo())
    yield writer.writerow(["phone", "added_at", "added_by", "source", "note"])
    sources = dict(DoNotCall.Source.choices)
    rows = (
        DoNotCall.unscoped.filter(workspace_id=workspace_id)
        .order_by("-added_at", "-id")
        .values_list("e164", "added_at", "added_by_label", "source", "note")
    )
    for e164, added_at, by, source, note in rows.iterator(chunk_size=5000):
        yield writer.writerow(
            [
                csv_cell(v)
                for v in (e164, added_at.isoformat(timespec="seconds"), by, sources.get(source, source), note)
            ]
        )


def dnc_listed_among(campaign: Campaign) -> int:
    """The campaign's calls still waiting whose destination is on the list: what its dispatch will suppress."""
    entry = DoNotCall.unscoped.filter(workspace_id=campaign.workspace_id, e164=OuterRef("to_e164"))
    return (
        CampaignCall.unscoped.filter(campaign_id=campaign.pk, state=CampaignCall.State.PENDING)
        .filter(Exists(entry))
        .count()
    )


def dnc_listed(numbers) -> int:
    """How many of these E.164 numbers are on the workspace's list (the New campaign form's count)."""
    from itertools import batched

    return sum(DoNotCall.objects.filter(e164__in=chunk).count() for chunk in batched(numbers, 5000))


def stop_token() -> StopToken | None:
    return StopToken.objects.first()
