"""Provider adapters behind one contract (base.py). `adapter_for` is the only way to get one."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from providers.adapters.base import ProviderAdapter

# Imported on first use: the Telnyx SDK alone takes seconds to import.
ADAPTERS = {
    "twilio": "providers.twilio.adapter:TwilioAdapter",
    "telnyx": "providers.telnyx.adapter:TelnyxAdapter",
    "sandbox": "providers.sandbox.adapter:SandboxAdapter",
}


def adapter_for(
    provider: str,
    credentials: dict[str, Any],
    base_url: str | None = None,
    timeout: float = 10.0,
    **options: Any,
) -> ProviderAdapter:
    """An adapter for one account. `base_url` None means the provider's real API; `options` are the
    provider's own (the sandbox's `store`)."""
    try:
        module_name, class_name = ADAPTERS[provider].split(":")
    except KeyError:
        raise ValueError(f"unknown provider {provider!r}; expected one of {sorted(ADAPTERS)}") from None
    adapter_class = getattr(import_module(module_name), class_name)
    return adapter_class(credentials, base_url=base_url, timeout=timeout, **options)
