"""Telnyx: the official SDK (adapter.py); buying is an asynchronous number order; inbound calls reach the
TeXML application the number is assigned to; webhooks are signed with the account's Ed25519 key
(webhooks.py)."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal

from providers.provider import CredentialField, Provider


def _public_key(value: str) -> str:
    """As Mission Control shows it: an Ed25519 key, 32 bytes in base64. Telnyx has no API that returns it,
    so its form is checked here and the key itself by every webhook it verifies."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("A Telnyx public key is 44 characters of base64 ending in “=”: copy it again.")
    return value


class TelnyxProvider(Provider):
    key = "telnyx"
    label = "Telnyx"
    connect_label = "Telnyx"
    adapter_path = "providers.telnyx.adapter:TelnyxAdapter"
    credential_fields = (
        CredentialField("api_key", "API key", secret=True),
        CredentialField("connection_id", "TeXML application (connection) ID, for inbound and outbound calls"),
        CredentialField(
            "public_key",
            "Public key, for webhook signatures",
            help="In Telnyx Mission Control: Keys & Credentials, Public Key.",
            check=_public_key,
            in_hint=False,
        ),
    )
    default_calls_per_second = Decimal(30)
    offers_reputation = True
    calls_per_second_source = "Telnyx limits every account to 30 dials per second (over a rolling 5 seconds) unless its support raised it."

    def webhook_verified(self, request, connection, *, url: str) -> bool:
        from providers.telnyx.webhooks import signature_ok

        return signature_ok(request, connection)


PROVIDER = TelnyxProvider()
