"""Reads for the Numbers page. A constant number of queries whatever the workspace holds."""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import BigIntegerField, BooleanField, Exists, Expression, OuterRef, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Left
from django.db.models.lookups import In

from phone_numbers.filters import NumberFilters
from phone_numbers.models import Health, NumberReputation, PhoneNumber, Tag
from phone_numbers.tags import TAG_NAME
from providers import registry
from providers.adapters.base import KIND_LABELS
from providers.selectors import monthly_prices
from tenants.models import Environment
from tenants.scope import current_workspace

PER_PAGE = 50
# Counting stops here: "1,000+" tells an operator as much as 33,412 does (search narrows it),
# and a bounded count costs ~1 ms where an exact one over 100,000 numbers costs ~30 ms.
COUNT_CAP = 1_000
MAX_PAGE = 10_000  # 500,000 numbers deep; beyond that, search
# Live first: production numbers are what operators look for most (PhoneNumber.env_rank follows this).
ENVIRONMENT_ORDER = [Environment.Kind.LIVE, Environment.Kind.PRE_RELEASE, Environment.Kind.SANDBOX]


@dataclass(slots=True)
class NumberRow:
    """What one row of the Numbers page shows, as plain values: the page's query, then its tags.

    Model instances cost more than the row is worth here: each came with four related objects to
    build, and every template lookup on a model went through Django's attribute fallbacks."""

    id: int
    e164: str
    state: str
    environment_id: int
    agent: str | None
    variant: str | None
    provider: str
    managed: bool
    connection: str
    tags: list[str]
    health: str = Health.HEALTHY
    health_reason: str = ""
    release_at: datetime | None = None  # on hold (deleted) until then
    version: int = 0

    @property
    def state_label(self) -> str:
        return PhoneNumber.State(self.state).label

    @property
    def health_label(self) -> str:
        return Health(self.health).label


@dataclass(frozen=True)
class Section:
    environment: Environment
    numbers: list[NumberRow]
    count: int

    @property
    def count_capped(self) -> bool:
        return self.count > COUNT_CAP


@dataclass(frozen=True)
class PageWindow:
    number: int
    start_index: int
    end_index: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next


@dataclass(frozen=True)
class NumbersPage:
    page: PageWindow
    sections: list[Section]
    filters: NumberFilters
    total: int
    # The (id, name)s of the tags in use, in name order, read only by the full page's tag select.
    tags: QuerySet[Tag]

    @property
    def total_capped(self) -> bool:
        return any(s.count_capped for s in self.sections)

    @property
    def tag_choices(self) -> list[str]:
        """The tags in use not filtered by yet."""
        return [name for _, name in self.tags if name not in self.filters.tags]


def numbers_matching(
    filters: NumberFilters, numbers: QuerySet[PhoneNumber] | None = None, *, nationals: bool = True
) -> QuerySet[PhoneNumber]:
    """The numbers the filters match, of `numbers` (the workspace's by default); `nationals`=False leaves
    out the digits' national readings (digits_match)."""
    numbers = PhoneNumber.objects.all() if numbers is None else numbers
    if filters.refused:
        return numbers.none()  # the page says why: nothing was searched
    if not filters.show_finished:
        numbers = numbers.filter(state__in=PhoneNumber.HELD_STATES)
    if filters.digits:
        numbers = numbers.filter(digits_match(filters, nationals=nationals))
    if filters.health:
        numbers = numbers.filter(health=filters.health)
    if filters.tags:
        ids = dict(tags_named(filters.tags).values_list("name", "id"))
        if len(ids) < len(filters.tags):
            return numbers.none()  # a tag that does not exist matches nothing
        numbers = numbers.filter(carries_every_tag(list(ids.values())))
    return numbers


