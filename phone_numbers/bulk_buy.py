"""Bulk buy: "N numbers in these area codes", quoted first, bought as a bulk job (phone_numbers/bulk.py).

The quote is a BulkJob of kind buy waiting in `preview`: its items are the numbers chosen and the price
each was offered at, so confirming buys exactly what was quoted. Confirm asks the provider again before
anything is spent: a number gone or a price moved refuses the whole quote and makes a fresh one.
Each number is bought by number_buy under a key made of the job and the number, so a run after a crash
(kill -9 anywhere) finds the purchase it already recorded instead of buying again; a purchase whose
answer the crash lost is settled from the provider's records (reconcile.py), never by buying again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from phone_numbers.bulk import BulkRefused, bulk_job_enqueue
from phone_numbers.models import BulkJob, BulkJobItem, NumberOperation
from phone_numbers.reconcile import GRACE, reconcile_operation
from phone_numbers.selectors import offers_not_held, offers_priced
from phone_numbers.services import NumberRefused, check_assignment, number_buy
from providers.adapters.base import AvailableNumber, ProviderError, ProviderUnavailable
from providers.adapters.compliance import Bundle
from providers.models import ProviderConnection
from providers.selectors import connection_for_workspace, managed_usage
from providers.services import connection_adapter
from tenants.audit import audit, via
from tenants.display import phone
from tenants.models import Environment
from tenants.scope import current_workspace

MAX_QUANTITY = 100  # one provider search per area code gives at most 100 numbers
MAX_AREA_CODES = 10
CALLING_CODES = {"US": "1", "GB": "44"}
# The digits after the country code that start a number there: a US area code, a UK one without its 0.
AREA_CODE = {"US": re.compile(r"[2-9][0-9]{2}"), "GB": re.compile(r"[1-9][0-9]{0,4}")}
AREA_CODE_EXAMPLE = {"US": "3 digits, e.g. 415", "GB": "the digits after 0, e.g. 20 for London or 161"}
Kind, State, Op = BulkJob.Kind, BulkJob.State, NumberOperation.State


class QuoteChanged(BulkRefused):
    """Confirm found the provider's answer changed since the quote; `fresh` is the new quote, if any."""

    def __init__(self, message: str, *, fresh: BulkJob | None):
        super().__init__(message)
        self.fresh = fresh


@dataclass(frozen=True)
class BuyRequest:
    """What a person asked for: `quantity` numbers of `kind` in `country`, spread over `area_codes`."""

    connection: ProviderConnection
    environment: Environment
    country: str
    kind: str
    area_codes: tuple[str, ...]
    quantity: int
    agent: object = None
    variant: object = None
    tag_names: tuple[str, ...] = ()
    bundle: Bundle | None = None

    def params(self) -> dict:
        return {
            "connection": self.connection.pk, "provider": self.connection.get_provider_display(),
            "environment": self.environment.pk, "country": self.country,
            "kind": self.kind, "area_codes": list(self.area_codes), "quantity": self.quantity,
            "agent": self.agent.pk if self.agent else None, "variant": self.variant.pk if self.variant else None,
            "tags": list(self.tag_names),
            "bundle": {"id": self.bundle.id, "label": self.bundle.label, "kind": self.bundle.kind}
            if self.bundle else None,
        }  # fmt: skip

    @classmethod
    def from_params(cls, params: dict) -> BuyRequest:
        """The request a quote was made for, as its parts are now; refused when one of them is gone."""
        from agents.models import Agent, Variant

        connection = connection_for_workspace(current_workspace(), params["connection"])
        environment = Environment.objects.filter(pk=params["environment"]).first()
        agent = Agent.objects.filter(pk=params["agent"]).first() if params["agent"] else None
        variant = Variant.objects.filter(pk=params["variant"]).first() if params["variant"] else None
        if connection is None:
            raise BulkRefused("The account connection of this quote was removed. Make a new quote.")
        if (
            environment is None
            or (params["agent"] and agent is None)
            or (params["variant"] and variant is None)
        ):
            raise BulkRefused("The agent or variant of this quote was deleted. Make a new quote.")
        bundle = Bundle(**params["bundle"]) if params.get("bundle") else None
        return cls(
            connection=connection, environment=environment, country=params["country"], kind=params["kind"],
            area_codes=tuple(params["area_codes"]), quantity=params["quantity"], agent=agent,
            variant=variant, tag_names=tuple(params["tags"]), bundle=bundle,
        )  # fmt: skip


