"""Webhooks signed as the providers sign them, for the benches that play a provider (bench/callbacks.py):
Twilio's HMAC over the URL and parameters with the Auth Token, Telnyx's Ed25519 over "timestamp|body"."""

from __future__ import annotations

import base64

from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator


class TelnyxKey:
    """An account's webhook key: the public half goes on the connection, the private half signs."""

    def __init__(self) -> None:
        self._key = SigningKey.generate()
        self.public = base64.b64encode(bytes(self._key.verify_key)).decode()

    def headers(self, body: bytes, timestamp: str) -> dict[str, str]:
        signature = base64.b64encode(self._key.sign(f"{timestamp}|".encode() + body).signature).decode()
        return {"Telnyx-Signature-Ed25519": signature, "Telnyx-Timestamp": timestamp}


def twilio_headers(token: str, url: str, params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}
