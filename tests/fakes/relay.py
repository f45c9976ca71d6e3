"""A TCP relay in front of a fake provider that holds a share of the requests, as a slow network does.

Delays of a second or three on a network are retransmissions (a lost SYN or segment sent again by the
sender's kernel), so the relay keeps the sender's semantics: a client that resets its connection while a
request is held loses it (its retransmissions die with the socket), one that only closes it still gets it
delivered (the kernel keeps sending after close()).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

_METHODS = (b"GET ", b"POST ", b"PUT ", b"PATCH ", b"DELETE ")


class DelayingRelay:
    def __init__(self, upstream: tuple[str, int], delay_of: Callable[[int], float]):
        """delay_of(n): seconds to hold the n-th request (1-based, counted over every connection)."""
        self.upstream, self.delay_of = upstream, delay_of
        self.connections = 0
        self.requests = 0
        self.dropped = 0  # held requests whose client reset the connection: never delivered
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopping = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> DelayingRelay:
        threading.Thread(target=self._accept, daemon=True, name="relay").start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._to_server, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()

    def _to_server(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while chunk := client.recv(65536):
                if chunk.startswith(_METHODS):
                    with self._lock:
                        self.requests += 1
                        delay = self.delay_of(self.requests)
                    if delay:
                        self._stopping.wait(delay)
                        more, reset = _read_waiting(client)
                        if reset:
                            with self._lock:
                                self.dropped += 1
                            return
                        chunk += more
                server.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(server)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(sink)


def _read_waiting(sock: socket.socket) -> tuple[bytes, bool]:
    """What the client sent meanwhile, and whether it then reset the connection (data received before a
    reset is still read first, so read it all to know)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return data, False  # still open
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, False  # an orderly close: what was sent is delivered
        data += chunk


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def every(*shares: tuple[int, float]) -> Callable[[int], float]:
    """delay_of from (period, seconds) pairs: the n-th request waits the seconds of the first period dividing n."""

    def delay_of(n: int) -> float:
        return next((seconds for period, seconds in shares if n % period == 0), 0.0)

    return delay_of