def area_codes_parse(text: str, *, country: str) -> tuple[str, ...]:
    """ "415, 212" or "020 0161" -> the area codes, each once; ValidationError names the first wrong one."""
    codes = []
    for raw in re.split(r"[\s,;]+", text.strip()):
        if not raw:
            continue
        code = raw.strip("()")
        if country == "GB" and code.startswith("0"):
            code = code[1:]  # "020", as people write it in the UK
        if not (code.isascii() and AREA_CODE[country].fullmatch(code)):
            shown = raw[:12] + ("…" if len(raw) > 12 else "")
            raise ValidationError(f"“{shown}” is not an area code: use {AREA_CODE_EXAMPLE[country]}.")
        if code not in codes:
            codes.append(code)
    if not codes:
        raise ValidationError("Enter at least one area code, e.g. 415.")
    if len(codes) > MAX_AREA_CODES:
        raise ValidationError(f"Enter at most {MAX_AREA_CODES} area codes.")
    return tuple(codes)


# ---- Quote --------------------------------------------------------------------------------------


def plan_room(connection: ProviderConnection) -> int | None:
    """How many more numbers the plan lets the workspace hold on this connection; None: no Dialtone limit."""
    if not connection.is_managed:
        return None
    usage = managed_usage(current_workspace())
    return max(0, usage.limit - usage.used)


def refuse_over_room(connection: ProviderConnection, quantity: int) -> None:
    room = plan_room(connection)
    if room is not None and quantity > room:
        usage = managed_usage(current_workspace())
        raise BulkRefused(
            f"Your {usage.plan} plan has room for {room} more managed number{'s' if room != 1 else ''} "
            f"({usage}): ask for {room} at most, release some, or connect your own provider account."
        )


def bulk_buy_quote(*, request: BuyRequest, actor) -> BulkJob:
    """Search each area code, pick up to `quantity` numbers spread over them, and record the quote.
    Nothing is bought. BulkRefused says why no quote can be made."""
    check_assignment(environment=request.environment, agent=request.agent, variant=request.variant)
    refuse_over_room(request.connection, request.quantity)
    found = _offers(request, limit=min(MAX_QUANTITY, request.quantity))
    picked = _spread(found, request.quantity)
    if not picked:
        codes = ", ".join(request.area_codes)
        raise BulkRefused(
            f"No numbers are available in area code{'s' if len(found) > 1 else ''} {codes} now. Try others."
        )
    workspace = current_workspace()
    with transaction.atomic():
        job = BulkJob.objects.create(
            kind=Kind.BUY, actor=actor, state=State.PREVIEW, total=len(picked),
            params=request.params() | {"found": {code: len(offers) for code, offers in found.items()},
                                       "quote_hash": _hash(request, [n for _, n in picked])},
        )  # fmt: skip
        BulkJobItem.objects.bulk_create(
            BulkJobItem(workspace=workspace, job=job, e164=offer.e164, payload=_payload(code, offer))
            for code, offer in picked
        )
    return job


def _payload(code: str, offer: AvailableNumber) -> dict:
    price = None if offer.monthly_price is None else str(offer.monthly_price)
    place = ", ".join(p for p in (offer.locality, offer.region) if p)
    return {"area_code": code, "price": price, "currency": offer.currency, "place": place}


def _offers(request: BuyRequest, *, limit: int) -> dict[str, list[AvailableNumber]]:
    """Per area code, the numbers the provider offers there that nobody holds in Dialtone, priced."""
    adapter = connection_adapter(request.connection)
    found = {}
    try:
        for code in request.area_codes:
            offers = offers_not_held(_search(adapter, request, code, limit=limit))
            found[code] = offers_priced(
                offers, request.connection, country=request.country, kind=request.kind, fresh=False
            )
    except ProviderError as exc:
        raise BulkRefused(exc.message) from exc
    except ProviderUnavailable as exc:
        raise BulkRefused(f"{exc} Try again in a moment.") from exc
    return found


def _search(adapter, request: BuyRequest, code: str, *, limit: int, contains: str | None = None):
    """A search of one area code: the US's by area code, the UK's by the digits after +44."""
    prefix = f"+{CALLING_CODES[request.country]}{code}"
    us = request.country == "US"
    offers = adapter.search_available(
        country=request.country, kind=request.kind, area_code=code if us else None,
        contains=contains or (None if us else prefix[1:]), limit=limit,
    )  # fmt: skip
    return [n for n in offers if n.e164.startswith(prefix)]  # "contains" may match mid-number


