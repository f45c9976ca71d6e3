"""Every page a person opens, and every modal, on the demo data: this checkout against another, in turns.

    git worktree add /tmp/numbers-base <commit>
    python bench/pages.py --against /tmp/numbers-base     # DATABASE_URL defaults to .../dialtone_pages

Each checkout gets its own database (DATABASE_URL's name for this one, that name + "_baseline" for the
other), dropped and created again each run, migrated by that checkout's code and seeded by that
checkout's `manage.py seed_demo`; so each serves its own demo (they differ where the demo changed). Each
is served by its own gunicorn (one sync worker, DEBUG=false; bench/checkouts.py, as in
bench/numbers_page.py), signed in as the demo user. Paths with ids are read from each server's own pages:
the number +1 415 555 0101's row on the Numbers page (its history page, Edit, Detach, Delete), the demo
campaign's link on the Campaigns page, each modal's link on the page that opens it. A modal is asked for as
htmx asks (HX-Request, HX-Target: modal-body, HX-Current-URL), so its fragment is timed. Every page once
per round, the two servers in alternating order, so a noisy moment slows both alike; then each page once
more with its SQL queries counted by the server (bench/counting_wsgi.py wraps each checkout's own WSGI
application; no app code changes). A page the other checkout doesn't have (a 404, or no link to it) is
measured for this one only. Prints p50/p95 per page and server, the ratios this / other, and the queries.

Figures against 4277b54 (before the session that changed these pages: mobile navigation, refusal pages,
members on Settings, buy prices, the per-call log, history in words, tag pickers, modal mechanics), 100
rounds, on 2 cores (1-minute load average before-after in brackets; the bench itself makes ~1 of it).
The old demo has 8 numbers, the new one 10 (two on a managed account) and a second user. The New number
modal opens on the sandbox account's inventory (19 numbers old, 20 priced ones new). ms old/new, ratio:

  p50                         run 1 [1.20-2.12]  run 2 [1.14-1.99]  run 3 [0.04-1.12]  queries
  Numbers                      15.0/17.3  1.15   17.1/20.7  1.21   14.7/17.3  1.17  12/13
  Numbers: digit search        14.5/16.0  1.10   16.8/17.7  1.05   14.7/15.5  1.06  12/11
  Numbers: tag filter          13.4/16.5  1.23   15.3/19.3  1.26   13.2/16.2  1.23  10/11
  Number history               10.1/10.3  1.03   11.2/11.9  1.06    9.9/10.1  1.02   5/5
  Campaigns                      9.4/9.0  0.96   11.1/10.9  0.99     9.0/8.9  0.99   4/4
  Campaign page                17.1/18.9  1.11   20.8/22.6  1.09   16.9/18.6  1.11  12/14
  Campaign: calls CSV              -/8.6     -      -/10.4     -       -/8.3     -   -/3
  Agents                       11.7/11.3  0.97   13.1/13.0  0.99   11.4/11.1  0.97   8/8
  Providers                     9.5/11.3  1.19   11.0/12.5  1.14    9.5/10.9  1.15   6/7
  Settings                      8.9/10.3  1.15   10.7/12.2  1.15    8.8/10.1  1.14   6/7
  Activity                     13.8/14.5  1.05   15.7/15.5  0.99   13.5/14.0  1.04   6/6
  Workspaces                     5.6/5.6  1.00     6.6/6.5  0.99     5.5/5.3  0.98   2/2
  modal: New number            17.7/21.2  1.20   20.5/23.7  1.15   17.4/20.6  1.18  14/15
  modal: Link existing         15.8/19.1  1.21   19.0/22.5  1.18   16.0/18.5  1.16  14/15
  modal: Edit                  16.6/18.2  1.09   20.6/20.9  1.02   16.6/18.0  1.08  12/12
  modal: Detach                  6.7/7.6  1.13     7.8/8.9  1.14     6.6/7.2  1.09   3/3
  modal: Delete                  7.2/7.4  1.04     8.7/8.9  1.02     6.9/7.0  1.02   3/3
  modal: Call pacing             8.1/8.5  1.04     9.6/9.7  1.01     7.9/8.2  1.03   6/6
  modal: New agent               6.4/6.1  0.96     7.9/7.5  0.94     5.9/5.8  0.99   2/2
  modal: New campaign          11.2/13.2  1.17   13.5/15.8  1.17   11.2/12.9  1.15   6/7
  modal: Connect account         6.2/6.5  1.04     7.2/7.6  1.06     6.2/6.3  1.02   2/2

  p95                         run 1              run 2              run 3
  Numbers                      26.9/26.6  0.99   27.1/29.7  1.10   21.0/24.3  1.16
  Numbers: digit search        25.1/28.4  1.13   26.2/27.7  1.05   20.3/21.4  1.05
  Numbers: tag filter          20.5/27.4  1.33   23.5/29.0  1.24   18.4/22.4  1.22
  Number history               16.3/19.5  1.20   18.5/17.7  0.96   14.5/13.9  0.96
  Campaigns                    14.9/15.3  1.03   16.6/16.7  1.01   13.2/12.6  0.95
  Campaign page                30.0/33.2  1.11   31.4/35.0  1.11   24.5/27.5  1.13
  Campaign: calls CSV             -/14.0     -      -/16.5     -      -/11.7     -
  Agents                       17.1/19.1  1.11   21.3/19.8  0.93   16.5/16.1  0.98
  Providers                    15.5/18.4  1.19   17.5/19.4  1.10   13.9/15.6  1.12
  Settings                     14.3/16.2  1.13   17.0/18.6  1.10   12.7/14.3  1.13
  Activity                     20.8/23.1  1.11   24.7/25.0  1.01   21.6/20.3  0.94
  Workspaces                     8.8/8.5  0.96     9.7/9.0  0.93     7.0/8.5  1.22
  modal: New number            29.8/38.1  1.28   32.0/37.5  1.17   26.4/32.6  1.23
  modal: Link existing         23.2/30.1  1.30   28.3/34.2  1.21   22.7/26.4  1.16
  modal: Edit                  22.7/30.1  1.32   30.8/34.1  1.10   23.0/24.5  1.06
  modal: Detach                10.6/12.3  1.16   11.5/14.9  1.30    9.1/10.6  1.17
  modal: Delete                10.4/11.1  1.08   12.1/12.4  1.03    9.5/10.9  1.14
  modal: Call pacing           13.0/13.1  1.01   14.3/15.2  1.06   10.7/11.9  1.11
  modal: New agent              11.2/9.0  0.80   11.7/10.2  0.86     8.8/8.6  0.98
  modal: New campaign          16.0/20.7  1.29   20.5/23.2  1.13   15.1/18.9  1.25
  modal: Connect account         9.6/9.7  1.01   11.3/11.6  1.03     8.1/8.4  1.03

No page is 1.3x slower at p50. Pages that share only the new layout (Agents, Campaigns, Workspaces)
time as before, so the layout's mobile navigation costs nothing measurable. The 1.15-1.26x pages each do
something new: a tag picker (Numbers and its filters, New number, Link existing, New campaign) reads the
tags in use, ~1.5 ms in process against ~0.5 ms for the list of all tags it replaced (about half of it
the ORM building two EXISTS subqueries); Settings reads the open invitations and Providers counts the
managed numbers (one query each); the New number modal writes a price and two lines per offered number
(1.7x the bytes); the campaign page renders its call log (2.7x the bytes).
"""

