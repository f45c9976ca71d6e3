"""Telnyx signs each webhook with its account's Ed25519 key over "timestamp|body". Each connection
stores its account's public key; a signature is accepted once, within the tolerance window."""

from __future__ import annotations

import base64
import hashlib
import time
from functools import lru_cache

from django.core.cache import cache
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

MAX_AGE_SECONDS = 300  # how far a timestamp may be from our clock, either way


def signature_ok(request, connection) -> bool:
    signature = request.headers.get("Telnyx-Signature-Ed25519", "")
    timestamp = request.headers.get("Telnyx-Timestamp", "")
    key = connection.credentials.get("public_key", "")
    if not (signature and key and timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    left = int(timestamp) + MAX_AGE_SECONDS - time.time()
    if left < 0 or left > 2 * MAX_AGE_SECONDS:
        return False
    try:
        signed = base64.b64decode(signature, validate=True)
        _verify_key(key).verify(f"{timestamp}|".encode() + request.body, signed)
    except (BadSignatureError, ValueError):
        return False
    return first_delivery(signed, seconds=int(left) + 1)


@lru_cache(maxsize=256)
def _verify_key(key: str) -> VerifyKey:
    # By the key itself: a connection given a new key asks for it anew, nothing to invalidate.
    return VerifyKey(base64.b64decode(key))


def first_delivery(signature: bytes, *, seconds: int) -> bool:
    """True once per signature: SET NX in Redis, kept while its timestamp is still accepted. A Redis
    error propagates (500): Telnyx delivers again later, which beats answering a possible replay."""
    seen = f"telnyx-webhook-seen:{hashlib.sha256(signature).hexdigest()}"
    return cache.add(seen, 1, timeout=seconds)
