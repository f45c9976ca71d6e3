"""Reads for a campaign's per-call log: a page of it filtered by state, and all of it as CSV rows.

Both read the calls in upload order (indexes: calls by campaign and row, by campaign, state and row) and
count each call's claims.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign, CampaignCall, Outcome
from campaigns.store import SETTLED_RANK

Call = CampaignCall.State
PER_PAGE = 50

# ?state= keys, in the order the filters are offered: their label and the call states each covers.
FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "waiting": ("Waiting", (Call.PENDING,)),
    "dialing": ("Dialing", (Call.RESERVED, Call.DIALING)),
    "checking": ("Checking", (Call.CHECKING,)),
    "placed": ("Placed", (Call.PLACED,)),
    "failed": ("Failed", (Call.FAILED,)),
    "review": ("Needs review", (Call.UNKNOWN,)),
    "suppressed": ("Suppressed", (Call.SUPPRESSED,)),
    "held": ("Held back", (Call.HELD,)),
}
_FIELDS = (
    "row",
    "to_e164",
    "from_e164",
    "state",
    "error",
    "not_before",
    "reserved_at",
    "dialing_at",
    "finished_at",
    "progress",
    "outcome",
    "answered",
    "duration_s",
    "hangup_cause",
)


@dataclass(frozen=True)
class CallRow:
    row: int  # line of the uploaded CSV
    to_e164: str
    from_e164: str  # the caller ID of its latest claim, "" before any
    state: str
    label: str  # the outcome in a word or two
    detail: str  # why, when there is something to say
    when: datetime | None  # its latest move: placed or failed, dialed, or claimed
    attempts: int
    outcome: str = ""  # the provider's final status (Outcome), "" before it
    answered: bool | None = None
    duration_s: int | None = None


@dataclass(frozen=True)
class Filter:
    key: str  # "" for every call
    label: str
    count: int
    current: bool


@dataclass(frozen=True)
class CallLog:
    filters: tuple[Filter, ...]
    state: str  # the filter in force, "" for every call
    page: Page
    rows: tuple[CallRow, ...]

    @property
    def current(self) -> Filter:
        return next(f for f in self.filters if f.current)

    @property
    def query(self) -> str:
        """This view of the log as a query string (the live poll keeps it)."""
        return self._query(self.page.number)

    @property
    def previous_query(self) -> str:
        return self._query(self.page.previous_page_number()) if self.page.has_previous() else ""

    @property
    def next_query(self) -> str:
        return self._query(self.page.next_page_number()) if self.page.has_next() else ""

    def _query(self, number: int) -> str:
        return urlencode(
            {**({"state": self.state} if self.state else {}), **({"page": number} if number > 1 else {})}
        )


def call_log(campaign: Campaign, *, counts: dict[str, int], state: str | None, page) -> CallLog:
    """One page of the log. counts: calls per state (the progress figures), for the filters' counts."""
    state = state if state in FILTERS else ""
    filters = [Filter("", "All", sum(counts.values()), not state)]
    for key, (label, states) in FILTERS.items():
        label = "Not placed" if key == "waiting" and campaign.state == Campaign.State.CANCELLED else label
        filters.append(Filter(key, label, sum(counts.get(s, 0) for s in states), key == state))
    shown = Paginator(_calls(campaign, state), PER_PAGE).get_page(page)
    calls = list(shown.object_list)
    # Counted for this page's calls only: as a subquery of the page's query, PostgreSQL would also run it
    # for every row its OFFSET skips (60 ms at page 300 of 20,000 calls).
    claims = dict(
        CallAttempt.unscoped.filter(call_id__in=[c["id"] for c in calls])
        .values_list("call_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    now = timezone.now()
    rows = tuple(_row({**c, "claims": claims.get(c["id"], 0)}, campaign, now) for c in calls)
    return CallLog(tuple(filters), state, shown, rows)


def call_log_after(campaign: Campaign, *, state: str, after_row: int, limit: int) -> tuple[CallRow, ...]:
    """Up to `limit` + 1 calls of the log after row `after_row`, in upload order: the JSON API's cursor
    pages. The (campaign, row) indexes make any depth cost the same."""
    calls = list(_calls(campaign, state if state in FILTERS else "").filter(row__gt=after_row)[: limit + 1])
    claims = dict(
        CallAttempt.unscoped.filter(call_id__in=[c["id"] for c in calls])
        .values_list("call_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    now = timezone.now()
    return tuple(_row({**c, "claims": claims.get(c["id"], 0)}, campaign, now) for c in calls)


# The provider's own words for a placed call, for a spreadsheet to count (the outcome column says it in ours).
_OUTCOME_COLUMNS = ("provider_status", "answered", "duration_s")


class _Echo:
    """csv.writer writes each row here and gets the line back, to stream it."""

    def write(self, line: str) -> str:
        return line


def call_log_csv(campaign: Campaign, *, state: str) -> Iterator[str]:
    """Every call of the log under the filter as CSV lines, read in chunks: streamed, never held whole."""
    writer = csv.writer(_Echo())
    yield writer.writerow(
        ["row", "destination", "caller_id", "outcome", "detail", "attempts", "when", *_OUTCOME_COLUMNS]
    )
    now = timezone.now()
    claims = (
        CallAttempt.unscoped.filter(call_id=OuterRef("pk"))
        .order_by()
        .values("call_id")
        .annotate(n=Count("id"))
    )
    calls = _calls(campaign, state).annotate(claims=Coalesce(Subquery(claims.values("n")), 0))
    for call in calls.iterator(chunk_size=2000):
        c = _row(call, campaign, now)
        when = c.when.isoformat() if c.when else ""
        answered = "" if c.answered is None else ("yes" if c.answered else "no")
        values = (c.row, c.to_e164, c.from_e164, c.label, c.detail, c.attempts, when)
        yield writer.writerow([csv_cell(v) for v in (*values, c.outcome, answered, c.duration_s)])


def _calls(campaign: Campaign, state: str):
    """By ids, not the scoped managers: an export streams after the request's workspace scope has ended.
    The campaign itself was read through its workspace's scope (views.access_campaign)."""
    calls = CampaignCall.unscoped.filter(workspace_id=campaign.workspace_id, campaign_id=campaign.pk)
    if state:
        calls = calls.filter(state__in=FILTERS[state][1])
    return calls.order_by("row").values("id", *_FIELDS)


def _row(call: dict, campaign: Campaign, now: datetime) -> CallRow:
    label, detail = _outcome(call, campaign, now)
    return CallRow(
        row=call["row"],
        to_e164=call["to_e164"],
        from_e164=call["from_e164"],
        state=call["state"],
        label=label,
        detail=detail,
        when=call["finished_at"] or call["dialing_at"] or call["reserved_at"],
        attempts=call["claims"],
        outcome=call["outcome"],
        answered=call["answered"],
        duration_s=call["duration_s"],
    )


_WORDS = {
    Call.DIALING: "Dialing",
    Call.PLACED: "Placed",
    Call.FAILED: "Failed",
    Call.UNKNOWN: "Needs review",
    Call.SUPPRESSED: "Suppressed",  # its error: the do-not-call entry's date and who added it
    Call.HELD: "Held back",  # its error: the attempt cap it reached ("3 attempts this campaign (cap 3)")
}


def _outcome(call: dict, campaign: Campaign, now: datetime) -> tuple[str, str]:
    state, error = call["state"], call["error"]
    if state == Call.PENDING:
        if campaign.state == Campaign.State.CANCELLED:
            return "Not placed", ""
        if call["not_before"] > now:  # paced, or backing off after the provider refused for a while
            until = timezone.localtime(call["not_before"])
            when = f"{until:%H:%M:%S}" if until.date() == timezone.localdate() else f"{until:%b %-d, %H:%M}"
            return "Waiting", f"Not before {when}. {error}".strip()
        return "Waiting", error
    if state == Call.RESERVED:
        return "Dialing", "Caller ID claimed; the dial is queued."
    if state == Call.CHECKING:
        return (
            "Checking",
            f"{error} Dialtone is asking the provider whether it went through; no second dial.".strip(),
        )
    if state == Call.PLACED:
        return _placed(call)
    return _WORDS[state], error


# How far a placed call got while its outcome is not known yet (providers.adapters.base.STATUS_RANKS).
_PROGRESS = {10: "Initiated.", 20: "Ringing.", 30: "In progress."}


def _placed(call: dict) -> tuple[str, str]:
    """A placed call as its provider reported it: "Answered, 1 min 12 s", "No answer", "Busy",
    "Failed: <cause>"; before its outcome, how far it got."""
    outcome, cause = call["outcome"], call["hangup_cause"]
    if call["progress"] < SETTLED_RANK or not outcome:
        return "Placed", _PROGRESS.get(call["progress"], "")
    if outcome == Outcome.COMPLETED:
        return f"Answered, {duration_words(call['duration_s'] or 0)}", ""
    if outcome == Outcome.FAILED:
        return f"Failed: {cause}" if cause else "Failed", ""
    if outcome == Outcome.UNKNOWN:
        return "Placed, outcome unknown", cause
    return Outcome(outcome).label, cause


def duration_words(seconds: int) -> str:
    """45 s, 1 min 12 s, 1 h 2 min."""
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if rest >= 60 else f"{hours} h"


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); a quote in front
# keeps it text. Phone numbers in E.164 are left as they are: "+14155550142" is a number, not a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def csv_cell(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _E164.fullmatch(text):
        return "'" + text
    return text