def digits_match(filters: NumberFilters, *, nationals: bool = True) -> Q:
    """Numbers whose digits contain the typed ones, or that start with one of their national readings
    (`nationals`=False: the first alone, which the trigram index answers)."""
    match = Q(e164__contains=filters.digits)
    prefixes = national_prefixes(filters) if nationals else []
    by_length = defaultdict(list)
    for prefix in prefixes:
        by_length[len(prefix)].append(prefix)
    # One hashed list lookup per length of country code, where a regex of ~100 codes cost ~10 µs a number.
    for length, group in sorted(by_length.items()):
        match |= Q(In(Left("e164", length), group))
    if prefixes:
        # Each reading is a tail of the digits, so every match contains the shortest: one substring test
        # settles most numbers, and gives the trigram index something to look up.
        match &= Q(e164__contains=min((n for _, n in filters.national_readings), key=len))
    return match


def national_prefixes(filters: NumberFilters) -> list[str]:
    """How each national reading of the digits starts an E.164 number: "+" + country code + national
    number ("020 7946": +44207946, +49207946…). Country codes are prefix-free, so no two overlap."""
    return sorted({f"+{code}{national}" for codes, national in filters.national_readings for code in codes})


def carries_every_tag(tag_ids: list[int], *, vendor: str | None = None) -> Expression:
    """Numbers carrying every one of the tags. PostgreSQL reads the GIN-indexed tag_ids array, which the
    link table's triggers keep (migration 0006); elsewhere one EXISTS per tag, a lookup per candidate."""
    if (vendor or connection.vendor) == "postgresql":
        # A constant fragment; the ids are a parameter.
        return RawSQL(f"{PhoneNumber._meta.db_table}.tag_ids @> %s::bigint[]", (tag_ids,), BooleanField())  # noqa: S611
    links = PhoneNumber.tags.through.objects
    return reduce(
        operator.and_,
        (Exists(links.filter(phonenumber_id=OuterRef("pk"), tag_id=tag_id)) for tag_id in tag_ids),
    )


def carries_a_tag(*, vendor: str | None = None) -> Expression:
    """Numbers carrying at least one tag (the ones campaigns can call from). On PostgreSQL a test of the
    number's own tag_ids row, where a join to the links and DISTINCT took 107 ms over 33,000 numbers."""
    if (vendor or connection.vendor) == "postgresql":
        return RawSQL(f"cardinality({PhoneNumber._meta.db_table}.tag_ids) > 0", (), BooleanField())  # noqa: S611
    return Exists(PhoneNumber.tags.through.objects.filter(phonenumber_id=OuterRef("pk")))


def tags_named(names) -> QuerySet[Tag]:
    """Tags of these clean names (phone_numbers/tags.py: every stored name is clean, so equality finds them).
    A name no tag could have (a URL's "²", a NUL byte, which PostgreSQL refuses in a query) finds none."""
    return Tag.objects.filter(name__in=[n for n in names if TAG_NAME.fullmatch(n)])


def tags_in_use() -> QuerySet[Tag]:
    """What tag pickers offer: tags on a held number or on a campaign. The rest stay, unlisted: released
    numbers and finished campaigns keep them as history, and a tag found here can be linked at once,
    where one deleted for being unused could vanish between a picker's read and a save that links it."""
    links = PhoneNumber.tags.through.objects.filter(tag_id=OuterRef("pk"))
    used = Exists(links.filter(phonenumber__state__in=PhoneNumber.HELD_STATES))
    # Campaigns link tags too; that app sits above this one, so its link table is found through Tag's
    # relations rather than imported.
    for relation in Tag._meta.get_fields(include_hidden=True):
        if relation.many_to_many and relation.auto_created and relation.through is not links.model:
            used |= Exists(relation.through.objects.filter(tag_id=OuterRef("pk")))
    return Tag.objects.filter(used)


