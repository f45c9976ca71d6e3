"""The JSON API beside the HTML page it mirrors, at 100,000 numbers, in one run through one gunicorn.

    python bench/api.py

Seeds as bench/numbers_page.py does (the same data; DATABASE_URL's database, created if missing), adds
API keys of known secrets, and serves this checkout with gunicorn (one sync worker, DEBUG=false). Every
round makes each request once, API and page in alternating order, so a noisy moment slows both alike.
Reads: the Numbers page (a signed-in session) against GET /api/v1/numbers with the same filters and 50
rows. Writes: the Edit modal's POST (htmx, 204) against PATCH /api/v1/numbers/<id>, each setting the
number's tags, on two numbers so neither waits on the other's version. Prints each request's rate
(requests/s from the median) and the ratio API / page. Targets (issue 15): reads at least 0.5 of the
page's rate, writes within 20 % of the page's.
"""

import argparse
import hashlib
import json
import os
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from checkouts import Server

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("BENCH_CODE", str(HERE)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dialtone_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")

import numbers_page  # noqa: E402 - after the paths and settings it reads

RUNS = 100
WARMUP = 10
# The per-key limit (600 a minute) is part of what is measured, so the rounds spread over several keys.
SECRETS = [f"dtk_bench-{i:02d}-{'x' * 30}" for i in range(8)]
READS = [  # label, page query, API query
    ("first page", "", ""),
    ("search: (310) 555", "?q=(310)+555", "?q=(310)+555"),
    ("search many: 415 555", "?q=415+555", "?q=415+555"),
    ("two-tag filter", "?tag=tag-3&tag=tag-21", "?tag=tag-3&tag=tag-21"),
]


def prepare():
    numbers_page.prepare()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenants_workspace WHERE slug = 'bench-main'")
        workspace_id = cursor.fetchone()[0]
        for secret in SECRETS:
            cursor.execute(
                "INSERT INTO tenants_apikey (workspace_id, name, role, prefix, key_hash, created_by_id, created_at) "
                "SELECT %s, 'bench', 'owner', %s, %s, (SELECT id FROM auth_user WHERE username = %s), now() "
                "ON CONFLICT (key_hash) DO NOTHING",
                [workspace_id, secret[:10], hashlib.sha256(secret.encode()).hexdigest(), numbers_page.USER],
            )


class Client:
    def __init__(self, server: Server):
        self.server, self.turn = server, 0

    def api(self, method, path, body=None) -> tuple[float, dict]:
        self.turn += 1
        headers = {"Authorization": f"Bearer {SECRETS[self.turn % len(SECRETS)]}"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        request = urllib.request.Request(self.server.url + path, data=data, headers=headers, method=method)
        started = time.perf_counter()
        with urllib.request.urlopen(request) as response:  # a fresh connection, as the page's opener makes
            payload = response.read()
        return (time.perf_counter() - started) * 1000, json.loads(payload)


def csrf_token(server: Server) -> str:
    for handler in server.opener.handlers:
        jar = getattr(handler, "cookiejar", None)
        if jar is not None:
            return next(c.value for c in jar if c.name == "csrftoken")
    raise SystemExit("no CSRF cookie")


def page_edit(server: Server, number_id: int, version: int, environment_id: int, tags, csrf) -> float:
    form = [
        ("version", version),
        ("environment", environment_id),
        ("inbound_agent", ""),
        ("inbound_variant", ""),
    ]
    form += [("tags", t) for t in tags]
    request = urllib.request.Request(
        f"{server.url}/w/bench-main/numbers/{number_id}/edit/",
        data=urllib.parse.urlencode(form).encode(),
        headers={"HX-Request": "true", "X-CSRFToken": csrf},
    )
    started = time.perf_counter()
    with server.opener.open(request) as response:
        response.read()
        assert response.status == 204, response.status
    return (time.perf_counter() - started) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        return prepare()
    served = {"script": __file__, "credentials": (numbers_page.USER, numbers_page.PASSWORD)}
    server = Server("this", HERE, os.environ["DATABASE_URL"], 8933, **served)
    timings: dict[str, list[float]] = {}
    try:
        client, csrf = Client(server), csrf_token(server)
        # Two numbers, one per writer, each written with its current version.
        first = client.api("GET", "/api/v1/numbers?limit=2")[1]["results"]
        page_number, api_number = (client.api("GET", f"/api/v1/numbers/{n['id']}")[1] for n in first)
        environment_id = _environment_id(server, page_number["id"])
        versions = {"page": page_number["version"], "api": api_number["version"]}

        def read(label, page_query, api_query):
            return [
                ("page " + label, lambda q=page_query: server.get(f"/w/bench-main/numbers/{q}", False)[0]),
                ("api " + label, lambda q=api_query: client.api("GET", f"/api/v1/numbers{q}")[0]),
            ]

        def page_write():
            tags = ["tag-1", f"tag-{versions['page'] % 50}"]
            took = page_edit(server, page_number["id"], versions["page"], environment_id, tags, csrf)
            versions["page"] += 1
            return took

        def api_write():
            tags = ["tag-1", f"tag-{versions['api'] % 50}"]
            took, body = client.api(
                "PATCH", f"/api/v1/numbers/{api_number['id']}", {"version": versions["api"], "tags": tags}
            )
            versions["api"] = body["version"]
            return took

        pairs = [pair for r in READS for pair in [read(*r)]] + [
            [("page edit", page_write), ("api edit", api_write)]
        ]
        for pair in pairs:
            for _ in range(WARMUP):
                for _, call in pair:
                    call()
        for round_ in range(RUNS):
            for pair in pairs:
                for label, call in pair if round_ % 2 == 0 else pair[::-1]:
                    timings.setdefault(label, []).append(call())
    finally:
        server.stop()
    print(f"\n{numbers_page.MAIN:,} numbers in the workspace; {RUNS} rounds, one gunicorn sync worker\n")
    print(f"{'request':28} {'page p50':>9} {'api p50':>9} {'page /s':>8} {'api /s':>8} {'api/page':>9}")
    for label in [r[0] for r in READS] + ["edit"]:
        page, api = statistics.median(timings["page " + label]), statistics.median(timings["api " + label])
        print(f"{label:28} {page:9.1f} {api:9.1f} {1000 / page:8.0f} {1000 / api:8.0f} {page / api:9.2f}")
    print("\napi/page: the API's rate over the page's. Targets: reads >= 0.5; writes (edit) >= 0.8")


def _environment_id(server: Server, number_id: int) -> int:
    page = server.get(f"/w/bench-main/numbers/{number_id}/edit/", False)[1]
    return int(re.search(r'<option value="(\d+)"[^>]*selected', page).group(1))


if __name__ == "__main__":
    main()
