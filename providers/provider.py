"""What Dialtone knows about one provider, written once in its package (providers/<key>/__init__.py)
and listed in providers/registry.py. Everything else asks the provider object instead of comparing names.

Importing a provider package is cheap: its SDK (the Telnyx one alone takes seconds) is imported on the
first adapter or webhook that needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from providers.adapters.base import ProviderAdapter


@dataclass(frozen=True)
class CredentialField:
    """One value a connection stores. `check` returns the value to store, or raises ValueError with a
    sentence for the form. A secret is write-only: never rendered back, only its last 4 characters shown."""

    key: str
    label: str
    secret: bool = False
    help: str = ""
    check: Callable[[str], str] | None = None
    in_hint: bool = True  # part of what names the account on screen


class Provider:
    key: ClassVar[str]
    label: ClassVar[str]
    # How the Connect form offers it.
    connect_label: ClassVar[str] = ""
    # "module:Class" of its adapter (providers/adapters/base.py's contract), imported on first use.
    adapter_path: ClassVar[str]
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()

    # Capabilities: what callers may rely on, asked here instead of by name.
    # Inbound calls are routed per number (a voice URL on each), so a number re-routed elsewhere shows.
    routes_each_number: ClassVar[bool] = False
    # Fictional numbers for trying Dialtone: offered after the accounts that hold real ones.
    for_trying: ClassVar[bool] = False
    # A spam-likelihood feed per number (ProviderAdapter.reputation); a fresh check may cost money.
    offers_reputation: ClassVar[bool] = False
    # Outbound calls per second a new account may start (the connection's calls_per_second when unset),
    # and where that figure comes from, for the connection form.
    default_calls_per_second: ClassVar[Decimal] = Decimal(1)
    calls_per_second_source: ClassVar[str] = ""

    def __repr__(self) -> str:
        return f"<Provider {self.key}>"

    def adapter(
        self,
        credentials: Mapping[str, Any],
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        **options: Any,
    ) -> ProviderAdapter:
        module_name, class_name = self.adapter_path.split(":")
        adapter_class = getattr(import_module(module_name), class_name)
        return adapter_class(credentials, base_url=base_url, timeout=timeout, **options)

    def adapter_options(self, connection) -> dict[str, Any]:
        """What an adapter for this stored connection needs beyond its credentials."""
        return {}

    def connection_created(self, connection) -> None:
        """Called inside the transaction that first saves a connection."""

    def clean_credentials(self, values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """The credentials to store, and a message per field that is not acceptable."""
        cleaned, problems = {}, {}
        for field in self.credential_fields:
            value = str(values.get(field.key, "")).strip()
            if value and field.check:
                try:
                    value = field.check(value)
                except ValueError as exc:
                    problems[field.key] = str(exc)
            cleaned[field.key] = value
        return cleaned, problems

    def account_hint(self, credentials: Mapping[str, Any]) -> str:
        """What identifies the account on screen: public ids in full, secrets as their last 4 characters."""
        parts = []
        for field in self.credential_fields:
            value = str(credentials.get(field.key, ""))
            if value and field.in_hint:
                parts.append(f"…{value[-4:]}" if field.secret else value)
        return " · ".join(parts)

    def missing(self, credentials: Mapping[str, Any]) -> list[str]:
        """Labels of the fields a stored connection lacks (one saved before the field existed)."""
        return [f.label for f in self.credential_fields if not str(credentials.get(f.key, "")).strip()]

    def webhook_verified(self, request, connection, *, url: str) -> bool:
        """Did this provider, for this connection's account, sign this request? `url` is the full URL the
        provider was given. A provider that signs nothing verifies nothing."""
        return False