def numbers_page(*, filters: NumberFilters, page_number) -> NumbersPage:
    """One page of numbers in display order (environment, then number), with a bounded count per
    environment. Queries, whatever the data size: environments, the counts and the page's ids (the
    bounded counts and a walk, or one reading of the matches, with a search's national readings as index
    ranges), the page's rows, their tags, and the tags in use where needed. One more where a tag filter
    matches over COUNT_CAP numbers in an environment before the page: the walk to it."""
    matching = numbers_matching(filters)
    environments = sorted(Environment.objects.all(), key=lambda e: ENVIRONMENT_ORDER.index(e.kind))
    number = _page_number(page_number)
    offset = (number - 1) * PER_PAGE
    found = _searched_counts_and_page(filters, offset) if filters.digits else None
    # Few numbers are anything but healthy: read them once (number_page_by_health), as tags' are.
    if found is None and filters.tags and not filters.digits and connection.vendor == "postgresql":
        found = _tagged_counts_and_page(matching, offset)
    if found is None and (filters.tags or filters.health not in ("", Health.HEALTHY)):
        found = _counts_and_page(matching, offset)
    if found is None:
        # A digit search gets here with many matches: walking the page-order index meets them soon, where
        # the planner, misled by table-wide statistics (below), could read every one of them by bitmap.
        walk = filters.digits and not filters.show_finished
        with _plans(disabled=("seqscan", "bitmapscan")) if walk else nullcontext():
            found = _bounded_counts(matching), _page_ids(matching, offset)
    by_rank, page_ids = found
    rows = _page_rows(PhoneNumber.objects.filter(pk__in=page_ids))
    counts = {env.id: by_rank.get(PhoneNumber.ENV_RANK[env.kind], 0) for env in environments}
    _attach_tag_names(rows)
    has_next = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    window = PageWindow(
        number=number, start_index=offset + 1 if rows else 0, end_index=offset + len(rows), has_next=has_next
    )
    sections = [
        Section(
            environment=env, numbers=[n for n in rows if n.environment_id == env.id], count=counts[env.id]
        )
        for env in environments
    ]
    return NumbersPage(
        page=window,
        sections=sections,
        filters=filters,
        total=sum(counts.values()),
        tags=tags_in_use().values_list("id", "name"),  # lazy: read by the full page's tag select only
    )


def numbers_after(
    *, filters: NumberFilters, after: tuple[int, str, int] | None, limit: int, env_rank: int | None = None
) -> list[NumberRow]:
    """Up to `limit` + 1 matching numbers in page order after the (env_rank, e164, id) position `after`:
    the JSON API's cursor pages. A keyset walk of the page-order index costs the same at any depth,
    where an offset reads every row before it."""
    matching = numbers_matching(filters)
    if env_rank is not None:  # one environment: the Numbers page's section
        matching = matching.filter(env_rank=env_rank)
    if after is not None:
        table = PhoneNumber._meta.db_table
        # A constant fragment; the position is three parameters.
        matching = matching.filter(
            RawSQL(f"({table}.env_rank, {table}.e164, {table}.id) > (%s, %s, %s)", after, BooleanField())  # noqa: S611
        )
    ids = list(matching.order_by(*PAGE_ORDER).values_list("pk", flat=True)[: limit + 1])
    rows = _page_rows(PhoneNumber.objects.filter(pk__in=ids))
    _attach_tag_names(rows)
    return rows


PAGE_ORDER = ("env_rank", "e164", "pk")  # the partial index number_page_order serves it, index-only
ROW_FIELDS = (
    "pk", "e164", "state", "environment_id", "inbound_agent__name", "inbound_variant__name",
    "connection__provider", "connection__workspace_id", "connection__label", "health", "health_reason",
    "release_at", "version",
)  # fmt: skip


def _attach_tag_names(rows: list[NumberRow]) -> None:
    """Each row's tag names from one query of plain tuples (no Tag objects, no per-row querysets)."""
    by_id = {row.id: row.tags for row in rows}
    links = PhoneNumber.tags.through.objects.filter(phonenumber_id__in=list(by_id)).order_by("tag__name")
    for number_id, name in links.values_list("phonenumber_id", "tag__name"):
        by_id[number_id].append(name)


def _page_ids(numbers: QuerySet[PhoneNumber], offset: int) -> list[int]:
    """A page's ids in display order, plus one to tell whether there is a next page."""
    return list(numbers.order_by(*PAGE_ORDER).values_list("pk", flat=True)[offset : offset + PER_PAGE + 1])


