"""API keys: made by admins with a role, shown once, stored hashed, revoked, rate-limited per key.

The JSON API (api/) authenticates each request with `api_key_authenticate`, then acts in the key's workspace
with the key's role, exactly as a member of that role acts on the pages (tenants/roles.py)."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from functools import lru_cache

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tenants import scope
from tenants.audit import audit
from tenants.models import ApiKey, Workspace
from tenants.roles import roles_grantable

NAME_MAX = ApiKey._meta.get_field("name").max_length
# "Last used" is shown to the minute: a write per request would cost more than the request.
LAST_USED_EVERY = timedelta(minutes=1)


def api_key_create(
    *, workspace: Workspace, actor, acting_role: str, name: str, role: str
) -> tuple[ApiKey, str]:
    """A new key; returns it and its secret, which is never stored (only its hash) nor shown again. A key
    can't hold a role its maker could not grant a member (admins make keys up to admin)."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Name the key after what uses it, e.g. “CI deploys”."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"A key's name has at most {NAME_MAX} characters."})
    if role not in roles_grantable(acting_role):
        raise ValidationError({"role": f"Your role can't make a key with the role {role!r}."})
    secret = ApiKey.PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic(), scope.workspace_scope(workspace):
        key = ApiKey.objects.create(
            name=name,
            role=role,
            prefix=secret[: len(ApiKey.PREFIX) + 6],
            key_hash=ApiKey.hash_secret(secret),
            created_by=actor,
        )
        audit(actor=actor, action="api_key.created", target=key, role=role, prefix=key.prefix)
    return key, secret


def api_key_revoke(*, key: ApiKey, actor) -> ApiKey:
    """The key stops working at its next request. Revoking twice is fine."""
    with transaction.atomic(), scope.workspace_scope(key.workspace):
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            audit(actor=actor, action="api_key.revoked", target=locked, prefix=locked.prefix)
    return locked


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The active key with this secret, its workspace loaded; None for anything else (unknown, revoked).

    Looked up across workspaces (`unscoped`): the secret is what names the workspace here, as the URL's
    slug and a membership do for pages."""
    if not secret.startswith(ApiKey.PREFIX) or len(secret) > 100:
        return None
    key = (
        ApiKey.unscoped.select_related("workspace", "workspace__plan", "created_by")
        .filter(key_hash=ApiKey.hash_secret(secret), revoked_at=None)
        .first()
    )
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        ApiKey.unscoped.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


@lru_cache(maxsize=4)
def _store(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, health_check_interval=30)


def api_key_rate(key: ApiKey) -> int:
    """Count a request against the key's per-minute allowance (a fixed window in Redis, one round trip);
    returns 0 if it may go on, else the seconds until the next window."""
    limit = settings.API_RATE_PER_MINUTE
    now = time.time()
    window = int(now // 60)
    name = f"api-rate:{key.pk}:{window}"
    pipe = _store(settings.REDIS_URL).pipeline(transaction=False)
    pipe.incr(name)
    pipe.expire(name, 61)
    used, _ = pipe.execute()
    if used <= limit:
        return 0
    return max(1, int((window + 1) * 60 - now + 0.999))


def api_keys_listed():
    """The workspace's keys, revoked ones last, for Settings."""
    return ApiKey.objects.select_related("created_by").order_by("revoked_at", "-created_at", "-id")
