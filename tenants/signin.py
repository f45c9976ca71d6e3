"""The one sign-in policy: every form that checks a password (or, like an invitation's sign-up, answers
questions an attacker could probe) asks here first.

Attempts are counted per (username, client address) and per client address. After the free attempts each
further attempt must wait a delay that doubles up to a cap, so a stranger's failures slow only their own
address and never lock an account for its owner elsewhere. An attempt is recorded in Redis, atomically
with the check, before the password is checked, so concurrent guesses never pass the limit. A successful
sign-in forgets its (username, address) failures and takes its own attempt back from the address.

    dialtone:signin:account:<sha256 of kind, subject, address>  HASH  n -> attempts, last -> Redis time
    dialtone:signin:address:<sha256 of address>                 HASH  the same, for every subject
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

from tenants.audit import audit

log = logging.getLogger(__name__)

# KEYS: the throttles; ARGV: each key's free attempts, then the delay, the cap and the time to forget.
# Refused attempts record nothing, so waiting them out is enough, and they never lengthen the delay.
_ATTEMPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local n_keys = #KEYS
local delay, cap, forget = tonumber(ARGV[n_keys + 1]), tonumber(ARGV[n_keys + 2]), tonumber(ARGV[n_keys + 3])
local wait = 0
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'n', 'last')
  local n, free = tonumber(state[1]) or 0, tonumber(ARGV[i])
  if n >= free then
    wait = math.max(wait, tonumber(state[2]) + math.min(delay * 2 ^ (n - free), cap) - now)
  end
end
if wait > 0 then return {0, tostring(wait)} end
local started = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 'last', tostring(now))
  redis.call('EXPIRE', key, forget)
  started[i] = (n == tonumber(ARGV[i])) and 1 or 0
end
return {1, '0', unpack(started)}
"""
# A success: the (username, address) failures are forgotten; the address's count gets its attempt back.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 and tonumber(redis.call('HGET', KEYS[2], 'n')) > 0 then
  redis.call('HINCRBY', KEYS[2], 'n', -1)
end
"""


@lru_cache(maxsize=4)
def _scripts(url: str):
    store = redis.Redis.from_url(url, health_check_interval=30)
    return store.register_script(_ATTEMPT), store.register_script(_SUCCEEDED)


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt. `wait` > 0: refused, nothing was checked; else the password may be checked."""

    kind: str
    subject: str
    address: str
    keys: tuple[str, str]
    wait: float
    starts: tuple[str, ...] = ()  # the throttles that start if this attempt fails

    def failed(self) -> None:
        for by in self.starts:
            # Not in any workspace: a platform event, listed in Django admin (AuditEvent, no workspace).
            audit(actor=None, action="signin.throttled", platform=True, **self._details(by))
            log.warning("Sign-in throttled: %s from %s (by %s)", self.subject, self.address, by)

    def succeeded(self) -> None:
        _scripts(settings.REDIS_URL)[1](keys=self.keys)

    def _details(self, by: str) -> dict:
        return {self.kind: self.subject[:150], "address": self.address, "by": by}


def attempt(*, request, subject: str, kind: str = "username") -> Attempt:
    """Record an attempt at `subject` (a username as typed, or an invitation) from the request's client."""
    subject = subject.strip().lower()
    address = client_address(request)
    keys = (
        "dialtone:signin:account:" + _digest(kind, subject, address),
        "dialtone:signin:address:" + _digest(address),
    )
    cap = settings.LOGIN_THROTTLE_MAX_DELAY_SECONDS
    allowed, wait, *started = _scripts(settings.REDIS_URL)[0](
        keys=keys,
        args=[
            settings.LOGIN_THROTTLE_FREE_ATTEMPTS,
            settings.LOGIN_THROTTLE_ADDRESS_FREE_ATTEMPTS,
            settings.LOGIN_THROTTLE_DELAY_SECONDS,
            cap,
            max(settings.LOGIN_THROTTLE_FORGET_SECONDS, cap),  # a delay outlives its key otherwise
        ],
    )
    throttles = (f"{kind} and address", "address")
    starts = tuple(by for by, flag in zip(throttles, started or (0, 0), strict=True) if flag)
    return Attempt(kind, subject, address, keys, 0.0 if allowed else float(wait), starts)


def wait_message(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return f"Too many attempts. Try again in {seconds} second{'s' if seconds != 1 else ''}."
    return f"Too many attempts. Try again in {math.ceil(seconds / 60)} minutes."


def client_address(request) -> str:
    """REMOTE_ADDR; behind the proxy (BEHIND_PROXY), the address it saw: the last X-Forwarded-For hop,
    the one it appended (what comes before is whatever the client sent)."""
    address = request.META.get("REMOTE_ADDR") or ""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        address = forwarded or address
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return "unknown"  # every such request shares one address, so it is still throttled


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