def _page_rows(numbers: QuerySet[PhoneNumber]) -> list[NumberRow]:
    """The page's numbers in display order, as the rows show them."""
    providers = dict(registry.choices())
    return [
        NumberRow(
            id=pk,
            e164=e164,
            state=state,
            environment_id=environment_id,
            agent=agent,
            variant=variant,
            provider=providers[provider],
            managed=connection_workspace is None,
            connection=label,
            tags=[],
            health=health,
            health_reason=reason,
            release_at=release_at,
            version=version,
        )
        for (
            pk,
            e164,
            state,
            environment_id,
            agent,
            variant,
            provider,
            connection_workspace,
            label,
            health,
            reason,
            release_at,
            version,
        ) in (numbers.order_by(*PAGE_ORDER).values_list(*ROW_FIELDS))
    ]


def _bounded_counts(matching: QuerySet[PhoneNumber]) -> dict[int, int]:
    """Numbers per env_rank, each count stopping at the cap: an index-only walk of the page-order index
    per environment, the three in one statement (a round trip each was ~1 ms of a loaded server's page)."""
    parts, params = [], []
    for rank in sorted(PhoneNumber.ENV_RANK.values()):
        capped = matching.filter(env_rank=rank).order_by().values_list("pk")[: COUNT_CAP + 1]
        try:
            inner, inner_params = capped.query.sql_with_params()
        except EmptyResultSet:  # .none()
            return {}
        # inner is the ORM's own SQL and every value a parameter; rank is one of ENV_RANK's ints.
        parts.append(f"SELECT COUNT(*), {int(rank)} FROM ({inner}) AS rank{int(rank)}")  # noqa: S608
        params += inner_params
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return {rank: count for count, rank in cursor.fetchall()}


def _counts_and_page(
    matching: QuerySet[PhoneNumber], offset: int, *, cap: int | None = None
) -> tuple[dict[int, int], list[int]] | None:
    """Counts per env_rank and the page's ids from one reading of the matches; None when more than `cap`.

    Tags bound the set, but finding it costs a lookup per match (2,000 matches: ~9 ms); a count and a
    page read it twice and joined every match to four tables before sorting (~36 ms). Read once here,
    then the page's rows are fetched by id."""
    matches = matching.order_by().values_list("pk", "env_rank", "e164")
    try:
        inner, params = (matches if cap is None else matches[: cap + 1]).query.sql_with_params()
    except EmptyResultSet:  # .none(): an unknown tag in the URL, say
        return {}, []
    # inner is the ORM's own SQL and every value a parameter.
    sql = f"WITH m (id, env_rank, e164) AS ({inner}) " + (  # noqa: S608
        "SELECT env_rank, NULL, COUNT(*) FROM m GROUP BY env_rank UNION ALL "
        "SELECT * FROM (SELECT env_rank, id, 0 FROM m ORDER BY env_rank, e164, id LIMIT %s OFFSET %s) page"
    )
    by_rank, page_ids = {}, []
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, PER_PAGE + 1, offset])
        for rank, number_id, count in cursor.fetchall():
            if number_id is None:
                by_rank[rank] = count
            else:
                page_ids.append(number_id)
    if cap is not None and sum(by_rank.values()) > cap:
        return None
    return by_rank, page_ids


