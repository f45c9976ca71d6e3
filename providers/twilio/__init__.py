"""Twilio: the official SDK (adapter.py); buying is synchronous; inbound routing sets each number's voice
URL; webhooks are signed with the account's Auth Token (webhooks.py)."""

from __future__ import annotations

from decimal import Decimal

from providers.provider import CredentialField, Provider


def _account_sid(value: str) -> str:
    if not (value.startswith("AC") and len(value) == 34 and value[2:].isalnum()):
        raise ValueError("A Twilio Account SID starts with AC and has 34 characters.")
    return value


class TwilioProvider(Provider):
    key = "twilio"
    label = "Twilio"
    connect_label = "Twilio"
    adapter_path = "providers.twilio.adapter:TwilioAdapter"
    credential_fields = (
        CredentialField("account_sid", "Account SID", check=_account_sid),
        CredentialField("auth_token", "Auth Token", secret=True),
    )
    routes_each_number = True
    default_calls_per_second = Decimal(1)
    calls_per_second_source = (
        "Twilio grants every account 1 call per second until raised in its Console (Voice, Settings)."
    )

    def webhook_verified(self, request, connection, *, url: str) -> bool:
        from providers.twilio.webhooks import signature_ok

        return signature_ok(request, connection, url=url)


PROVIDER = TwilioProvider()
