"""Numbers: buy, link, edit, route, detach, delete. Provider calls never run inside a transaction;
money-moving calls are NumberOperations whose intent is committed first (see models.NumberOperation)."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from phone_numbers import signals
from phone_numbers.models import NumberOperation, PhoneNumber
from phone_numbers.selectors import managed_numbers_to_link
from phone_numbers.tags import clean_tag_names, tags_get_or_create
from providers.adapters.base import ProviderError, ProviderUnavailable, Routing
from providers.adapters.compliance import Bundle
from providers.models import ProviderConnection
from providers.selectors import managed_usage
from providers.services import connection_adapter
from tenants.audit import audit, changes
from tenants.display import day, phone
from tenants.models import Environment, Workspace


class NumberRefused(Exception):
    """A request the product refuses, with a sentence for the person who asked; `number`, when set, is
    the number in this workspace the sentence is about (the page links to it)."""

    def __init__(self, message: str, *, number: PhoneNumber | None = None):
        super().__init__(message)
        self.number = number


class PlanLimitReached(NumberRefused):
    pass


class RoutingFailed(NumberRefused):
    """The change was saved, but the provider refused the routing (reconciliation retries it)."""


class VersionConflict(NumberRefused):
    """The number changed since the version the edit was made on (the API answers 409)."""


def normalize_e164(raw: str) -> str:
    """ "+1 (415) 555-0142" -> "+14155550142"; anything that is not a valid number is refused clearly."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Enter a phone number in international format, e.g. +14155550142.")
    if not text.startswith("+"):
        raise ValidationError("Start with + and the country code, e.g. +14155550142 or +442079460958.")
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise ValidationError(  # noqa: B904 - the parser's reason is not the person's
            f"“{text[:30]}” is not a phone number. Use international format, e.g. +14155550142."
        )
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"{text[:30]} is not a valid number for its country. Check the digits.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def webhook_url(connection: ProviderConnection) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("hooks:voice", args=[connection.provider])


def status_webhook_url(connection: ProviderConnection) -> str:
    """Where the provider posts an outbound call's progress (voice/views.py: status)."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("hooks:status", args=[connection.provider])


def refuse_if_held(workspace: Workspace, e164: str, *, hidden: NumberRefused | None = None) -> None:
    """A number is held by one workspace at most: say where it already is (here: which environment).
    Held by another workspace, `hidden` is said instead when given: on the shared managed account, which
    numbers other workspaces hold is not this workspace's to know."""
    held = (
        PhoneNumber.unscoped.filter(e164=e164, state__in=PhoneNumber.HELD_STATES)
        .select_related("environment", "workspace")
        .first()
    )
    if held is None:
        return
    if held.workspace_id != workspace.pk:
        raise hidden or NumberRefused(f"{held} is already in Dialtone, in another workspace.")
    where = str(held.environment)
    if held.state != PhoneNumber.State.ACTIVE:
        where += f", {held.get_state_display().lower()}"
    raise NumberRefused(f"{held} is already in this workspace ({where}).", number=held)


def check_plan_limit(workspace: Workspace, connection: ProviderConnection) -> None:
    """Managed numbers count against the plan; the workspace's own accounts have no Dialtone limit.
    Call it in the transaction that takes the number: the workspace row stays locked until that commits,
    so two requests (two tabs, a buy and a link) can't both take the last plan slot."""
    Workspace.objects.select_for_update().get(pk=workspace.pk)
    if not connection.is_managed:
        return
    limit = workspace.plan.managed_number_limit
    if managed_usage(workspace).full:
        raise PlanLimitReached(
            f"Your {workspace.plan.name} plan includes {limit} managed number{'s' if limit != 1 else ''}, "
            "and they are all in use. Release one, connect your own provider account, or upgrade the plan."
        )


# ---- Buy --------------------------------------------------------------------------------------


