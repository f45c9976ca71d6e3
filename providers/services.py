"""Provider connections: connect (verify first), re-verify, edit, disconnect. The adapter for a
connection is built here, with the API base URL and timeout from settings."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Late
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from providers import registry, signals
from providers.adapters import adapter_for, errors
from providers.adapters.base import AccountInfo, ProviderAdapter, ProviderError, ProviderUnavailable
from providers.models import ProviderConnection
from tenants.audit import audit, changes
from tenants.display import phones_listed


class ConnectionInUse(Exception):
    def __init__(self, numbers: list[str]):
        self.numbers = numbers
        shown = phones_listed(numbers, 10)
        super().__init__(f"Numbers still use this connection: {shown}. Detach or delete them first.")


@sensitive_variables("credentials")
def adapter_from(
    provider: str, credentials: dict, *, timeout: float | None = None, **options
) -> ProviderAdapter:
    return adapter_for(
        provider,
        credentials,
        base_url=settings.PROVIDER_BASE_URLS.get(provider),
        timeout=timeout or settings.PROVIDER_TIMEOUT,
        **options,
    )


@sensitive_variables("credentials")
def connection_verify_credentials(provider: str, credentials: dict) -> AccountInfo:
    """The provider's account info, or ProviderError / ProviderUnavailable, within
    PROVIDER_VERIFY_DEADLINE_S in all: a person is waiting, and the SDKs' timeouts apply per request
    (Telnyx retries reads), so they could add up to many times that."""
    deadline = settings.PROVIDER_VERIFY_DEADLINE_S
    # Built outside the deadline: the first Telnyx adapter of a process imports its SDK, for seconds.
    adapter = adapter_from(provider, credentials, timeout=deadline)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify")
    answer = pool.submit(adapter.verify)
    pool.shutdown(wait=False)  # a late answer finishes on its own (verifying only reads) and is dropped
    try:
        return answer.result(timeout=deadline)
    except Late:
        raise errors.unavailable(adapter.name, "timeout") from None


def verify_failure(provider: str, exc: ProviderError | ProviderUnavailable) -> str:
    """Why verifying failed, in words true where nothing retries it (connecting, re-verifying)."""
    if isinstance(exc, ProviderUnavailable):
        return exc.message
    code = f" ({registry.get(provider).label} error {exc.code})" if exc.code.isdigit() else ""
    return f"{exc.message.removesuffix('.')}{code}."


def connection_adapter(connection: ProviderConnection) -> ProviderAdapter:
    options = registry.get(connection.provider).adapter_options(connection)
    return adapter_from(connection.provider, connection.credentials, **options)


# Adapters kept warm for dialing: one per connection in each thread of each process, so a dial reuses
# the SDK client and its open HTTP connection (a new connection is a handshake, and on a lossy network
# the one that waits a second or three for a lost SYN). Per thread: an SDK client need not be thread-safe
# for a threads pool to use it. Forgotten in a forked child: its parent's sockets are not its own.
_warm = threading.local()
_WARM_MAX = 64  # connections per thread; the least recently used is dropped
os.register_at_fork(after_in_child=lambda: _warm.__dict__.clear())


@sensitive_variables("secret")
def connection_adapter_warm(connection: ProviderConnection) -> ProviderAdapter:
    """The connection's adapter kept for this thread: the same connection with the same credentials and
    API address gets the same adapter, and its open HTTP connections."""
    adapters: OrderedDict = _warm.__dict__.setdefault("adapters", OrderedDict())
    secret = json.dumps(connection.credentials, sort_keys=True).encode()
    key = (
        connection.pk,
        connection.provider,
        settings.PROVIDER_BASE_URLS.get(connection.provider),
        settings.PROVIDER_TIMEOUT,
        hashlib.sha256(secret).hexdigest(),
    )
    adapter = adapters.get(key)
    if adapter is None:
        adapter = adapters[key] = connection_adapter(connection)
        while len(adapters) > _WARM_MAX:
            adapters.popitem(last=False)
    adapters.move_to_end(key)
    return adapter


@sensitive_variables("credentials")
def connection_create(
    *, workspace, actor, provider: str, label: str, credentials: dict, calls_per_second: Decimal | None = None
) -> ProviderConnection:
    """Verify against the provider, then save. Raises ProviderError / ProviderUnavailable: nothing saved."""
    account = connection_verify_credentials(provider, credentials)
    connection = ProviderConnection(
        workspace=workspace,
        provider=provider,
        label=label,
        credentials=credentials,
        calls_per_second=calls_per_second,
        state=ProviderConnection.State.VERIFIED,
        last_verified_at=timezone.now(),
        created_by=actor,
    )
    with transaction.atomic():
        connection.save()
        if workspace is not None:  # a managed connection (workspace None) is in no workspace's log
            audit(actor=actor, action="provider.connected", target=connection, account=account.name or "")
    return connection


@sensitive_variables("credentials")
def connection_update(
    *,
    connection: ProviderConnection,
    actor,
    label: str,
    credentials: dict,
    calls_per_second: Decimal | None = None,
) -> ProviderConnection:
    """New credentials are verified before they replace the old ones. A new calls_per_second reaches running
    campaigns at their next dispatcher tick (about a second)."""
    changed = credentials != connection.credentials
    if changed:
        connection_verify_credentials(connection.provider, credentials)
    with transaction.atomic():
        locked = ProviderConnection.objects.select_for_update().get(pk=connection.pk)
        fields = {"label": label}
        before, after = {"label": locked.label}, {"label": label}
        if calls_per_second is not None and calls_per_second != locked.call_rate:
            fields["calls_per_second"] = calls_per_second
            before["calls_per_second"], after["calls_per_second"] = (
                str(locked.call_rate),
                str(calls_per_second),
            )
        if changed:
            fields |= {
                "credentials": credentials,
                "state": locked.State.VERIFIED,
                "last_verified_at": timezone.now(),
                "last_error": "",
            }
        renamed = changes(before, after)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(fields))
        audit(
            actor=actor,
            action="provider.updated",
            target=locked,
            changed=renamed,
            **({"credentials": "replaced and verified"} if changed else {}),
        )
    return locked


def connection_reverify(*, connection: ProviderConnection, actor) -> ProviderConnection:
    """Ask the provider again; the connection's state records the answer (a failure is not raised)."""
    try:
        connection_verify_credentials(connection.provider, connection.credentials)
        state, error = ProviderConnection.State.VERIFIED, ""
    except (ProviderError, ProviderUnavailable) as exc:
        state, error = ProviderConnection.State.FAILING, verify_failure(connection.provider, exc)
    with transaction.atomic():
        connection.state, connection.last_error = state, error[:300]
        fields = ["state", "last_error"]
        if state == ProviderConnection.State.VERIFIED:
            connection.last_verified_at = timezone.now()
            fields.append("last_verified_at")
        connection.save(update_fields=fields)
        audit(
            actor=actor,
            action="provider.verified" if not error else "provider.verify_failed",
            target=connection,
            error=error,
        )
    return connection


def numbers_using(connection: ProviderConnection) -> list[str]:
    """E.164 of the numbers in Dialtone that still live on this connection (phone_numbers answers)."""
    return sorted(
        e164
        for numbers in signals.answers(signals.connection_numbers, connection=connection)
        for e164 in numbers
    )


def connection_disconnect(*, connection: ProviderConnection, actor) -> None:
    """Refused while numbers use it. The row stays (history, audit) with its credentials erased."""
    with transaction.atomic():
        locked = ProviderConnection.objects.select_for_update().get(pk=connection.pk)
        in_use = numbers_using(locked)
        if in_use:
            raise ConnectionInUse(in_use)
        locked.state = ProviderConnection.State.DISCONNECTED
        locked.credentials = {}
        locked.label = f"{locked.label} (disconnected {timezone.now():%Y-%m-%d %H:%M})"[:80]
        locked.save(update_fields=["state", "credentials", "label"])
        audit(actor=actor, action="provider.disconnected", target=locked)
