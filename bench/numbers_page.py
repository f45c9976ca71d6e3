"""Numbers page server time at 100,000 numbers, side by side with a baseline measured in the same run.

    python bench/numbers_page.py                          # this checkout, and Django admin's changelist
    git worktree add /tmp/numbers-base <commit>
    python bench/numbers_page.py --against /tmp/numbers-base   # this checkout and that one, in turns
    python bench/numbers_page.py --numbers 1000000             # a workspace of a million (issue 15)

Each checkout gets its own database (DATABASE_URL's name for this one, that name + "_baseline" for the
other; created if missing), migrated by its own code and seeded identically by this script, and its own
gunicorn (one sync worker, as in docker-compose.yml). Requests go over HTTP, every scenario once per
round and the two servers in alternating order, so a noisy moment slows both alike. Prints p50/p95 per
scenario and server, the numbers each search matches, and the ratio of this checkout's p95 to the
baseline's (or to the admin changelist's).

The data is shaped like real workspaces, which is what made a search slow: one workspace of 100,000
numbers (US area codes, one London block, 2,000 released ones) beside ten of 10,000 whose numbers
cluster in blocks. A search matching 20 of the workspace's numbers matches 10,000 of another's, so
PostgreSQL's table-wide statistics expect many matches in this workspace too. Searches matching few,
some and many numbers, a national format, a tag filter and an htmx fragment are measured.

Figures against 4277b54 (the search before the trigram reading), on 2 cores shared with seven other test
suites (load average in brackets); p95 ms this / baseline, and the ratio:

  scenario (matches)        run 1 [9-12]     run 2 [4-6]      run 3 [5-8]      run 4 [3-4]
  first page                243/186  1.31    64/53   1.21     56/54   1.03     42/30   1.39
  few: (310) 555 (20)       248/738  0.34    56/207  0.27     50/205  0.25     40/136  0.29
  some: (737) 201 (300)     192/238  0.81    58/110  0.53     54/128  0.42     32/56   0.58
  many: 415 555 (5,000)     239/257  0.93    74/59   1.25     84/66   1.27     57/56   1.03
  national: 020 7946 (10k)  320/243  -       104/52  -        154/44  -        80/37   -
  few, htmx fragment        120/501  0.24    38/178  0.21     41/213  0.19     35/136  0.26
  two-tag filter (2,000)    186/188  0.99    66/57   1.17     74/58   1.27     44/46   0.95
  p50, run 4: first 22/17, few 20/75, some 22/42, many 31/28, national 50/19, htmx 17/71, tags 26/21.
The baseline finds nothing for the national format. Runs 1 and 2 predate two changes (the held-number
index for the tag pickers, no planner reset outside a transaction). Every full page now reads the tags
in use for its tag select (~2 ms here: 2,000 released numbers carry a tag no held number does); a search
with many matches first reads 1,001 of them through the trigram index (~3 ms) before walking the
page-order index; 10,000 matches at the end of each environment's order (the London block) make that
walk the longest.

Issues 14 and 15 (branch pagespeed; this script with the admin changelist, 2 shared cores), p50/p95 ms:

  scenario (100k: matches)   100,000 [load 1.9-2.9]   1,000,000 [load 1.9-3.8]   before, 1M p95 (brief)
  first page                 21.7/26.0                22.5/25.8                  130
  few: (310) 555 (20)        17.1/23.9                19.8/22.5                  115
  some: (737) 201 (300)      18.7/24.2                22.2/23.0                  141
  many: 415 555 (5,000)      25.1/26.4                30.4/33.4                  499
  national: 020 7946 (10k)   23.9/27.0                26.8/30.0                  1,759
  few, htmx fragment         13.5/15.9                16.3/17.7                  -
  two-tag filter (2k; 20k)   24.2/27.0                35.9/39.8                  343
  health filter: at risk     17.8/20.2                19.7/22.2                  117
  admin changelist           286.7/324.5              1,260.6/1,294.5            5,697
Every scenario's p95 is 0.05-0.08 of the admin's at 100,000 and 0.01-0.03 at a million. National readings
are ranges of the page-order index (no 100-code regex over 10,000 rows); numbers containing the digits are
gathered through the trigram index up to 10,000 (5,000 clustered late in the order made the walk read
~450,000 index entries); a tag filter stops reading its index once every environment has more than the
count cap. In-process (Django's test client, warm), a million: first page ~20 ms, of which SQL ~4 ms.
"""

import argparse
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

from checkouts import Server, ensure_database  # campaign_page.py takes ensure_database from here