def number_buy(
    *,
    workspace: Workspace,
    actor,
    idempotency_key: str,
    connection: ProviderConnection,
    environment: Environment,
    e164: str,
    agent=None,
    variant=None,
    tag_names: list[str] = (),
    bundle: Bundle | None = None,
) -> NumberOperation:
    """Buy `e164` once, however often this is called with the same key. Returns the operation; its
    state says what happened (succeeded, pending at the provider, failed with a sentence, unknown).
    `bundle`: the account's approved bundle or address the purchase carries, where the number needs one."""
    e164 = normalize_e164(e164)
    names = clean_tag_names(tag_names)
    check_assignment(environment=environment, agent=agent, variant=variant)
    operation, created = _buy_intent(
        workspace=workspace,
        actor=actor,
        key=idempotency_key,
        connection=connection,
        environment=environment,
        e164=e164,
        agent=agent,
        variant=variant,
        names=names,
        bundle=bundle,
    )
    if not created:
        return operation  # a double submit or a retry: the first request owns the purchase
    return _buy_call(operation, bundle=bundle)


@transaction.atomic
def _buy_intent(*, workspace, actor, key, connection, environment, e164, agent, variant, names, bundle=None):
    existing = NumberOperation.objects.filter(idempotency_key=key).first()
    if existing:
        return existing, False
    check_plan_limit(workspace, connection)
    unavailable = NumberRefused(f"{phone(e164)} is not available. Pick another number.")
    refuse_if_held(workspace, e164, hidden=unavailable if connection.is_managed else None)
    number = PhoneNumber.objects.create(
        e164=e164,
        environment=environment,
        connection=connection,
        state=PhoneNumber.State.PENDING,
        inbound_agent=agent,
        inbound_variant=variant,
        added_by=actor,
    )
    number.tags.set(tags_get_or_create(names))
    operation = NumberOperation.objects.create(
        kind=NumberOperation.Kind.BUY,
        idempotency_key=key,
        number=number,
        e164=e164,
        connection=connection,
        actor=actor,
    )
    attached = {f"{bundle.kind}_id": bundle.id} if bundle else {}
    audit(
        actor=actor,
        action="number.buy_started",
        target=number,
        connection=connection.label,
        **attached,
        **_setup(number),
    )
    return operation, True


def _buy_call(operation: NumberOperation, *, bundle: Bundle | None = None) -> NumberOperation:
    adapter = connection_adapter(operation.connection)
    try:
        purchase = adapter.buy(operation.e164, reference=operation.reference, bundle=bundle)
    except ProviderError as exc:
        return buy_failed(operation, message=exc.message, code=str(exc.code or ""))
    except ProviderUnavailable as exc:
        return _mark(operation, NumberOperation.State.UNKNOWN, error=str(exc))
    return buy_settled(operation, purchase)


def buy_settled(operation: NumberOperation, purchase) -> NumberOperation:
    """Record what the provider said: active now, or an order still pending (Telnyx)."""
    if purchase.status == "pending":
        with transaction.atomic():
            operation.order_id = purchase.order_id or ""
            _mark(operation, NumberOperation.State.PENDING, save_fields=["order_id"])
        from phone_numbers.tasks import poll_number_order

        poll_number_order.apply_async(args=[operation.pk], countdown=2)
        return operation
    with transaction.atomic():
        number = PhoneNumber.objects.select_for_update().get(pk=operation.number_id)
        number.provider_ref = purchase.ref
        number.state = PhoneNumber.State.ACTIVE
        number.version += 1
        number.save(update_fields=["provider_ref", "state", "version", "updated_at"])
        _mark(operation, NumberOperation.State.SUCCEEDED)
        audit(actor=operation.actor, action="number.bought", target=number, provider_ref=purchase.ref)
    if number.inbound_agent_id:
        number_route(number=number, actor=operation.actor)
    return operation