def _tagged_counts_and_page(matching: QuerySet[PhoneNumber], offset: int) -> tuple[dict[int, int], list[int]]:
    """Capped counts per env_rank and the page's ids of a tag filter, reading the matches through the tag
    index only until every environment has more than the cap.

    Reading all of them cost a heap page each: 20,000 of a million numbers (two tags carried by 1 in 50)
    were ~15,000 pages and ~30 ms, for counts that show "1,000+". The bitmap scan reads them in table
    order, so a cursor stops after ~3,000 here. An environment read to its end is whole, and a page within
    whole ones is cut from them; a page further on walks the page-order index, which meets the numbers
    soon where they are that many."""
    read = {rank: [] for rank in sorted(PhoneNumber.ENV_RANK.values())}
    matches = matching.order_by().values_list("env_rank", "e164", "pk")
    with _plans(disabled=("seqscan", "indexscan", "indexonlyscan")):
        for rank, e164, pk in matches.iterator(chunk_size=1_000):
            read[rank].append((e164, pk))
            if all(len(rows) > COUNT_CAP for rows in read.values()):
                break
    in_order, whole = [], True
    for rows in read.values():
        if len(rows) > COUNT_CAP:  # maybe cut short, so not the first in order: the walk's from here
            whole = False
            break
        in_order += sorted(rows)
    if whole or len(in_order) > offset + PER_PAGE:
        page_ids = [pk for _, pk in in_order[offset : offset + PER_PAGE + 1]]
    else:
        with _plans(disabled=("seqscan", "bitmapscan")):
            page_ids = _page_ids(matching, offset)
    return {rank: min(len(rows), COUNT_CAP + 1) for rank, rows in read.items() if rows}, page_ids


# A search reads the numbers containing its digits through the trigram index when they are at most this
# many (~1.5 µs each: 5,000 of a million in ~7 ms); past it they are dense enough that walking the
# page-order index finds a page and the capped counts quickly. At 1,000, 5,000 matches clustered late in
# the order (one block of a million numbers) made the walk read ~450,000 index entries (~330 ms).
SEARCH_GATHER_CAP = 10_000


@contextmanager
def _plans(*, disabled: tuple[str, ...]):
    """PostgreSQL plans the queries inside without these scans (enable_seqscan…), in a transaction that
    restores them: a digit search knows better than the planner how many numbers it matches."""
    if connection.vendor != "postgresql":
        yield
        return
    nested = connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("; ".join(f"SET LOCAL enable_{scan} = off" for scan in disabled))
        yield
        if nested:  # the caller's transaction goes on: it gets the usual plans back (a commit ends them)
            cursor.execute("; ".join(f"SET LOCAL enable_{scan} TO DEFAULT" for scan in disabled))


def _searched_counts_and_page(filters: NumberFilters, offset: int) -> tuple[dict[int, int], list[int]] | None:
    """Counts per env_rank and the page's ids of a digit search whose digits are contained in at most
    SEARCH_GATHER_CAP numbers; None when more are, or the indexes can't help.

    The numbers containing the digits are read once through the (workspace, digits) trigram index. The
    planner can't tell how many of one workspace's numbers contain some digits: its statistics are
    table-wide. When other workspaces held many matches it expected a page within a few rows and walked
    the page-order index, filtering every number of this one (20 matches of 100,000: ~100 ms at p95).
    Here it may only read bitmaps, so the index names the candidates of this workspace alone.
    The numbers a national reading matches start with its prefix: ranges of the page-order index, read
    in order and index-only, however many there are (a reading in the trigram index's bitmap cost a heap
    fetch and a regex test per number: 10,000 London numbers took ~1.7 s of a million)."""
    prefixes = national_prefixes(filters)
    if connection.vendor != "postgresql" or len(filters.digits) < 3 or (prefixes and filters.show_finished):
        return None  # trigrams need three digits; finished numbers are outside the page-order index
    # btree_gin compares bigint with bigint only, and the scoped manager's workspace_id = 1 is an int
    # the planner would prefer: the workspace is named here, as a bigint, and nowhere else.
    workspace = Cast(Value(current_workspace().pk), BigIntegerField())
    numbers = PhoneNumber.unscoped.filter(workspace_id=workspace)
    contained = numbers_matching(filters, numbers, nationals=False).order_by()
    with _plans(disabled=("seqscan", "indexscan", "indexonlyscan")):
        found = list(contained.values_list("env_rank", "e164", "pk")[: SEARCH_GATHER_CAP + 1])
    if len(found) > SEARCH_GATHER_CAP:
        return None
    # Each rank's first `enough` numbers in page order are exact (below): its capped count and any page.
    enough = max(COUNT_CAP + 1, offset + PER_PAGE + 1)
    found = set(found) | set(_starting_with(prefixes, replace(filters, digits=""), enough))
    by_rank = defaultdict(list)
    for row in sorted(found):
        by_rank[row[0]].append(row)
    in_order = [row for rank in sorted(by_rank) for row in by_rank[rank][:enough]]
    counts = {rank: min(len(rows), COUNT_CAP + 1) for rank, rows in by_rank.items()}
    return counts, [pk for _, _, pk in in_order[offset : offset + PER_PAGE + 1]]


