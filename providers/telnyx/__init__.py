"""Telnyx: the official SDK (adapter.py); buying is an asynchronous number order; inbound calls reach the
TeXML application the number is assigned to; webhooks are signed with Ed25519 (webhooks.py)."""

from __future__ import annotations

from providers.provider import CredentialField, Provider


class TelnyxProvider(Provider):
    key = "telnyx"
    label = "Telnyx"
    connect_label = "Telnyx"
    adapter_path = "providers.telnyx.adapter:TelnyxAdapter"
    credential_fields = (
        CredentialField("api_key", "API key", secret=True),
        CredentialField("connection_id", "TeXML application (connection) ID, for inbound and outbound calls"),
    )

    def webhook_verified(self, request, connection, *, url: str) -> bool:
        from providers.telnyx.webhooks import signature_ok

        return signature_ok(request, connection)


PROVIDER = TelnyxProvider()