def buy_failed(operation: NumberOperation, *, message: str, code: str = "") -> NumberOperation:
    """The provider refused: nothing was bought, so the pending row goes and the operation says why."""
    with transaction.atomic():
        number = PhoneNumber.objects.filter(pk=operation.number_id).first()
        _mark(operation, NumberOperation.State.FAILED, error=message, code=code)
        audit(
            actor=operation.actor,
            action="number.buy_failed",
            target=number or None,
            e164=operation.e164,
            error=message,
            code=code,
        )
        if number is not None:
            number.tags.clear()
            operation.number = None
            operation.save(update_fields=["number"])
            number.delete()
    return operation


def _mark(operation, state, *, error: str = "", code: str = "", save_fields=()):
    operation.state = state
    operation.error = error[:300]
    operation.error_code = code[:32]
    operation.attempts += 1
    if state in (NumberOperation.State.SUCCEEDED, NumberOperation.State.FAILED):
        operation.finished_at = timezone.now()
    operation.save(update_fields=["state", "error", "error_code", "attempts", "finished_at", *save_fields])
    return operation


# ---- Link ---------------------------------------------------------------------------------------


def number_link(
    *, workspace, actor, connection, environment, e164: str, agent=None, variant=None, tag_names=()
) -> PhoneNumber:
    """Bring a number the account already owns into Dialtone (nothing is bought). A number this
    workspace detached comes back as the same number, its history continued. From a managed account only
    such a number can come back: the platform's other numbers are no workspace's to take."""
    e164 = normalize_e164(e164)
    names = clean_tag_names(tag_names)
    check_assignment(environment=environment, agent=agent, variant=variant)
    hidden = _not_in_account(e164, connection) if connection.is_managed else None
    # Before asking the provider: "already here" is the truer answer.
    refuse_if_held(workspace, e164, hidden=hidden)
    if connection.is_managed and not managed_numbers_to_link(connection).filter(e164=e164).exists():
        raise hidden
    owned = connection_adapter(connection).find_owned(e164)
    if owned is None:
        raise _not_in_account(e164, connection)
    fields = {
        "environment": environment,
        "connection": connection,
        "provider_ref": owned.ref,
        "state": PhoneNumber.State.ACTIVE,
        "inbound_agent": agent,
        "inbound_variant": variant,
    }
    try:
        with transaction.atomic():
            check_plan_limit(workspace, connection)
            number = _relink(e164, fields)
            action = "number.relinked" if number else "number.linked"
            number = number or PhoneNumber.objects.create(e164=e164, added_by=actor, **fields)
            number.tags.set(tags_get_or_create(names))
            audit(actor=actor, action=action, target=number, connection=connection.label, **_setup(number))
    except IntegrityError:  # linked by someone else in between
        refuse_if_held(workspace, e164, hidden=hidden)
        raise
    if agent is not None:
        number_route(number=number, actor=actor)
    return number


def _not_in_account(e164: str, connection: ProviderConnection) -> NumberRefused:
    if connection.is_managed:  # true whether another workspace holds it, the platform, or nobody
        return NumberRefused(
            f"{phone(e164)} is not one of this workspace's numbers in “{connection.label}”, so it can't be "
            "linked. Get a number there with New number."
        )
    return NumberRefused(
        f"{phone(e164)} is not in the {connection.get_provider_display()} account “{connection.label}”. "
        "Buy or move it there first, or pick the right account."
    )


def _relink(e164: str, fields: dict) -> PhoneNumber | None:
    """The workspace's detached row for `e164`, made active again with `fields`; None if there is none."""
    number = (
        PhoneNumber.objects.select_for_update()
        .filter(e164=e164, state=PhoneNumber.State.DETACHED)
        .order_by("-finished_at", "-pk")
        .first()
    )
    if number is None:
        return None
    for name, value in fields.items():
        setattr(number, name, value)
    number.finished_at, number.previous_routing = None, None  # routing is remembered again when routed
    number.version += 1
    number.save()
    return number


# ---- Edit and routing ---------------------------------------------------------------------------


