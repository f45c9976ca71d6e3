"""What the fake provider servers share: an HTTP server on 127.0.0.1 in a thread, a log of every request,
a record of every response (the contract test validates them), and faults injected on the next requests
that match a method and a path glob.

Faults:
- fail_next: answer an error in the provider's own format, without touching state;
- stall_next: do the work, then answer only after `seconds` (longer than the client's timeout): the
  provider did it but the client never heard, which is what reconciliation is for;
- drop_next: close the connection without answering and without doing anything;
- reshape_next: do the work, then answer what a function makes of the usual body: a field absent or null,
  as the provider's spec also allows.

Latency (`set_latency`): requests matching a method and a path glob take `seconds` (plus or minus a
uniform `jitter`) as a real provider does: half before the work, half before the answer, so the
provider's records fall mid-request. Handlers sleep outside the lock: requests overlap as at a real
provider, and `max_in_flight` says how many were in flight at once at most.

Modes, for every request (`server.mode`), from the provider's official document (tests/fakes/spec.py):
- "normal": the usual answers;
- "sparse": do the work, then answer the least the spec allows: optional fields absent, required nullable
  fields null, envelopes the spec does not require gone;
- "error": do nothing, answer the operation's documented errors in turn, with the spec's own bodies.
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import random
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal, Self
from urllib.parse import parse_qsl, urlsplit

Reply = tuple[int, Any]  # (HTTP status, JSON body or None)
Mode = Literal["normal", "sparse", "error"]


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any  # form fields as a dict (Twilio), decoded JSON (Telnyx), None when empty
    headers: dict[str, str]
    at: float = 0.0  # time.time() when the whole request had arrived
    form_lists: dict[str, list[str]] = field(default_factory=dict)  # a form's every value per name, in order


@dataclass(frozen=True)
class SentResponse:
    method: str
    path: str
    route: str | None  # the OpenAPI path template that matched, None when none did
    status: int
    body: Any


@dataclass
class Fault:
    method: str
    path: str
    kind: Literal["error", "stall", "drop", "reshape", "run"]
    remaining: int
    status: int = 0
    code: str | int | None = None
    message: str | None = None
    seconds: float = 0.0
    change: Callable[[Any], Any] | None = None

    def matches(self, request: LoggedRequest) -> bool:
        return fnmatch.fnmatchcase(request.method, self.method.upper()) and fnmatch.fnmatchcase(
            request.path, self.path
        )


@dataclass(frozen=True)
class Latency:
    seconds: float
    jitter: float = 0.0
    method: str = "*"
    path: str = "*"

    def matches(self, request: LoggedRequest) -> bool:
        return fnmatch.fnmatchcase(request.method, self.method.upper()) and fnmatch.fnmatchcase(
            request.path, self.path
        )

    def draw(self) -> float:
        return max(0.0, self.seconds + random.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # as in the provider's OpenAPI document, e.g. /number_orders/{number_order_id}
    handler: Callable[..., Reply]
    public: bool = False  # the fakes' own control routes need no credentials

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = re.fullmatch(_template_regex(self.template), path)
        return found.groupdict() if found else None


def _template_regex(template: str) -> str:
    parts = re.split(r"\{(\w+)\}", template)
    return "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))


@dataclass(frozen=True)
class Stock:
    """A number the fake provider sells."""

    e164: str
    country: str
    kind: str  # local, mobile, toll_free
    locality: str | None = None
    region: str | None = None
    area_code: str | None = None

    @classmethod
    def unlisted(cls, e164: str) -> Stock:
        """A number from outside the stock list: one the account brought along."""
        return cls(e164, "US" if e164.startswith("+1") else "GB", "local")


# Fictional ranges that phonenumbers accepts (see providers/sandbox/adapter.py).
STOCK = (
    Stock("+14155550100", "US", "local", "San Francisco", "CA", "415"),
    Stock("+14155550101", "US", "local", "San Francisco", "CA", "415"),
    Stock("+14155550123", "US", "local", "San Francisco", "CA", "415"),
    Stock("+12125550142", "US", "local", "New York", "NY", "212"),
    Stock("+12125550143", "US", "local", "New York", "NY", "212"),
    Stock("+13125550111", "US", "local", "Chicago", "IL", "312"),
    Stock("+15125550177", "US", "local", "Austin", "TX", "512"),
    Stock("+18005550150", "US", "toll_free", None, None, "800"),
    Stock("+18885550151", "US", "toll_free", None, None, "888"),
    Stock("+442079460100", "GB", "local", "London", None, "20"),
    Stock("+442079460101", "GB", "local", "London", None, "20"),
    Stock("+441614960102", "GB", "local", "Manchester", None, "161"),
    Stock("+447400123403", "GB", "mobile", None, None, "7400"),
    Stock("+447400123404", "GB", "mobile", None, None, "7400"),
    Stock("+448081570105", "GB", "toll_free", None, None, "808"),
)


def digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeProviderServer:
    """Subclasses define routes, credentials and the provider's error format."""

    name: ClassVar[str]
    spec_name: ClassVar[str]  # the provider's documents in tests/fakes/spec.py

    def __init__(self) -> None:
        self.mode: Mode = "normal"
        self._error_turns: dict[tuple[str, str], int] = {}
        self.requests: list[LoggedRequest] = []
        self.responses: list[SentResponse] = []
        self.crashes: list[str] = []  # tracebacks of handler bugs, answered as 500
        self._faults: list[Fault] = []
        self.latency: Latency | None = None
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.routes: list[Route] = self.build_routes()

    # --- subclass hooks -------------------------------------------------------------------------
    def build_routes(self) -> list[Route]:
        raise NotImplementedError

    def authorized(self, request: LoggedRequest) -> bool:
        raise NotImplementedError

    def error(self, status: int, code: str | int | None = None, message: str | None = None) -> Reply:
        """An error in the provider's format; code and message default to the provider's usual ones."""
        raise NotImplementedError

    @property
    def credentials(self) -> dict[str, str]:
        raise NotImplementedError

    def documented_errors(self, route: Route) -> list[Reply]:
        """What the error mode answers for `route`, in turn: the spec's own error statuses and bodies."""
        from tests.fakes.spec import spec_for  # here: only the modes need the documents (and jsonschema)

        return spec_for(self.spec_name).error_answers(route.template, route.method)

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, port: int = 0) -> Self:
        self._httpd = _HTTPServer(("127.0.0.1", port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"fake-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes stalled handlers
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # --- faults ---------------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        *,
        code: str | int | None = None,
        message: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` matching requests with this error. `path` is a glob: "*/Calls.json"."""
        self._add_fault(Fault(method, path, "error", times, status=status, code=code, message=message))

    def stall_next(self, method: str, path: str, *, seconds: float = 2.0, times: int = 1) -> None:
        self._add_fault(Fault(method, path, "stall", times, seconds=seconds))

    def drop_next(self, method: str, path: str, *, times: int = 1) -> None:
        self._add_fault(Fault(method, path, "drop", times))

    def reshape_next(self, method: str, path: str, change: Callable[[Any], Any], *, times: int = 1) -> None:
        """Answer the next `times` matching requests with `change(body)` (given a copy of the usual body)."""
        self._add_fault(Fault(method, path, "reshape", times, change=change))

    def run_next(
        self, method: str, path: str, action: Callable[[LoggedRequest], Any], *, times: int = 1
    ) -> None:
        """Run `action(request)` when the next matching request arrives, then answer as usual: something
        else failing while the provider carries out the request (our database dropping its connection)."""
        self._add_fault(Fault(method, path, "run", times, change=action))

    def set_latency(self, seconds: float, *, jitter: float = 0.0, method: str = "*", path: str = "*") -> None:
        """Requests matching `method` and the glob `path` take `seconds` +- `jitter` (0 turns it off)."""
        if seconds and not 0 <= jitter <= seconds:
            raise ValueError("jitter must be between 0 and the latency")
        self.latency = Latency(seconds, jitter, method, path) if seconds else None

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, request: LoggedRequest) -> Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.matches(request):
                fault.remaining -= 1
                return fault
        return None

    # --- the log ----------------------------------------------------------------------------------
    def requests_to(self, method: str, path: str) -> list[LoggedRequest]:
        """Logged requests matching a method and a path glob, oldest first."""
        with self._lock:
            return [
                r for r in self.requests if r.method == method.upper() and fnmatch.fnmatchcase(r.path, path)
            ]

    # --- handling ---------------------------------------------------------------------------------
    def handle(self, http: BaseHTTPRequestHandler) -> None:
        request = _read_request(http)
        with self._lock:
            self.requests.append(request)
            fault = self._take_fault(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._handle(http, request, fault)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handle(self, http: BaseHTTPRequestHandler, request: LoggedRequest, fault: Fault | None) -> None:
        latency = self.latency
        delay = latency.draw() if latency is not None and latency.matches(request) else 0.0
        if delay:
            self._stopping.wait(delay / 2)  # on the way in: the provider sees the request later
        if fault is not None and fault.kind == "drop":
            http.close_connection = True
            return
        if fault is not None and fault.kind == "run":
            fault.change(request)
        route, params = self.route_for(request)
        served = route is not None and not route.public
        if fault is not None and fault.kind == "error":
            status, body = self.error(fault.status, fault.code, fault.message)
        elif self.mode == "error" and served:
            status, body = self._next_documented_error(route)
        else:
            status, body = self._answer(request, route, params)
            if fault is not None and fault.kind == "reshape":
                body = fault.change(copy.deepcopy(body))
            elif self.mode == "sparse" and served and 200 <= status < 300 and body is not None:
                from tests.fakes.spec import spec_for

                body = spec_for(self.spec_name).sparse(route.template, route.method, status, body)
        if fault is not None and fault.kind == "stall":
            self._stopping.wait(fault.seconds)
        if delay:
            self._stopping.wait(delay / 2)  # on the way back
        with self._lock:
            self.responses.append(
                SentResponse(request.method, request.path, route.template if route else None, status, body)
            )
        _write_json(http, status, body)

    def _next_documented_error(self, route: Route) -> Reply:
        answers = self.documented_errors(route)
        with self._lock:
            turn = self._error_turns.get((route.method, route.template), 0)
            self._error_turns[(route.method, route.template)] = turn + 1
        status, body = answers[turn % len(answers)]
        return status, copy.deepcopy(body)

    def route_for(self, request: LoggedRequest) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            params = route.match(request.method, request.path)
            if params is not None:
                return route, params
        return None, {}

    def _answer(self, request: LoggedRequest, route: Route | None, params: dict[str, str]) -> Reply:
        if not (route is not None and route.public) and not self.authorized(request):
            return self.error(401)
        if route is None:
            return self.error(404, message=f"The requested resource {request.path} was not found")
        try:
            with self._lock:
                return route.handler(request, **params)
        except Exception:
            self.crashes.append(traceback.format_exc())
            print(self.crashes[-1], file=sys.stderr)
            return self.error(500)


def _read_request(http: BaseHTTPRequestHandler) -> LoggedRequest:
    url = urlsplit(http.path)
    raw = http.rfile.read(int(http.headers.get("Content-Length") or 0))
    content_type = http.headers.get("Content-Type", "")
    lists: dict[str, list[str]] = {}
    if not raw:
        body = None
    elif "json" in content_type:
        body = json.loads(raw)
    else:
        pairs = parse_qsl(raw.decode(), keep_blank_values=True)
        body = dict(pairs)
        for name, value in pairs:
            lists.setdefault(name, []).append(value)
    return LoggedRequest(
        method=http.command,
        path=url.path,
        query=dict(parse_qsl(url.query, keep_blank_values=True)),
        body=body,
        headers=dict(http.headers.items()),
        at=time.time(),
        form_lists=lists,
    )


def _write_json(http: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    payload = b"" if body is None else json.dumps(body).encode()
    try:
        http.send_response(status)
        if payload:
            http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(payload)))
        http.end_headers()
        http.wfile.write(payload)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (a stalled answer): that was the point


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the providers' APIs: clients keep their connections warm

    def do_GET(self) -> None:
        self.server.fake.handle(self)

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is the record; keep test output clean


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: hundreds of new connections a second (a client per
    # dial) overflow it and the kernel drops SYNs, which costs the client a 1 s retransmit, not us.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], fake: FakeProviderServer):
        super().__init__(address, _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client reset its kept-alive connection (a dial that gave up does): not a fake's bug
        super().handle_error(request, client_address)


def serve_from_command_line(server: FakeProviderServer, argv: list[str] | None = None) -> None:
    """`python -m tests.fakes.<provider>_server --port N`: run until Ctrl-C, for a dashboard to talk to."""
    parser = argparse.ArgumentParser(description=f"A fake {server.name} API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every answer takes")
    parser.add_argument("--jitter", type=float, default=0.0, help="+- seconds, uniform, around --latency")
    args = parser.parse_args(argv)
    server.set_latency(args.latency, jitter=args.jitter)
    server.start(args.port)
    print(f"Fake {server.name} at {server.base_url}", flush=True)
    print(f"credentials: {json.dumps(server.credentials)}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
