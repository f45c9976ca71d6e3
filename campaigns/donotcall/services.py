"""Writes to the do-not-call list, each audited, and the stop endpoint's token.

Adding a number also suppresses, at once, the pending calls to it in running and paused campaigns; the
dispatcher checks every due call against the list anyway (suppress.py), so a call created or given back
later is caught when it comes due. Removing a number leaves calls already suppressed as they are.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import batched

from django.db import transaction
from django.utils import dateformat, timezone

from campaigns.models import Campaign, CampaignCall, DoNotCall, StopToken
from campaigns.store import Call, State, store
from tenants.audit import audit
from tenants.display import phone

LISTED_IN_AUDIT = 100  # numbers an audit event names; it counts the rest
TOKEN_PREFIX = "dnc_"


@dataclass(frozen=True)
class Added:
    added: tuple[str, ...]
    already: tuple[str, ...]  # were on the list: left as they were
    suppressed: int  # pending calls to them suppressed at once


def who(actor) -> str:
    """How the list names the person who added a number."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "Dialtone"
    return actor.get_full_name() or actor.get_username()


def suppression_reason(added_at: datetime, added_by: str) -> str:
    """What a suppressed call says: since when its destination is listed, and who listed it."""
    return f"On the do-not-call list since {dateformat.format(timezone.localtime(added_at), 'M j, Y')}, added by {added_by}."


def dnc_add(
    *, workspace, actor, numbers: tuple[str, ...] | list[str], source: str, note: str = "", label: str = ""
) -> Added:
    """Put E.164 numbers on the workspace's list, all of them or (on an error) none. Numbers already on it
    stay as they were (adding twice is harmless, also at once: the unique constraint decides)."""
    now = timezone.now()
    label = label or who(actor)
    numbers = list(dict.fromkeys(numbers))
    with transaction.atomic():
        listed = set()
        for chunk in batched(numbers, 5000):
            listed |= set(
                DoNotCall.unscoped.filter(workspace_id=workspace.pk, e164__in=chunk).values_list(
                    "e164", flat=True
                )
            )
        new = [n for n in numbers if n not in listed]
        DoNotCall.unscoped.bulk_create(
            (
                DoNotCall(
                    workspace_id=workspace.pk, e164=e164, source=source, note=note[:200],
                    added_by=actor if getattr(actor, "is_authenticated", False) else None,
                    added_by_label=label[:150], added_at=now,
                )
                for e164 in new
            ),
            batch_size=2000,
            ignore_conflicts=True,
        )  # fmt: skip
        if new:
            audit(
                actor=actor, action="do_not_call.added", workspace=workspace, numbers=new[:LISTED_IN_AUDIT],
                count=len(new), source=DoNotCall.Source(source).label, **({"note": note} if note else {}),
                **({"by": label} if actor is None else {}),
            )  # fmt: skip
        suppressed = _suppress_pending(workspace, new, suppression_reason(now, label), now)
    return Added(tuple(new), tuple(n for n in numbers if n in listed), suppressed)


def _suppress_pending(workspace, numbers: list[str], reason: str, now: datetime) -> int:
    """The pending calls to these numbers in the workspace's running and paused campaigns: suppressed now,
    by the store's guarded move (a call a dispatch batch holds is waited for, then left if it moved on)."""
    if not numbers:
        return 0
    started = Campaign.unscoped.filter(workspace_id=workspace.pk, state__in=(State.RUNNING, State.PAUSED))
    moved: list[int] = []
    for chunk in batched(numbers, 1000):
        ids = CampaignCall.unscoped.filter(
            campaign_id__in=started.values("pk"), state=Call.PENDING, to_e164__in=chunk
        ).values_list("pk", flat=True)
        moved += store().suppress(dict.fromkeys(ids, reason), now)
    per_campaign = Counter(
        CampaignCall.unscoped.filter(pk__in=moved).values_list("campaign_id", flat=True).order_by()
    )
    for campaign in Campaign.unscoped.filter(pk__in=per_campaign):
        audit(
            actor=None, action="campaign.calls_suppressed", target=campaign, count=per_campaign[campaign.pk]
        )
    return len(moved)


def dnc_remove(*, entry: DoNotCall, actor) -> None:
    with transaction.atomic():
        entry.delete()
        audit(
            actor=actor, action="do_not_call.removed", workspace=entry.workspace, e164=entry.e164,
            added_by=entry.added_by_label, added_at=entry.added_at.isoformat(timespec="seconds"),
        )  # fmt: skip


# ---- The stop endpoint's token -------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def stop_token_create(*, workspace, actor) -> str:
    """A new token for the workspace's stop requests, replacing the one it had; returned once, kept as
    its SHA-256 only."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    with transaction.atomic():
        replaced = StopToken.unscoped.filter(workspace_id=workspace.pk).delete()[0] > 0
        StopToken.unscoped.create(
            workspace=workspace, token_hash=_digest(token), hint=token[:8],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )  # fmt: skip
        audit(
            actor=actor, action="do_not_call.stop_token_created", workspace=workspace, replaced=replaced,
            hint=token[:8] + "…",
        )  # fmt: skip
    return token


def stop_token_find(token: str) -> StopToken | None:
    """The workspace's token a stop request carries, or None. Looked up by its hash: nothing to time."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    found = StopToken.unscoped.select_related("workspace").filter(token_hash=_digest(token)).first()
    if found is not None:
        StopToken.unscoped.filter(pk=found.pk).update(last_used_at=timezone.now())
    return found


def stop_label(number: str) -> str:
    """Who added a number that said stop, in the list's words."""
    return f"the callee (said stop on a call with {phone(number)})"
