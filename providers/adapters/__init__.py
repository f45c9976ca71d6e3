"""Provider adapters behind one contract (base.py). `adapter_for` is the only way to get one."""

from __future__ import annotations

from typing import Any

from providers.adapters.base import ProviderAdapter


def adapter_for(
    provider: str,
    credentials: dict[str, Any],
    base_url: str | None = None,
    timeout: float = 10.0,
    **options: Any,
) -> ProviderAdapter:
    """An adapter for one account. `base_url` None means the provider's real API; `options` are the
    provider's own (the sandbox's `store`)."""
    from providers import registry

    return registry.get(provider).adapter(credentials, base_url=base_url, timeout=timeout, **options)
