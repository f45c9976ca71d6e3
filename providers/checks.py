"""`manage.py check --deploy`: provider credentials are encrypted with keys of this deployment's own."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import ImproperlyConfigured

from providers import crypto

NEW_KEY = 'a key of your own: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


@register(Tags.security, deploy=True)
def check_field_encryption_keys(app_configs, **kwargs):
    """Errors, not warnings: the development key is in the repository, so anyone with it and a database
    dump reads every provider credential."""
    if settings.FIELD_ENCRYPTION_KEYS == settings.DEVELOPMENT_FIELD_ENCRYPTION_KEYS:
        return [
            Error(
                "FIELD_ENCRYPTION_KEYS is not set: provider credentials would be encrypted with the "
                "development key, which is in the repository.",
                hint=f"Set FIELD_ENCRYPTION_KEYS=k1:KEY with {NEW_KEY}",
                id="dialtone.E001",
            )
        ]
    try:
        crypto.primary_key_id()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint=f"Use id:key pairs, each key {NEW_KEY}", id="dialtone.E002")]
    development = settings.DEVELOPMENT_FIELD_ENCRYPTION_KEYS.partition(":")[2]
    pairs = crypto.key_pairs(settings.FIELD_ENCRYPTION_KEYS)
    ids = [key_id for key_id, key in pairs if key == development]
    if not ids:
        return []
    if ids[0] == pairs[0][0]:  # new credentials are encrypted with it
        return [
            Error(
                f"FIELD_ENCRYPTION_KEYS key {ids[0]!r} is the development key, which is in the repository.",
                hint=f"Put {NEW_KEY} first, then run manage.py rotate_encryption_keys and remove this one.",
                id="dialtone.E003",
            )
        ]
    return [
        CheckWarning(
            f"FIELD_ENCRYPTION_KEYS still holds the development key (as {ids[0]!r}), so values it encrypted "
            "stay readable to anyone with the repository.",
            hint="Run manage.py rotate_encryption_keys, then remove that key.",
            id="dialtone.W001",
        )
    ]