HERE = Path(__file__).resolve().parent.parent
# --prepare runs inside a checkout's code (BENCH_CODE), so each database is migrated by its own code.
sys.path.insert(0, os.environ.get("BENCH_CODE", str(HERE)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dialtone_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")

MAIN = int(os.environ.get("BENCH_NUMBERS", "100000"))  # --numbers (the --prepare subprocess reads it here)
RELEASED = 2_000
OTHERS = 10
PER_OTHER = 10_000
TAGS = 50
RUNS = 100
WARMUP = 10
USER, PASSWORD = "bench", "bench-password-123"

# Blocks of the main workspace and of two others (e164 prefix -> lines): a search for "(310) 555" matches
# 20 numbers of the main workspace and 9,980 of the first other.
MAIN_BLOCKS = {"+1310555": range(100, 120), "+1737201": range(300), "+1415555": range(5_000)}
LONDON = "+44207946"  # 10,000 numbers: +44 20 7946 0000-9999
OTHER_BLOCKS = {0: "+1310555", 1: "+1737201"}
MAIN_AREAS = ("212", "512", "628", "917", "646", "332")
OTHER_AREAS = ("213", "305", "206", "312", "404", "702")
SEARCHED = ("310555", "737201", "415555", "2079460")  # random numbers never contain these

SCENARIOS = [  # label, path, htmx
    ("first page", "/w/bench-main/numbers/", False),
    ("search few: (310) 555", "/w/bench-main/numbers/?q=(310)+555", False),
    ("search some: (737) 201", "/w/bench-main/numbers/?q=(737)+201", False),
    ("search many: 415 555", "/w/bench-main/numbers/?q=415+555", False),
    ("search national: 020 7946", "/w/bench-main/numbers/?q=020+7946", False),
    ("search few, htmx fragment", "/w/bench-main/numbers/?q=(310)+555", True),
    ("two-tag filter", "/w/bench-main/numbers/?tag=tag-3&tag=tag-21", False),
    # Number health (issue 14): 1 in 997 numbers at risk (~100), 1 in 101 watched (~1,000).
    ("health filter: at risk", "/w/bench-main/numbers/?health=at_risk", False),
]
ADMIN = ("admin changelist: 310555", "/admin/phone_numbers/phonenumber/?q=310555", False)


def random_numbers(rnd, areas, count, taken):
    found = []
    while len(found) < count:
        e164 = f"+1{rnd.choice(areas)}{rnd.randrange(200, 1000)}{rnd.randrange(10_000):04d}"
        if e164 not in taken and not any(s in e164 for s in SEARCHED):
            taken.add(e164)
            found.append(e164)
    return found


def numbers_to_seed():
    """workspace index -> (held numbers, released numbers); 0 is the main workspace. Deterministic."""
    rnd = random.Random(7)
    main = [f"{p}{line:04d}" for p, lines in MAIN_BLOCKS.items() for line in lines]
    main += [f"{LONDON}{line:04d}" for line in range(10_000)]
    others = {
        i: [f"{p}{line:04d}" for line in range(10_000) if f"{p}{line:04d}" not in main]
        for i, p in OTHER_BLOCKS.items()
    }
    taken = set(main) | {n for numbers in others.values() for n in numbers}
    main += random_numbers(rnd, MAIN_AREAS, MAIN - len(main), taken)
    seeded = {0: (main, random_numbers(rnd, MAIN_AREAS, RELEASED, taken))}
    for i in range(OTHERS):
        held = others.get(i, [])
        seeded[i + 1] = (held + random_numbers(rnd, OTHER_AREAS, PER_OTHER - len(held), taken), [])
    return seeded


def prepare():
    """Migrate this process's database with BENCH_CODE's code, then seed it once."""
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    seed()


def seed():
    from django.contrib.auth import get_user_model
    from django.db import connection

    from tenants.models import Plan, Workspace
    from tenants.scope import all_workspaces
    from tenants.services import workspace_create

    with all_workspaces():
        if Workspace.objects.filter(slug="bench-main").exists():
            return
        user = get_user_model().objects.create_superuser(USER, password=PASSWORD)
        plan = Plan.objects.create(name="Bench", managed_number_limit=0)
        workspaces = [workspace_create(name="Bench main", slug="bench-main", plan=plan, owner=user)] + [
            workspace_create(name=f"Other {i}", slug=f"bench-other-{i}", plan=plan, owner=user)
            for i in range(OTHERS)
        ]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for workspace, (held, released) in zip(workspaces, numbers_to_seed().values(), strict=True):
            cursor.execute(
                "INSERT INTO providers_providerconnection (workspace_id, provider, label, credentials, state, "
                "last_error, created_at) VALUES (%s, 'sandbox', 'Sandbox', '', 'verified', '', now()) RETURNING id",
                [workspace.id],
            )
            connection_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO phone_numbers_tag (workspace_id, name, created_at) "
                "SELECT %s, 'tag-' || g, now() FROM generate_series(0, %s) g UNION ALL SELECT %s, 'retired', now()",
                [workspace.id, TAGS - 1, workspace.id],
            )
            # Ordered sandbox, pre-release, live: env_rank 2, 1, 0 below.
            cursor.execute(
                "SELECT id FROM tenants_environment WHERE workspace_id = %s "
                "ORDER BY array_position(ARRAY['sandbox', 'pre_release', 'live'], kind)",
                [workspace.id],
            )
            env_ids = [row[0] for row in cursor.fetchall()]
            states = ["active"] * len(held) + ["released"] * len(released)
            # provider_ref carries the number's index i for the tag links below.
            cursor.execute(
                """INSERT INTO phone_numbers_phonenumber
                   (workspace_id, e164, environment_id, connection_id, provider_ref, state, created_at, updated_at,
                    version, env_rank, health, health_reason, flagged, flag_note)
                   SELECT %s, n.e164, (ARRAY[%s, %s, %s])[1 + (n.i - 1) %% 3], %s, 'PN' || (n.i - 1), n.state,
                          now(), now(), 0, 2 - (n.i - 1) %% 3,
                          CASE WHEN n.i %% 997 = 0 THEN 'at_risk' WHEN n.i %% 101 = 0 THEN 'watch' ELSE 'healthy' END,
                          '', false, ''
                   FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS n(e164, state, i)""",
                [workspace.id, *env_ids, connection_id, held + released, states],
            )
            # Held numbers carry two tags, i mod 50 and 7i mod 50; released ones carry "retired" only.
            cursor.execute(
                """INSERT INTO phone_numbers_phonenumber_tags (phonenumber_id, tag_id)
                   SELECT DISTINCT n.id, t.id FROM phone_numbers_phonenumber n
                   JOIN phone_numbers_tag t ON t.workspace_id = n.workspace_id
                   WHERE n.workspace_id = %s AND CASE WHEN n.state = 'released' THEN t.name = 'retired'
                     ELSE t.name IN ('tag-' || (substr(n.provider_ref, 3)::int %% 50),
                                     'tag-' || (7 * substr(n.provider_ref, 3)::int %% 50)) END""",
                [workspace.id],
            )
        cursor.execute("VACUUM ANALYZE")
    print(f"seeded {MAIN + RELEASED + OTHERS * PER_OTHER:,} numbers in {time.perf_counter() - started:.1f} s")


def matches(page: str) -> str:
    """The numbers a page says it found: its sections' counts ("1,000+" when a section is capped)."""
    counts = re.findall(r"· (1,000\+|\d+) numbers?", page)
    return f"{sum(1000 if c == '1,000+' else int(c) for c in counts):,}" + ("+" if "1,000+" in counts else "")


def measure(servers, scenarios):
    timings = {(s.name, label): [] for s in servers for label, _, _ in scenarios}
    found = {}
    for server in servers:
        for label, path, htmx in scenarios:
            for _ in range(WARMUP):
                found[server.name, label] = matches(server.get(path, htmx)[1])
    for round_ in range(RUNS):
        for label, path, htmx in scenarios:
            for server in servers if round_ % 2 == 0 else servers[::-1]:
                timings[server.name, label].append(server.get(path, htmx)[0])
    return timings, found


def main():
    global MAIN
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--against", type=Path, help="a checkout of the baseline code to serve beside this one"
    )
    parser.add_argument(
        "--numbers", type=int, default=MAIN,
        help="numbers in the main workspace (default 100,000); another size gets a database of its own",
    )  # fmt: skip
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        return prepare()
    database = os.environ["DATABASE_URL"]
    if args.numbers != 100_000:
        MAIN = args.numbers
        os.environ["BENCH_NUMBERS"] = str(args.numbers)  # the servers' --prepare seeds as many
        database += f"_{args.numbers}"
    served = {"script": __file__, "credentials": (USER, PASSWORD)}
    servers = [Server("this", HERE, database, 8931, **served)]
    try:
        if args.against:
            servers.append(Server("baseline", args.against.resolve(), database + "_baseline", 8932, **served))
        scenarios = SCENARIOS if args.against else [*SCENARIOS, ADMIN]
        timings, found = measure(servers, scenarios)
    finally:
        for server in servers:
            server.stop()
    p95 = {key: statistics.quantiles(values, n=20)[18] for key, values in timings.items()}
    p50 = {key: statistics.median(values) for key, values in timings.items()}
    base = "baseline" if args.against else None
    print(f"\n{MAIN:,} numbers in the workspace, {OTHERS * PER_OTHER:,} in {OTHERS} others; {RUNS} rounds\n")
    header = f"{'scenario':28} {'page says':>9}"
    for server in servers:
        header += f" {server.name + ' p50':>13} {server.name + ' p95':>13}"
    print(header + f" {'p95 ratio':>10}")
    for label, _, _ in scenarios:
        line = f"{label:28} {found['this', label]:>9}"
        for server in servers:
            line += f" {p50[server.name, label]:13.1f} {p95[server.name, label]:13.1f}"
        reference = p95[base, label] if base else p95["this", ADMIN[0]]
        print(line + f" {p95['this', label] / reference:10.2f}")
    print("\npage says: the numbers this checkout's page counts (it stops at 1,000+ per environment)")
    if base:
        print("p95 ratio: this / baseline (below 1: faster)")
        for label, _, _ in scenarios:
            if found["this", label] != found["baseline", label]:
                print(f"  {label}: the baseline's page says {found['baseline', label]}")
    else:
        print("p95 ratio: scenario / admin changelist")
    print("target: p95 under 50 ms for each Numbers page scenario")


if __name__ == "__main__":
    main()
