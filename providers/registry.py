"""Every provider Dialtone speaks, one line each. Adding a provider: its package (providers/<key>/, whose
PROVIDER describes it: see providers/provider.py) and its line here."""

from __future__ import annotations

from importlib import import_module

from providers.provider import Provider

PACKAGES = (
    "providers.twilio",
    "providers.telnyx",
    "providers.sandbox",
)

_PROVIDERS: dict[str, Provider] = {p.key: p for p in (import_module(name).PROVIDER for name in PACKAGES)}


def get(key: str) -> Provider:
    try:
        return _PROVIDERS[key]
    except KeyError:
        raise ValueError(f"unknown provider {key!r}; expected one of {sorted(_PROVIDERS)}") from None


def find(key: str) -> Provider | None:
    return _PROVIDERS.get(key)


def keys() -> list[str]:
    return list(_PROVIDERS)


def providers() -> list[Provider]:
    return list(_PROVIDERS.values())


def choices() -> list[tuple[str, str]]:
    """(key, label) in the registry's order: the connection model's choices."""
    return [(p.key, p.label) for p in _PROVIDERS.values()]