def _starting_with(prefixes: list[str], filters: NumberFilters, limit: int) -> list[tuple[int, str, int]]:
    """(env_rank, e164, id) of the held numbers the filters match that start with one of the prefixes: the
    first `limit` of each prefix in each environment, walking the page-order index from the prefix on.

    A prefix's numbers missing past its `limit` sort after `limit` of the ones read in their environment,
    so each environment's first `limit` of everything read are its first `limit` matches."""
    if not prefixes:
        return []
    bounds = [(prefix, _after_prefix(prefix)) for prefix in prefixes]
    # Columns of the lateral's outer rows: each prefix's range, in each environment.
    lo, hi, rank = (RawSQL(column, ()) for column in ("r.lo", "r.hi", "k.env_rank"))  # noqa: S611
    walk = (
        numbers_matching(filters, PhoneNumber.unscoped.filter(workspace_id=current_workspace().pk))
        .filter(env_rank=rank, e164__gte=lo, e164__lt=hi)
        .order_by("e164")
        .values_list("env_rank", "e164", "pk")[:limit]
    )
    try:
        inner, params = walk.query.sql_with_params()
    except EmptyResultSet:  # an unknown tag
        return []
    # inner is the ORM's own SQL and every value a parameter.
    sql = (
        "SELECT n.* FROM unnest(%s::text[], %s::text[]) AS r (lo, hi) "  # noqa: S608
        "CROSS JOIN unnest(%s::smallint[]) AS k (env_rank) "
        f"CROSS JOIN LATERAL ({inner}) AS n"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                [start for start, _ in bounds],
                [end for _, end in bounds],
                sorted(PhoneNumber.ENV_RANK.values()),
                *params,
            ],
        )
        return [tuple(row) for row in cursor.fetchall()]


def _after_prefix(prefix: str) -> str:
    """The least string past every number starting with `prefix` ("+4420794" -> "+4420795", "+1999" ->
    "+2"): digits compare as digits in any collation, where a "~" sorts first in some."""
    digits = prefix.rstrip("9")
    if digits == "+":  # no country code is all nines; past every number all the same
        return ","
    return digits[:-1] + str(int(digits[-1]) + 1)


def _page_number(raw) -> int:
    try:
        return max(1, min(int(raw), MAX_PAGE))
    except (TypeError, ValueError):
        return 1


@dataclass(frozen=True)
class Inventory:
    numbers: list
    error: str = ""
    kind: str = "local"  # of every number offered: a search asks for one kind
    truncated: bool = False  # more numbers than are shown (or than the provider's listing was read for)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind].capitalize()


def inventory_for(form) -> Inventory:
    """Available numbers at the chosen connection for the buy modal."""
    return inventory_search(form.chosen_connection, **form.search_params())


def inventory_search(
    connection, *, country: str, kind: str, area_code=None, contains=None, limit=20
) -> Inventory:
    """Available numbers at `connection` (the buy modal's and the API's search), none a workspace holds,
    priced where the provider says; a provider failure becomes a sentence."""
    from providers.adapters.base import ProviderError, ProviderUnavailable
    from providers.services import connection_adapter

    try:
        found = connection_adapter(connection).search_available(
            country=country, kind=kind, area_code=area_code, contains=contains, limit=limit
        )
    except ProviderError as exc:
        return Inventory(numbers=[], error=exc.message)
    except ProviderUnavailable as exc:
        return Inventory(numbers=[], error=f"{exc} Try the search again in a moment.")
    offered = offers_priced(offers_not_held(found), connection, country=country, kind=kind)
    return Inventory(numbers=offered, kind=kind)


