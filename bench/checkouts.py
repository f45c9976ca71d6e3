"""Serving checkouts side by side for the benchmarks that compare two versions of the code over HTTP
(bench/numbers_page.py, bench/pages.py): a database per checkout and a gunicorn per checkout."""

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def ensure_database(url, *, fresh=False):
    """Create the database named by `url` when it is missing (`fresh`: drop it first)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


class Server:
    """One checkout served by gunicorn on its own database, with a signed-in session.

    `script --prepare` runs first in the checkout (working directory `code`, BENCH_CODE=code): it migrates
    the database with that checkout's code and seeds it. Then gunicorn serves `app` (one sync worker, as in
    docker-compose.yml, DEBUG=false) and `credentials` sign in. An `app` other than the checkout's own
    config.wsgi is looked up in bench/ after the checkout's code.
    """

    def __init__(self, name, code, database_url, port, *, script, credentials, app="config.wsgi:application"):
        self.name, self.url = name, f"http://127.0.0.1:{port}"
        env = {**os.environ, "DATABASE_URL": database_url, "BENCH_CODE": str(code), "DEBUG": "false"}
        # In the checkout: Celery's Django fixup puts the working directory first on sys.path.
        subprocess.run([sys.executable, str(script), "--prepare"], env=env, cwd=code, check=True)
        # gunicorn puts each path first in turn: the last listed is searched first.
        pythonpath = str(code) if app.startswith("config.") else f"{BENCH},{code}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", app, "--chdir", str(code),
             "--pythonpath", pythonpath, "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--log-level", "warning"],
            env=env,
            cwd=code,
        )  # fmt: skip
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self._sign_in(*credentials)

    def _sign_in(self, username, password):
        for _ in range(100):
            try:
                page = self.opener.open(f"{self.url}/login/").read().decode()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"{self.name}: gunicorn did not answer")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/admin/"}
        self.opener.open(f"{self.url}/login/", urllib.parse.urlencode(form).encode()).read()

    def get(self, path, htmx) -> tuple[float, str]:
        """Milliseconds to the last byte, and the body."""
        milliseconds, response, body = self.fetch(path, {"HX-Request": "true"} if htmx else {})
        return milliseconds, body

    def fetch(self, path, headers):
        """Milliseconds to the last byte, the response (its status and headers) and the body. An answer
        other than 2xx or 3xx raises urllib.error.HTTPError."""
        started = time.perf_counter()
        with self.opener.open(urllib.request.Request(self.url + path, headers=headers)) as response:
            body = response.read().decode()
        return (time.perf_counter() - started) * 1000, response, body

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
