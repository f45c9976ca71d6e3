"""One POST of an event to an endpoint, with no redirects and short timeouts, refusing private addresses.

Endpoints are URLs a workspace types in, so a POST could be aimed at our own network (the metadata
service, Redis, the database). The check is on the address actually connected to (after DNS, so a name
that resolves to 10.0.0.5 at send time is refused even if it did not when saved). EVENTS_PRIVATE_HOSTS
lets named hosts through, over plain HTTP too (local receivers in development and in the tests).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

USER_AGENT = "Dialtone-Events/1"


@dataclass(frozen=True)
class Answer:
    status: int | None  # the HTTP status, None when there was none
    error: str  # why it did not succeed, in words; "" for a 2xx
    ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Refused(Exception):
    """The URL may not be sent to (a private address, not HTTPS): a message for the person."""


def url_problem(url: str) -> str | None:
    """Why an endpoint URL can't be saved, or None (the address check happens again at each send)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" and host not in settings.EVENTS_PRIVATE_HOSTS:
        return "Use an https:// URL: events carry your workspace's data."
    if not host:
        return "Enter a URL with a host name."
    if parts.username or parts.password:
        return "Leave credentials out of the URL: check the signature instead."
    return None


def _allowed(host: str, address: str) -> bool:
    if host in settings.EVENTS_PRIVATE_HOSTS:
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    problem = url_problem(url)
    if problem:
        return Answer(None, problem, 0)
    parts = urlsplit(url)
    host, secure = parts.hostname, parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    connect_s, read_s = settings.EVENTS_TIMEOUTS_S
    conn = (http.client.HTTPSConnection if secure else http.client.HTTPConnection)(host, port, timeout=read_s)
    try:
        sock = socket.create_connection((host, port), timeout=connect_s)
        conn.sock = sock  # http.client sends on it as it is: the address is checked before any byte leaves
        peer = sock.getpeername()[0]
        if not _allowed(host, peer):
            return Answer(None, f"Refused: {host} is a private address ({peer}).", took())
        sock.settimeout(read_s)
        if secure:
            conn.sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers={**headers, "User-Agent": USER_AGENT})
        response = conn.getresponse()
        response.read(64 * 1024)  # the answer is not kept; read a little so the connection ends cleanly
        status = response.status
        error = "" if 200 <= status < 300 else f"Answered HTTP {status} {response.reason}".strip()[:300]
        return Answer(status, error, took())
    except TimeoutError:
        return Answer(None, f"No answer within {read_s:g} s.", took())
    except ssl.SSLError as exc:
        return Answer(None, f"TLS failed: {exc.reason or exc}"[:300], took())
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, f"Could not connect: {exc}"[:300], took())
    finally:
        conn.close()