def offers_priced(offers: list, connection, *, country: str, kind: str, fresh: bool = False) -> list:
    """Offers the search gave no price for, priced from the account's price list (Twilio's searches carry
    none). `fresh` asks the provider now and lets its failure through: a purchase's price is checked,
    never guessed; a search's may be hours old, or missing."""
    if all(n.monthly_price is not None for n in offers):
        return offers
    price = monthly_prices(connection, country, fresh=fresh).get(kind)
    if price is None:
        return offers
    return [
        replace(n, monthly_price=price.amount, currency=price.currency) if n.monthly_price is None else n
        for n in offers
    ]


OWNED_SHOWN = 100  # Link existing's pick list; any other number is typed in


def owned_not_linked(connection) -> Inventory:
    """Numbers the account owns that are not in Dialtone yet, for Link existing's pick list; of a managed
    account, only the ones this workspace may link back (its inventory is never listed to a tenant)."""
    from providers.adapters.base import ProviderError, ProviderUnavailable
    from providers.services import connection_adapter

    if connection.is_managed:
        return Inventory(numbers=list(managed_numbers_to_link(connection)[:100]))
    try:
        owned = connection_adapter(connection).list_owned()
    except (ProviderError, ProviderUnavailable) as exc:
        return Inventory(numbers=[], error=exc.message)
    offered = offers_not_held(list(owned))
    return Inventory(numbers=offered[:OWNED_SHOWN], truncated=owned.truncated or len(offered) > OWNED_SHOWN)


def managed_numbers_to_link(connection) -> QuerySet[PhoneNumber]:
    """The numbers this workspace detached from a managed account (before that was refused) that nobody
    has had since: the only ones it may link from there. Since one workspace holds a number at a time,
    another row of it held now or finished later means someone had it after this workspace."""
    others = PhoneNumber.unscoped.filter(e164=OuterRef("e164")).exclude(pk=OuterRef("pk"))
    since = others.filter(Q(state__in=PhoneNumber.HELD_STATES) | Q(finished_at__gt=OuterRef("finished_at")))
    return (
        PhoneNumber.objects.filter(connection=connection, state=PhoneNumber.State.DETACHED)
        .exclude(Exists(since))
        .order_by("e164")
    )


def offers_not_held(candidates: list) -> list:
    """Drop numbers some workspace already holds in Dialtone (across workspaces: one holder at most)."""
    held = set(
        PhoneNumber.unscoped.filter(
            e164__in=[n.e164 for n in candidates], state__in=PhoneNumber.HELD_STATES
        ).values_list("e164", flat=True)
    )
    return [n for n in candidates if n.e164 not in held]


def number_history(number: PhoneNumber):
    from tenants.models import AuditEvent

    return AuditEvent.objects.filter(target_type="phonenumber", target_id=str(number.pk)).select_related(
        "actor"
    )[:100]


@dataclass(frozen=True)
class CachedReputation:
    """A number's last reputation check, as NumberReputation keeps it."""

    level: str  # low, medium, high, unknown
    label: str
    flagged: bool
    category: str
    checked_at: datetime | None  # the provider's time of the check
    fetched_at: datetime | None  # when we asked
    why: str
    source: str


def reputation_of(numbers: Iterable[PhoneNumber | int]) -> dict[int, CachedReputation]:
    """The cached reputation of each of `numbers` (of the current workspace) that has one, by number id:
    one query, no provider call. A number never checked is absent."""
    ids = [n if isinstance(n, int) else n.pk for n in numbers]
    rows = NumberReputation.objects.filter(number_id__in=ids)
    return {
        row.number_id: CachedReputation(
            row.level,
            row.get_level_display(),
            row.flagged,
            row.category,
            row.checked_at,
            row.fetched_at,
            row.why,
            row.source,
        )
        for row in rows
    }
