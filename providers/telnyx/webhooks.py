"""Telnyx signs each webhook with Ed25519 over "timestamp|body"."""

from __future__ import annotations

import base64
import time

from django.conf import settings
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

MAX_AGE_SECONDS = 300  # refuse replays of old signed requests


def signature_ok(request, connection) -> bool:
    signature = request.headers.get("Telnyx-Signature-Ed25519", "")
    timestamp = request.headers.get("Telnyx-Timestamp", "")
    if not (signature and timestamp.isdigit() and settings.TELNYX_PUBLIC_KEY):
        return False
    if abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    try:
        key = VerifyKey(base64.b64decode(settings.TELNYX_PUBLIC_KEY))
        key.verify(f"{timestamp}|".encode() + request.body, base64.b64decode(signature))
    except (BadSignatureError, ValueError):
        return False
    return True