def check_assignment(*, environment: Environment, agent, variant) -> None:
    """One agent per number; a variant must belong to that agent and be published where the number is."""
    if variant is not None and agent is None:
        raise ValidationError("Choose the agent before its variant.")
    if variant is not None:
        if variant.agent_id != agent.pk:
            raise ValidationError(f"Variant “{variant.name}” belongs to another agent.")
        if not variant.published_to.filter(pk=environment.pk).exists():
            raise ValidationError(
                f"Variant “{variant.name}” is not published to {environment}. Publish it there first."
            )


def number_update(
    *, number: PhoneNumber, actor, version: int, environment, agent, variant, tag_names
) -> PhoneNumber:
    """Save an edit made on `version` of the number; a concurrent edit in between is refused."""
    names = clean_tag_names(tag_names)
    check_assignment(environment=environment, agent=agent, variant=variant)
    with transaction.atomic():
        locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        if locked.version != version:
            raise VersionConflict(
                "Someone else changed this number while you were editing. Reload and try again."
            )
        if not locked.is_held:
            raise NumberRefused(f"{locked} is {locked.get_state_display().lower()}; it can't be edited.")
        refuse_if_on_hold(locked, "editing")
        before = _describe(locked)
        routing_changed = locked.inbound_agent_id != (agent.pk if agent else None) or (
            locked.inbound_variant_id != (variant.pk if variant else None)
        )
        locked.environment, locked.inbound_agent, locked.inbound_variant = environment, agent, variant
        locked.version += 1
        locked.save(
            update_fields=["environment", "inbound_agent", "inbound_variant", "version", "updated_at"]
        )
        locked.tags.set(tags_get_or_create(names))
        _number_changed(locked)
        changed = changes(before, _describe(locked))
        if changed:
            audit(actor=actor, action="number.updated", target=locked, changed=changed)
    if routing_changed and locked.inbound_agent_id and locked.state == PhoneNumber.State.ACTIVE:
        number_route(number=locked, actor=actor)
    return locked


def _describe(number: PhoneNumber) -> dict:
    """What an edit can change, by name (audit events outlive the agents and tags they mention)."""
    return {
        "environment": number.environment.kind,
        "agent": number.inbound_agent.name if number.inbound_agent_id else "",
        "variant": number.inbound_variant.name if number.inbound_variant_id else "",
        "tags": sorted(t.name for t in number.tags.all()),
    }


def _setup(number: PhoneNumber) -> dict:
    """How a number arrived: its environment and whatever else was set."""
    return {key: value for key, value in _describe(number).items() if value}


def number_route(*, number: PhoneNumber, actor) -> None:
    """Point the number at our inbound webhook, remembering the routing it had before Dialtone."""
    try:
        previous = connection_adapter(number.connection).route_inbound(
            number.provider_ref, webhook_url(number.connection)
        )
    except (ProviderError, ProviderUnavailable) as exc:
        message = exc.message
        audit(actor=actor, action="number.route_failed", target=number, error=message)
        raise RoutingFailed(
            f"Saved, but {number.connection.get_provider_display()} did not accept the routing: "
            f"{message} Reconciliation will retry."
        ) from exc
    with transaction.atomic():
        locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        if locked.previous_routing is None:
            locked.previous_routing = previous.as_dict()
            locked.save(update_fields=["previous_routing"])
        audit(actor=actor, action="number.routed", target=locked, webhook=webhook_url(number.connection))


# ---- Detach and delete --------------------------------------------------------------------------


def refuse_if_on_hold(number: PhoneNumber, doing: str) -> None:
    """A number on hold is on its way out: it changes only by being restored (or released)."""
    if number.on_hold:
        raise NumberRefused(
            f"{number} is releasing on {day(number.release_at)}. Restore it before {doing} it."
        )


def _refuse_if_held_elsewhere(number: PhoneNumber) -> None:
    """Apps built on numbers may hold one (a running campaign holds its caller IDs: campaigns/receivers.py)."""
    reason = signals.leaving_refusal(number)
    if reason:
        raise NumberRefused(reason)


def _number_changed(number: PhoneNumber) -> None:
    """Apps built on numbers follow its tags, environment and state (campaign pools: campaigns/receivers.py)."""
    signals.number_changed.send(sender=PhoneNumber, number=number)