def _spread(found: dict[str, list[AvailableNumber]], quantity: int) -> list[tuple[str, AvailableNumber]]:
    """Up to `quantity` numbers, one area code after the other in turn, so each gets its share."""
    queues = {code: list(offers) for code, offers in found.items()}
    picked, seen = [], set()
    while len(picked) < quantity and any(queues.values()):
        for code, queue in queues.items():
            while queue and len(picked) < quantity:
                offer = queue.pop(0)
                if offer.e164 not in seen:
                    seen.add(offer.e164)
                    picked.append((code, offer))
                    break
    return picked


def _hash(request: BuyRequest, offers: list[AvailableNumber]) -> str:
    """What the quote promises (which numbers, at what price, bought how): the confirm button carries it."""
    text = json.dumps(
        [request.params(), sorted((n.e164, str(n.monthly_price), n.currency) for n in offers)], sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class QuoteSummary:
    """What the quote page shows besides the numbers: per area code, the total, the plan after."""

    area_codes: list[tuple[str, int, int]]  # code, offered there, picked there
    asked: int
    picked: int
    total: Decimal | None  # None when a price is unknown
    currency: str | None
    plan: tuple[int, int, int] | None  # a managed account's quote: used now, after purchase, limit
    managed: bool = False

    @property
    def short(self) -> int:
        return self.asked - self.picked

    @property
    def total_text(self) -> str:
        return _money(self.total, self.currency) if self.total is not None else "Not known for every number"


def quote_summary(job: BulkJob) -> QuoteSummary:
    payloads = [i.payload for i in job.items.all()]
    by_code = Counter(p["area_code"] for p in payloads)
    currencies = {p["currency"] for p in payloads}
    priced = all(p["price"] is not None for p in payloads) and len(currencies) == 1
    total = sum((Decimal(p["price"]) for p in payloads), Decimal(0)) if priced else None
    plan = None
    connection = ProviderConnection.unscoped.filter(pk=job.params["connection"]).first()
    managed = connection is not None and connection.is_managed
    if managed and job.state == State.PREVIEW:  # once bought, they are counted in `used` already
        usage = managed_usage(current_workspace())
        plan = (usage.used, usage.used + len(payloads), usage.limit)
    return QuoteSummary(
        area_codes=[(code, job.params["found"].get(code, 0), by_code[code]) for code in job.params["area_codes"]],
        asked=job.params["quantity"], picked=len(payloads), total=total,
        currency=currencies.pop() if priced else None, plan=plan, managed=managed,
    )  # fmt: skip


# ---- Confirm ------------------------------------------------------------------------------------


def bulk_buy_confirm(*, job: BulkJob, actor, quote_hash: str, key: str = "") -> BulkJob:
    """Start buying what the quote says, once the provider confirms every number is still offered at its
    quoted price and the plan has room. A double submit starts one job; a change refuses (QuoteChanged).
    `key`: the API's Idempotency-Key, kept on the job."""
    if job.state != State.PREVIEW:
        return _settled_confirm(job)
    if quote_hash != job.params["quote_hash"]:
        raise BulkRefused("This page is out of date: reload it to see the quote before you confirm.")
    request = BuyRequest.from_params(job.params)
    refuse_over_room(request.connection, job.total)
    changes = _changes_since_quote(job, request)  # provider calls: outside any transaction
    if changes:
        return _supersede(job, request, actor, changes)
    with transaction.atomic():
        locked = BulkJob.objects.select_for_update().get(pk=job.pk)
        if locked.state != State.PREVIEW:
            return _settled_confirm(locked)
        locked.state, locked.actor = State.QUEUED, actor
        if key:  # the API's Idempotency-Key: used again for another quote, it is refused
            locked.params = locked.params | {"confirm_key": key}
        if via():  # its run's audit events name the API key, as the confirming request's do
            locked.params = locked.params | {"via": via()}
        locked.save(update_fields=["state", "actor", "params"])
        audit(
            actor=actor, action="numbers.bulk_started", target=locked, kind=locked.kind, total=locked.total,
            area_codes=request.area_codes, connection=request.connection.label,
        )  # fmt: skip
        transaction.on_commit(lambda: bulk_job_enqueue(locked.pk))
    return locked


def _settled_confirm(job: BulkJob) -> BulkJob:
    """A second confirm: the first one started the job, or found the quote changed."""
    if job.state == State.FAILED:
        fresh = BulkJob.objects.filter(pk=job.params.get("superseded_by") or 0).first()
        raise QuoteChanged(job.error, fresh=fresh)
    return job


def _changes_since_quote(job: BulkJob, request: BuyRequest) -> list[str]:
    """What the provider says differently now: numbers no longer offered, prices that moved."""
    items = list(job.items.order_by("id"))
    adapter = connection_adapter(request.connection)
    try:
        offered = {}
        for code in request.area_codes:
            offered |= {n.e164: n for n in _search(adapter, request, code, limit=MAX_QUANTITY)}
        for item in items:
            # A listing is a sample at real providers: a number missing from it is asked for by its digits.
            if item.e164 not in offered:
                code = item.payload["area_code"]
                alone = _search(adapter, request, code, limit=5, contains=item.e164.lstrip("+"))
                offered |= {n.e164: n for n in alone if n.e164 == item.e164}
        now = offers_priced(
            offers_not_held(list(offered.values())), request.connection,
            country=request.country, kind=request.kind, fresh=True,
        )  # fmt: skip
    except (ProviderError, ProviderUnavailable) as exc:
        provider = request.connection.get_provider_display()
        raise BulkRefused(
            f"{provider} could not be asked whether the quote still holds ({exc.message.removesuffix('.')}). "
            "Nothing was bought: confirm again in a moment."
        ) from exc
    now = {n.e164: n for n in now}
    changes = []
    for item in items:
        offer = now.get(item.e164)
        if offer is None:
            changes.append(f"{phone(item.e164)} is no longer available")
        elif _price(offer) != (item.payload["price"], item.payload["currency"]):
            changes.append(
                f"{phone(item.e164)} now costs {_money(*_price(offer))} (quoted {_money(item.payload['price'], item.payload['currency'])})"
            )
    return changes


def _price(offer: AvailableNumber) -> tuple[str | None, str | None]:
    return (None if offer.monthly_price is None else str(offer.monthly_price), offer.currency)


def _money(amount: str | None, currency: str | None) -> str:
    from phone_numbers.templatetags.phone import monthly_text

    return monthly_text(amount, currency) or "no price"


def _supersede(job: BulkJob, request: BuyRequest, actor, changes: list[str]) -> BulkJob:
    """Close the changed quote (nothing bought) and make a fresh one of the same request."""
    shown = "; ".join(changes[:3]) + (f"; and {len(changes) - 3} more" if len(changes) > 3 else "")
    message = f"Prices or availability changed since the quote, so nothing was bought: {shown}."
    closed = BulkJob.objects.filter(pk=job.pk, state=State.PREVIEW).update(
        state=State.FAILED, error=message[:300], finished_at=timezone.now()
    )
    if not closed:  # a second confirm got here first
        job.refresh_from_db()
        return _settled_confirm(job)
    try:
        fresh = bulk_buy_quote(request=request, actor=actor)
    except BulkRefused as exc:
        raise QuoteChanged(f"{message} {exc}", fresh=None) from exc
    BulkJob.objects.filter(pk=job.pk).update(params=job.params | {"superseded_by": fresh.pk})
    raise QuoteChanged(message, fresh=fresh)


# ---- Run: one number ----------------------------------------------------------------------------


def buy_key(job: BulkJob, e164: str) -> str:
    """The number's purchase key within the job: a re-run after a crash finds the purchase recorded."""
    return f"bulk-{job.pk}-{e164}"


def bulk_buy_item(*, job: BulkJob, item: BulkJobItem) -> str:
    """Buy one quoted number (once, whatever runs came before); the result's sentence."""
    request = BuyRequest.from_params(job.params)
    operation = number_buy(
        workspace=job.workspace, actor=job.actor, idempotency_key=buy_key(job, item.e164),
        connection=request.connection, environment=request.environment, e164=item.e164,
        agent=request.agent, variant=request.variant, tag_names=request.tag_names, bundle=request.bundle,
    )  # fmt: skip
    lost = operation.state in (Op.STARTED, Op.UNKNOWN)
    if lost and operation.created_at < timezone.now() - GRACE:
        # A run that died mid-purchase (its lease lapsed since): settle it from the provider's records.
        with suppress(ProviderError, ProviderUnavailable):  # still unknown: reconciliation goes on asking
            reconcile_operation(operation)
        operation.refresh_from_db()
    if operation.number_id:
        BulkJobItem.objects.filter(pk=item.pk).update(number=operation.number_id)
    provider = request.connection.get_provider_display()
    if operation.state == Op.SUCCEEDED:
        return f"Bought at {provider}."
    if operation.state == Op.PENDING:
        return f"Ordered at {provider}; it shows as ordering until {provider} confirms."
    if operation.state == Op.FAILED:
        raise NumberRefused(operation.error or "Not bought.")
    return (
        f"{provider} did not answer in time: Dialtone is checking whether it was bought. "
        "It shows as ordering until then; nothing is bought twice."
    )
