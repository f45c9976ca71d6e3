"""The two ways a provider call fails, and the sentences we show for the common permanent failures.

ProviderError is permanent: retrying the same request gives the same answer, so the person must act
(pick another number, fix the credentials). ProviderUnavailable is transient: the caller retries or
reconciles later, and the person only learns that the provider is slow.
"""

from __future__ import annotations


class ProviderError(Exception):
    """A permanent refusal: `code` is the provider's error code, `message` a sentence a person can act on."""

    def __init__(self, code: str | int, message: str, status: int | None = None):
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"ProviderError(code={self.code!r}, status={self.status!r}, message={self.message!r})"


class ProviderUnavailable(Exception):
    """Timeouts, 429, 5xx, dropped connections. The message is generic by design: never the raw body."""

    def __init__(self, message: str, *, reason: str = "unavailable"):
        super().__init__(message)
        self.message = message
        # timeout, connection, rate_limited, server_error, bad_response; not_sent: it never left (no
        # connection was made in time), so nothing can have reached the provider
        self.reason = reason


def unavailable(provider: str, reason: str) -> ProviderUnavailable:
    # Only what happened: whether anything is retried is for the caller to say (a search is not).
    said = "did not answer in time" if reason == "timeout" else "is not responding right now"
    return ProviderUnavailable(f"{provider} {said}.", reason=reason)


def malformed(provider: str, missing: str) -> ProviderUnavailable:
    """An answer without what the contract needs (both specs make nearly every field optional). Transient,
    not a refusal: the provider may have acted (a number bought, a call placed), so the caller reconciles."""
    return ProviderUnavailable(f"{provider} answered without {missing}.", reason="bad_response")


def present(value: object, provider: str, missing: str) -> str:
    """`value` when it is a non-empty string, else the malformed-answer error naming what is missing."""
    if isinstance(value, str) and value:
        return value
    raise malformed(provider, missing)


# Sentences shared by every adapter, so the same situation reads the same whichever provider it is.
BAD_CREDENTIALS = "{provider} refused these credentials: check the {fields}."
NUMBER_TAKEN = (
    "That number is not available to buy: if this account already holds it, link it instead; "
    "otherwise pick another one."
)
REGULATORY = "This country requires a regulatory address/bundle on the account before you can buy here."
NOT_ON_ACCOUNT = "{provider} has no such number or resource on this account."
INVALID_NUMBER = "{provider} says that is not a valid phone number."