def number_detach(*, number: PhoneNumber, actor) -> PhoneNumber:
    """Leave Dialtone, keep the number at the provider with the routing it had before us."""
    if number.connection.is_managed:
        # Left in the platform's account it would be no one's, and any workspace could link it.
        raise NumberRefused(
            f"{number} is managed by Dialtone, so it stays in this workspace until it is released: "
            "it can't be detached. Delete it to release it."
        )
    _refuse_if_held_elsewhere(number)
    if number.state != PhoneNumber.State.ACTIVE:
        raise NumberRefused(
            f"{number} is {number.get_state_display().lower()}; only active numbers can be detached."
        )
    refuse_if_on_hold(number, "detaching")
    if number.previous_routing is not None:
        try:
            connection_adapter(number.connection).restore_routing(
                number.provider_ref, Routing.from_dict(number.previous_routing)
            )
        except (ProviderError, ProviderUnavailable) as exc:
            message = exc.message
            audit(actor=actor, action="number.detach_failed", target=number, error=message)
            raise NumberRefused(
                f"Not detached: {number.connection.get_provider_display()} did not restore the "
                f"previous routing ({message}). Try again."
            ) from exc
    with transaction.atomic():
        locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        locked.state, locked.finished_at = PhoneNumber.State.DETACHED, timezone.now()
        locked.version += 1
        locked.save(update_fields=["state", "finished_at", "version", "updated_at"])
        audit(actor=actor, action="number.detached", target=locked)
        _number_changed(locked)
    return locked


def number_release(*, number: PhoneNumber, actor, idempotency_key: str, hold_ending=None) -> NumberOperation:
    """Release at the provider (it stops billing); the row stays as released history. A number on hold
    may be released at once; `hold_ending` (the end of the hold the release is for) is the hold task's:
    a number restored, or held again since, is left alone."""
    _refuse_if_held_elsewhere(number)
    with transaction.atomic():
        existing = NumberOperation.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing
        locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        if locked.state != PhoneNumber.State.ACTIVE:
            raise NumberRefused(
                f"{locked} is {locked.get_state_display().lower()}; it can't be released now."
            )
        if hold_ending is not None and locked.release_at != hold_ending:
            raise NumberRefused(f"{locked} was restored or held again; its hold is no longer due.")
        locked.state = PhoneNumber.State.RELEASING
        locked.version += 1
        locked.save(update_fields=["state", "version", "updated_at"])
        operation = NumberOperation.objects.create(
            kind=NumberOperation.Kind.RELEASE,
            idempotency_key=idempotency_key,
            number=locked,
            e164=locked.e164,
            connection=locked.connection,
            actor=actor,
        )
        audit(actor=actor, action="number.release_started", target=locked)
        _number_changed(locked)
    return release_call(operation)


def release_call(operation: NumberOperation) -> NumberOperation:
    """Ask the provider to release; releasing twice is fine (a 404 means already gone)."""
    number = operation.number
    try:
        connection_adapter(operation.connection).release(number.provider_ref)
    except ProviderError as exc:
        # Refused for good: the number is still ours and still works, so it goes back to active.
        with transaction.atomic():
            PhoneNumber.objects.filter(pk=number.pk).update(state=PhoneNumber.State.ACTIVE)
            audit(actor=operation.actor, action="number.release_failed", target=number, error=exc.message)
            return _mark(operation, NumberOperation.State.FAILED, error=exc.message, code=str(exc.code or ""))
    except ProviderUnavailable as exc:
        return _mark(operation, NumberOperation.State.UNKNOWN, error=str(exc))
    with transaction.atomic():
        locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        locked.state, locked.finished_at = PhoneNumber.State.RELEASED, timezone.now()
        locked.save(update_fields=["state", "finished_at", "updated_at"])
        _mark(operation, NumberOperation.State.SUCCEEDED)
        audit(actor=operation.actor, action="number.released", target=locked)
    return operation
