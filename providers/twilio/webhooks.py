"""Twilio signs each webhook with the account's Auth Token over the URL and the form parameters."""

from __future__ import annotations

from twilio.request_validator import RequestValidator


def signature_ok(request, connection, *, url: str) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    token = connection.credentials.get("auth_token", "")
    return bool(signature and token) and RequestValidator(token).validate(url, request.POST.dict(), signature)
