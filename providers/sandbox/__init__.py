"""The sandbox: fictional numbers and calls that ring nobody, so Dialtone can be tried with no account.
Its adapter (adapter.py) stays free of Django; each connection's account lives in the database (store.py)."""

from __future__ import annotations

from decimal import Decimal

from providers.provider import Provider


class SandboxProvider(Provider):
    key = "sandbox"
    label = "Sandbox"
    connect_label = "Sandbox (for trying Dialtone)"
    adapter_path = "providers.sandbox.adapter:SandboxAdapter"
    credential_fields = ()  # nothing to prove
    for_trying = True
    offers_reputation = True
    default_calls_per_second = Decimal(10000)  # the highest allowed: the sandbox has no limit
    calls_per_second_source = "The sandbox has no limit of its own."

    def adapter_options(self, connection) -> dict:
        from providers.sandbox.store import DatabaseStore

        return {"store": DatabaseStore(connection.pk)}

    def connection_created(self, connection) -> None:
        # A sandbox account opens with its connection, already owning the starter numbers.
        from providers.models import SandboxNumber
        from providers.sandbox.adapter import STARTER_NUMBERS

        SandboxNumber.objects.bulk_create(
            SandboxNumber(connection=connection, e164=e) for e in STARTER_NUMBERS
        )


PROVIDER = SandboxProvider()