import argparse
import html
import os
import re
import statistics
import sys
import urllib.error
from pathlib import Path

from checkouts import Server, ensure_database

HERE = Path(__file__).resolve().parent.parent
# --prepare runs inside a checkout's code (BENCH_CODE), so each database is migrated by its own code.
sys.path.insert(0, os.environ.get("BENCH_CODE", str(HERE)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dialtone_pages")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")

RUNS = 100
WARMUP = 10
USER, PASSWORD = "demo", "dialtone-demo"  # seed_demo's login
WORKSPACE = "/w/acme-health/"
NUMBER = "4155550101"  # the demo number whose history page and modals are timed
QUERIES_HEADER = "X-Bench-Queries"  # bench/counting_wsgi.py's (importing it would set Django up here)

# label, path in the workspace ("/..." outside it)
PAGES = [
    ("Numbers", "numbers/"),
    ("Numbers: digit search", "numbers/?q=415+555"),
    ("Numbers: tag filter", "numbers/?tag=sales-us"),
    ("Number history", None),  # the number's row links to it
    ("Campaigns", "campaigns/"),
    ("Campaign page", None),  # the Campaigns page links to it
    ("Campaign: calls CSV", None),  # the campaign page links to it (new in the per-call log)
    ("Agents", "agents/"),
    ("Providers", "providers/"),
    ("Settings", "settings/"),
    ("Activity", "settings/activity/"),
    ("Workspaces", "/workspaces/"),
]
# modal, the page whose link opens it ("row": the number's row on the Numbers page), the link's words
MODALS = [
    ("New number", "numbers/", "New number"),
    ("Link existing", "numbers/", "Link existing"),
    ("Edit", "row", "Edit"),
    ("Detach", "row", "Detach"),
    ("Delete", "row", "Delete"),
    ("Call pacing", "numbers/", "Call pacing"),
    ("New agent", "agents/", "New agent"),
    ("New campaign", "campaigns/", "New campaign"),
    ("Connect account", "providers/", "Connect account"),
]
LABELS = [label for label, _ in PAGES] + [f"modal: {label}" for label, _, _ in MODALS]


def prepare():
    """A fresh database for this process's DATABASE_URL, migrated by BENCH_CODE's code and seeded by its
    own seed_demo."""
    ensure_database(os.environ["DATABASE_URL"], fresh=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo")


def path_of(page):
    return page if page.startswith("/") else WORKSPACE + page


def links(page: str) -> dict[str, tuple[str, str]]:
    """A page's links by their words (tags stripped, hidden words included): (href, hx-target)."""
    found = {}
    for attributes, inside in re.findall(r"<a\b([^>]*)>(.*?)</a>", page, re.S):
        href = re.search(r'\bhref="([^"]*)"', attributes)
        target = re.search(r'\bhx-target="([^"]*)"', attributes)
        words = " ".join(html.unescape(re.sub(r"<[^>]+>", "", inside)).split())
        if href:
            found.setdefault(words, (html.unescape(href.group(1)), target.group(1) if target else ""))
    return found


def number_row(page: str) -> str:
    """The Numbers page's row of NUMBER (whatever format it is shown in)."""
    for row in re.findall(r"<tr\b.*?</tr>", page, re.S):
        shown = re.search(r'class="number">(.*?)</span>', row, re.S)
        if shown and re.sub(r"\D", "", shown.group(1)).endswith(NUMBER):
            return row
    raise SystemExit(f"no row for {NUMBER} on the Numbers page")


def scenarios(server, *, complete) -> dict[str, tuple[str, dict]]:
    """label -> (path, headers) of what this server has, its ids read from its own pages. `complete`: it
    must have every page (this checkout's)."""
    found = {}
    for label, page in PAGES:
        if page:
            found[label] = (path_of(page), {})
    numbers = server.get(path_of("numbers/"), False)[1]
    row = links(number_row(numbers))
    history = next((href for href, _ in row.values() if re.search(r"/numbers/\d+/$", href)), None)
    if history:
        found["Number history"] = (history, {})
    campaign = re.search(
        rf'href="({re.escape(WORKSPACE)}campaigns/\d+/)"', server.get(path_of("campaigns/"), False)[1]
    )
    if campaign:
        found["Campaign page"] = (campaign.group(1), {})
        export = re.search(r'href="([^"]*/calls\.csv)"', server.get(campaign.group(1), False)[1])
        if export:
            found["Campaign: calls CSV"] = (html.unescape(export.group(1)), {})
    pages = {"row": (path_of("numbers/"), row)}
    for label, page, words in MODALS:
        if page not in pages:
            pages[page] = (path_of(page), links(server.get(path_of(page), False)[1]))
        opened_from, page_links = pages[page]
        href, target = page_links.get(words, (None, None))
        if href and target == "#modal-body":
            headers = {
                "HX-Request": "true",
                "HX-Target": "modal-body",
                "HX-Current-URL": server.url + opened_from,
            }
            found[f"modal: {label}"] = (href, headers)
    for label, (path, headers) in list(found.items()):
        try:
            body = server.fetch(path, headers)[2]
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
            del found[label]
            continue
        if headers and "<html" in body:
            raise SystemExit(f"{server.name}: {label} answered a whole page to htmx")
    missing = [label for label in LABELS if label not in found]
    if complete and missing:
        raise SystemExit(f"{server.name}: no {', '.join(missing)}")
    return found


def measure(servers, runs):
    """Timings by (server, label), queries by (server, label), and each server's paths by label."""
    paths = {server.name: scenarios(server, complete=server.name == "new") for server in servers}
    timings = {(s.name, label): [] for s in servers for label in LABELS if label in paths[s.name]}
    for server in servers:
        for label in LABELS:
            if label in paths[server.name]:
                for _ in range(WARMUP):
                    server.fetch(*paths[server.name][label])
    for round_ in range(runs):
        for label in LABELS:
            for server in servers if round_ % 2 == 0 else servers[::-1]:
                if label in paths[server.name]:
                    timings[server.name, label].append(server.fetch(*paths[server.name][label])[0])
    queries = {}
    for server in servers:
        for label, (path, headers) in paths[server.name].items():
            response = server.fetch(path, {**headers, QUERIES_HEADER: "1"})[1]
            queries[server.name, label] = response.headers[QUERIES_HEADER]
    return timings, queries, paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", type=Path, help="a checkout of the older code to serve beside this one")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"rounds (default {RUNS})")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        return prepare()
    database = os.environ["DATABASE_URL"]
    served = {"script": __file__, "credentials": (USER, PASSWORD), "app": "counting_wsgi:application"}
    load_before = os.getloadavg()
    servers = [Server("new", HERE, database, 8941, **served)]
    try:
        if args.against:
            servers.insert(0, Server("old", args.against.resolve(), database + "_baseline", 8942, **served))
        timings, queries, paths = measure(servers, args.runs)
    finally:
        for server in servers:
            server.stop()
    load = f"load average {' '.join(f'{x:.2f}' for x in load_before)} before, "
    load += f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after"
    p50 = {key: statistics.median(values) for key, values in timings.items()}
    p95 = {key: statistics.quantiles(values, n=20)[18] for key, values in timings.items()}
    names = [server.name for server in servers]
    print(f"\n{args.runs} rounds; {load}")
    for name in names:
        ids = ("Number history", "Campaign page", "Campaign: calls CSV")
        print(
            f"{name}: "
            + ", ".join(f"{label} {paths[name][label][0]}" for label in ids if label in paths[name])
        )
    print()
    header = (
        f"{'page':26}"
        + "".join(f" {n + ' p50':>8}" for n in names)
        + "".join(f" {n + ' p95':>8}" for n in names)
    )
    if len(names) == 2:
        header += f" {'p50 ratio':>9} {'p95 ratio':>9}"
    print(header + f" {'queries ' + '/'.join(names):>17}")
    for label in LABELS:
        has = [n for n in names if (n, label) in timings]
        line = f"{label:26}"
        for figures in (p50, p95):
            line += "".join(f" {figures[n, label]:8.1f}" if n in has else f" {'-':>8}" for n in names)
        if len(names) == 2:
            for figures in (p50, p95):
                ratio = figures["new", label] / figures["old", label] if len(has) == 2 else None
                line += f" {ratio:9.2f}" if ratio else f" {'-':>9}"
        print(line + f" {'/'.join(queries.get((n, label), '-') for n in names):>17}")
    print(
        "\nms over HTTP to the last byte; ratio: new / old (above 1: slower); - : that checkout has no such page"
    )


if __name__ == "__main__":
    main()
