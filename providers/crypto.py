"""Encryption of secrets at rest: Fernet keys with ids, the id stored beside each ciphertext.

FIELD_ENCRYPTION_KEYS is "id:key,id:key,...", newest first. New values are encrypted with the
first key; any listed key decrypts the values written with it. Rotation: put a new key in front,
run `manage.py rotate_encryption_keys`, then drop the old key.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class EncryptionKeyUnknown(RuntimeError):
    """A stored value names a key that FIELD_ENCRYPTION_KEYS no longer holds: never guess, never show it."""


def key_pairs(spec: str) -> list[tuple[str, str]]:
    """(id, key) of each "id:key" of FIELD_ENCRYPTION_KEYS, in order; ImproperlyConfigured when malformed."""
    pairs = []
    for item in spec.split(","):
        key_id, sep, key = item.strip().partition(":")
        if not sep or not key_id or not key_id.isalnum():
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS must be 'id:fernet-key' pairs, ids alphanumeric."
            )
        pairs.append((key_id, key.strip()))
    return pairs


@lru_cache(maxsize=8)
def _keyring(spec: str) -> tuple[str, dict[str, Fernet]]:
    keys: dict[str, Fernet] = {}
    for key_id, key in key_pairs(spec):
        try:
            keys[key_id] = Fernet(key)
        except ValueError as exc:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS key {key_id!r} is not a Fernet key.") from exc
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    return next(iter(keys)), keys


def primary_key_id() -> str:
    return _keyring(settings.FIELD_ENCRYPTION_KEYS)[0]


def encrypt(plaintext: str) -> str:
    key_id, keys = _keyring(settings.FIELD_ENCRYPTION_KEYS)
    return f"{key_id}${keys[key_id].encrypt(plaintext.encode()).decode()}"


def decrypt(stored: str) -> str:
    key_id, sep, token = stored.partition("$")
    keys = _keyring(settings.FIELD_ENCRYPTION_KEYS)[1]
    if not sep or key_id not in keys:
        raise EncryptionKeyUnknown(f"value encrypted with key {key_id!r}, which FIELD_ENCRYPTION_KEYS lacks")
    try:
        return keys[key_id].decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise EncryptionKeyUnknown(f"value does not decrypt with key {key_id!r}") from exc


def key_id_of(stored: str) -> str:
    return stored.partition("$")[0]


def rotate(stored: str) -> str:
    """Re-encrypt with the primary key (MultiFernet.rotate keeps the original timestamp)."""
    key_id, keys = _keyring(settings.FIELD_ENCRYPTION_KEYS)
    old_id, _, token = stored.partition("$")
    if old_id not in keys:
        raise EncryptionKeyUnknown(f"value encrypted with key {old_id!r}, which FIELD_ENCRYPTION_KEYS lacks")
    rotated = MultiFernet([keys[key_id], keys[old_id]]).rotate(token.encode())
    return f"{key_id}${rotated.decode()}"
