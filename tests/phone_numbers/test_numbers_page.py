"""The Numbers page: search, tag filters, grouping, and a query count that does not grow with the data."""

import itertools
import re
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext

from agents.models import Agent, Variant
from phone_numbers.models import PhoneNumber, Tag
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import workspace_scope
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db


def add_numbers(workspace, count, *, start=0, tags=()):
    add_e164s(workspace, [f"+1415555{start + i:04d}" for i in range(count)], tags=tags, first_ref=start)


def add_e164s(workspace, e164s, *, tags=(), first_ref=0):
    """Active numbers with these E.164s, spread over the three environments in turn, routed to an agent."""
    with workspace_scope(workspace):
        conn = ProviderConnection.objects.get_or_create(
            label="Sandbox", defaults={"provider": "sandbox", "credentials": {"account": "page"}}
        )[0]
        envs = list(Environment.objects.all())
        tag_rows = [Tag.objects.get_or_create(name=t)[0] for t in tags]
        agent = Agent.objects.get_or_create(
            name="Front desk", defaults={"sip_destination": "sip:a@b.example"}
        )[0]
        numbers = PhoneNumber.objects.bulk_create(
            PhoneNumber(
                workspace=workspace,
                e164=e164,
                environment=envs[i % 3],
                connection=conn,
                state="active",
                provider_ref=f"PN{first_ref + i}",
                inbound_agent=agent,
                env_rank=PhoneNumber.ENV_RANK[envs[i % 3].kind],
            )
            for i, e164 in enumerate(e164s)
        )
        for number in numbers:
            number.tags.set(tag_rows)


def page_queries(client, url) -> int:
    client.get(url)  # the first view of a workspace records it in the session; measure the steady state
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?q=415",
        "?tag=sales&tag=texas",
        "?q=1415555&tag=sales&history=1",
        "?health=healthy",
        "?health=at_risk",
        "?q=020+7946",
    ],
)
def test_query_count_is_the_same_for_10_rows_and_hundreds(acme, query):
    client = Client()
    client.force_login(owner_of(acme))
    url = f"/w/acme/numbers/{query}"
    add_numbers(acme, 10, tags=["sales", "texas"])
    few = page_queries(client, url)
    add_numbers(acme, 290, start=10, tags=["sales", "texas"])
    many = page_queries(client, url)
    assert few == many, f"{few} queries with 10 numbers, {many} with 300"


def test_search_by_digits_in_any_format_and_filter_by_every_chosen_tag(acme, globex):
    add_numbers(acme, 5, tags=["sales"])
    add_numbers(acme, 3, start=100, tags=["sales", "texas"])
    add_numbers(globex, 3, start=200, tags=["sales", "texas"])  # never shown in acme
    client = Client()
    client.force_login(owner_of(acme))
    page = client.get("/w/acme/numbers/?q=%2B1+(415)+555-0001").content.decode()
    assert "+1 415-555-0001" in page and "+1 415-555-0002" not in page
    both = client.get("/w/acme/numbers/?tag=sales&tag=TEXAS").content.decode()
    assert both.count('class="number"') == 3
    assert "+1 415-555-0200" not in both
    one = client.get("/w/acme/numbers/?tag=sales").content.decode()
    assert one.count('class="number"') == 8


def test_htmx_search_pushes_the_canonical_url(acme):
    client = Client()
    client.force_login(owner_of(acme))
    add_numbers(acme, 1)
    response = client.get("/w/acme/numbers/?q=%2B1+(415)&tag=", headers={"HX-Request": "true"})
    assert response["HX-Push-Url"] == "/w/acme/numbers/?q=1415"
    fragment = response.content.decode()
    assert "<html" not in fragment  # the fragment only, with working row links
    assert 'href="/w/acme/numbers/' in fragment and '/edit/"' in fragment


def test_pages_walk_live_first_then_pre_release_then_sandbox(acme):
    add_numbers(acme, 120)
    client = Client()
    client.force_login(owner_of(acme))
    first = client.get("/w/acme/numbers/").content.decode()
    second = client.get("/w/acme/numbers/?page=2").content.decode()
    assert "1–50 of 120" in first and "51–100 of 120" in second and 'rel="prev"' in second
    # Every live number (40) comes before any pre-release one.
    assert first.index("Live") < first.index("Pre-release")
    assert first.count('class="number"') == 50 and second.count('class="number"') == 50


def test_a_tag_filter_pages_and_counts_like_the_unfiltered_page(acme):
    """Tag filters read counts and the page in one pass: the same order, counts and pager as without."""

    add_numbers(acme, 120, tags=["sales"])
    add_numbers(acme, 30, start=500)  # untagged: never in the filtered page or its counts
    with workspace_scope(acme):
        PhoneNumber.objects.filter(e164="+14155550000").update(state="released")  # history only
    client = Client()
    client.force_login(owner_of(acme))
    first = client.get("/w/acme/numbers/?tag=sales").content.decode()
    second = client.get("/w/acme/numbers/?tag=sales&page=2").content.decode()
    third = client.get("/w/acme/numbers/?tag=sales&page=3").content.decode()
    assert "1–50 of 119" in first and "51–100 of 119" in second and "101–119 of 119" in third
    # Sections count the tagged numbers each environment holds: 40, 40 and 39 (one released).
    assert sorted(re.findall(r"· (\d+) numbers", first)) == ["39", "40", "40"]
    shown = [re.findall(r'class="number">([^<]+)<', page) for page in (first, second, third)]
    everything = [n for page in shown for n in page]
    assert len(everything) == len(set(everything)) == 119 and "+1 415-555-0500" not in everything
    # Live first, then pre-release, then sandbox, by number within each; as the unfiltered pages walk.
    unfiltered = client.get("/w/acme/numbers/").content.decode()
    assert shown[0][:40] == re.findall(r'class="number">([^<]+)<', unfiltered)[:40]
    with_history = client.get("/w/acme/numbers/?tag=sales&history=1").content.decode()
    assert "1–50 of 120" in with_history


def test_the_tag_filter_index_follows_every_write_of_the_links(acme):
    """PostgreSQL filters on the tag_ids array the link table's triggers keep; it must answer exactly
    what one EXISTS per tag over the links answers, after adds, removes, clears and tag deletes."""
    import random

    from phone_numbers.selectors import carries_a_tag, carries_every_tag

    add_numbers(acme, 30, tags=["a", "b"])
    rnd = random.Random(7)
    with workspace_scope(acme):
        tags = {t.name: t for t in Tag.objects.all()} | {
            name: Tag.objects.create(name=name) for name in ("c", "d", "e")
        }
        numbers = list(PhoneNumber.objects.all())
        for number in numbers:
            number.tags.add(*rnd.sample(list(tags.values()), rnd.randint(0, 4)))
        numbers[0].tags.clear()
        numbers[1].tags.remove(tags["a"])
        numbers[2].tags.set([tags["e"]])
        tags.pop("d").delete()  # its links go by cascade
        Tag.objects.get(name="c").numbers.remove(numbers[3])  # from the tag's side
        for size in (1, 2, 3):
            for combo in itertools.combinations(sorted(tags), size):
                ids = [tags[name].pk for name in combo]
                fast = set(PhoneNumber.objects.filter(carries_every_tag(ids)).values_list("pk", flat=True))
                links = PhoneNumber.objects.filter(carries_every_tag(ids, vendor="generic"))
                assert fast == set(links.values_list("pk", flat=True)), combo
        assert not PhoneNumber.objects.filter(carries_every_tag([tags["a"].pk])).filter(pk=numbers[0].pk)
        tagged = set(PhoneNumber.objects.filter(carries_a_tag()).values_list("pk", flat=True))
        assert tagged == set(
            PhoneNumber.objects.filter(carries_a_tag(vendor="generic")).values_list("pk", flat=True)
        )
        assert tagged == set(PhoneNumber.objects.filter(tags__isnull=False).values_list("pk", flat=True))
        assert numbers[0].pk not in tagged  # it lost its last tag above


def test_unpublished_variants_are_called_out_on_the_numbers_page(acme):
    from agents.services import agent_create, variant_create

    with workspace_scope(acme):
        agent = agent_create(
            workspace=acme, actor=None, name="Billing", sip_destination="sip:b@voice.example.com"
        )
        variant_create(agent=agent, actor=None, name="spanish")
    client = Client()
    client.force_login(owner_of(acme))
    page = client.get("/w/acme/numbers/").content.decode()
    assert "New variant added:" in page and "“spanish” (Billing)" in page


def test_row_menu_links_match_the_url_patterns(acme):
    from django.urls import reverse

    add_numbers(acme, 1)
    client = Client()
    client.force_login(owner_of(acme))
    page = client.get("/w/acme/numbers/").content.decode()
    with workspace_scope(acme):
        number = PhoneNumber.objects.get()
    for name in ("numbers:edit", "numbers:detach", "numbers:delete", "numbers:detail"):
        assert f'href="{reverse(name, args=["acme", number.id])}"' in page, name


def test_tag_suggestions_offer_the_workspaces_existing_tags(acme, globex):
    add_numbers(acme, 1, tags=["sales-us"])
    add_numbers(globex, 1, start=50, tags=["globex-secret"])
    client = Client()
    client.force_login(owner_of(acme))
    with workspace_scope(acme):
        number = PhoneNumber.objects.get()
    for url in ("/w/acme/numbers/new/", "/w/acme/numbers/link/", f"/w/acme/numbers/{number.id}/edit/"):
        page = client.get(url).content.decode()
        if 'id="tag-options"' in page:
            assert '<option value="sales-us">' in page and "globex-secret" not in page, url


def test_rows_escape_every_value_and_offer_the_actions_each_role_may_take(acme):
    """The rows are rendered in Python (phone_numbers/rows.py): nothing a user typed reaches the page raw."""
    add_numbers(acme, 2, tags=["vip", "a_b"])  # tags can't hold markup: tags.py and the database refuse it
    with workspace_scope(acme):
        agent = Agent.objects.get()
        agent.name = "<script>alert(1)</script>"
        agent.save()
        variant = Variant.objects.create(agent=agent, name="<i>es</i>")
        PhoneNumber.objects.filter(e164="+14155550000").update(inbound_variant=variant)
        PhoneNumber.objects.filter(e164="+14155550001").update(inbound_agent=None, state="pending")
        ProviderConnection.objects.update(label="Main <account>")
        ordering = PhoneNumber.objects.get(e164="+14155550001")

    def page_for(username):
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        return client.get("/w/acme/numbers/").content.decode()

    page = page_for("alice_admin")
    assert "<script>alert(1)</script>" not in page and "<b>" not in page and "<i>es</i>" not in page
    assert '&lt;script&gt;alert(1)&lt;/script&gt; <span class="muted">/ &lt;i&gt;es&lt;/i&gt;</span>' in page
    assert '<span class="tag">a_b</span><span class="tag">vip</span>' in page
    assert '<td class="cell-connection">Main &lt;account&gt;</td>' in page
    assert '<span class="badge state-pending">Ordering…</span>' in page
    # A number still ordering has no menu, only its history; the active one has every action for an admin.
    assert f'href="/w/acme/numbers/{ordering.id}/" aria-label="History of +14155550001"' in page
    assert page.count('role="menuitem"') == 4 and "Delete</a>" in page
    operator = page_for("olga_operator")
    assert operator.count('role="menuitem"') == 3 and "Delete</a>" not in operator
    viewer = page_for("vic_viewer")
    assert 'role="menuitem"' not in viewer and viewer.count('aria-label="History of') == 2


def test_national_formats_find_numbers_of_the_countries_that_dial_them(acme):
    add_numbers(acme, 2)  # +1 415-555-0000 and 0001
    with workspace_scope(acme):
        model = PhoneNumber.objects.first()
        for e164 in ("+442079460958", "+442079461234", "+441614960000"):
            PhoneNumber.objects.create(
                e164=e164, environment=model.environment, connection=model.connection, state="active"
            )
    client = Client()
    client.force_login(owner_of(acme))

    def found(q):
        return re.findall(
            r'class="number">([^<]+)<', client.get("/w/acme/numbers/", {"q": q}).content.decode()
        )

    assert sorted(found("020 7946")) == ["+44 20 7946 0958", "+44 20 7946 1234"]  # 0 is the UK's trunk prefix
    assert found("020 7946 0958") == ["+44 20 7946 0958"]
    assert found("0161 496") == ["+44 161 496 0000"]
    assert sorted(found("(415) 555")) == ["+1 415-555-0000", "+1 415-555-0001"]
    assert sorted(found("1 415 555")) == ["+1 415-555-0000", "+1 415-555-0001"]  # 1 is the US trunk prefix
    assert sorted(found("+1 (415)")) == ["+1 415-555-0000", "+1 415-555-0001"]
    assert sorted(found("+44 20 7946")) == ["+44 20 7946 0958", "+44 20 7946 1234"]
    assert found("0958") == ["+44 20 7946 0958"]  # digits anywhere, as before
    assert found("020 7946 9") == []


@pytest.mark.parametrize("typed", ["abc", "41a5", "+1 415 call me"])
def test_letters_get_a_message_instead_of_being_dropped(acme, typed):
    add_numbers(acme, 3)
    client = Client()
    client.force_login(owner_of(acme))
    page = client.get("/w/acme/numbers/", {"q": typed}).content.decode()
    assert "Search by digits: letters aren’t part of phone numbers." in page.replace("&#x27;", "’").replace(
        "'", "’"
    )
    assert 'class="number"' not in page and f'value="{typed}"' in page  # nothing searched; the text stays
    fragment = client.get("/w/acme/numbers/", {"q": typed}, headers={"HX-Request": "true"})
    assert "letters aren" in fragment.content.decode()
    assert fragment["HX-Push-Url"] == "/w/acme/numbers/?" + urlencode({"q": typed})


@pytest.mark.parametrize(
    "query",
    ["q=555", "q=5550002", "q=555000", "q=0100&tag=sales", "q=555&history=1", "q=555&page=2", "q=020+7946"],
)
def test_a_search_read_through_the_trigram_index_agrees_with_the_index_walk(acme, query, monkeypatch):
    """Few matches are read once through the trigram index; many take the page-order walk (or, with a tag
    filter, the tag index). Each answers the same page and counts."""
    from phone_numbers import selectors

    add_numbers(acme, 120, tags=["sales"])
    add_numbers(acme, 30, start=500)
    with workspace_scope(acme):
        PhoneNumber.objects.filter(e164="+14155550001").update(state="released")
    client = Client()
    client.force_login(owner_of(acme))

    def seen(path):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/w/acme/numbers/?{query}").content.decode()
        gathered = any("enable_indexscan = off" in q["sql"] for q in queries)
        walked = any(q["sql"].startswith("SELECT COUNT(*)") for q in queries)  # the walk's bounded counts
        assert (gathered and not walked) if path == "index" else not gathered
        return re.findall(r'class="number">([^<]+)<', page), re.findall(r"· ([\d,+]+) numbers?", page)

    through_the_index = seen("index")
    monkeypatch.setattr(selectors, "_searched_counts_and_page", lambda *_: None)  # as with too many matches
    assert seen("walk") == through_the_index
    assert through_the_index[0] or query.startswith("q=020")


def test_a_second_tag_keeps_the_first_and_the_answer_updates_the_tag_select(acme):
    """The tag select and the chosen tags live outside the swapped results: each answer swaps them too."""
    add_numbers(acme, 3, tags=["sales", "texas", "vip"])
    client = Client()
    client.force_login(owner_of(acme))
    fragment = client.get("/w/acme/numbers/?tag=sales&tag=Texas", headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert fragment["HX-Push-Url"] == "/w/acme/numbers/?tag=sales&tag=texas"
    oob = html[html.index('id="tag-filter"') : html.index("</select>")]
    assert 'hx-swap-oob="innerHTML"' in oob
    assert '<input type="hidden" name="tag" value="sales">' in oob
    assert '<input type="hidden" name="tag" value="texas">' in oob
    assert '<option value="vip">' in oob and '<option value="sales">' not in oob


@pytest.mark.parametrize("query", ["q=555", "q=55", "q=555&history=1"])
def test_a_search_leaves_the_planner_settings_as_it_found_them(acme, query):
    """Searches choose their plans by turning scans off for a few queries; the transaction around a
    request (here, the test's) goes on with every scan allowed."""
    add_numbers(acme, 5)
    client = Client()
    client.force_login(owner_of(acme))
    assert client.get(f"/w/acme/numbers/?{query}").status_code == 200
    with connection.cursor() as cursor:
        for scan in ("seqscan", "indexscan", "indexonlyscan", "bitmapscan"):
            cursor.execute(f"SHOW enable_{scan}")
            assert cursor.fetchone() == ("on",), scan


def test_national_prefixes_match_what_a_regex_of_the_country_codes_matched(acme):
    """digits_match reads a national reading as "+" + code + national number at the start, where it was a
    regex of every code that dials the trunk prefix: the same numbers, on seeded data."""
    from django.http import QueryDict

    from phone_numbers.filters import NumberFilters
    from phone_numbers.selectors import digits_match

    add_e164s(
        acme,
        ["+442079460958", "+492079461111", "+332079460000", "+12079460000", "+12120207946", "+4420794",
         "+35312079460", "+14155550100", "+998207946000", "+861020794600"],
    )  # fmt: skip
    with workspace_scope(acme):
        for typed in ("020 7946", "0207946", "1 207 946", "01", "+44 20", "020", "0 1", "02079460", "415"):
            filters = NumberFilters.from_query(QueryDict(urlencode({"q": typed})))
            old = Q(e164__contains=filters.digits)
            for codes, national in filters.national_readings:
                old |= Q(e164__regex=rf"^\+({'|'.join(map(str, codes))}){national}")
            expected = set(PhoneNumber.objects.filter(old).values_list("e164", flat=True))
            assert (
                set(PhoneNumber.objects.filter(digits_match(filters)).values_list("e164", flat=True))
                == expected
            )
            assert expected or typed == "01", typed


@pytest.mark.parametrize(
    "query",
    ["q=020+7946", "q=020+7946&page=2", "q=020+7946&page=4", "q=020+7946&page=7", "q=0207946&tag=sales",
     "q=020+7946&health=healthy", "q=1+415+555", "q=1+415+555&page=2"],
)  # fmt: skip
def test_national_readings_read_as_ranges_of_the_page_order_agree_with_the_walk(acme, query, monkeypatch):
    """A national reading's numbers are read from the page-order index, the first enough of each prefix in
    each environment, beside the trigram index's numbers containing the digits. With pages of 10 and counts
    capped at 5, the ranges are cut short, and every page and count is still the walk's."""
    from phone_numbers import selectors

    monkeypatch.setattr(selectors, "PER_PAGE", 10)
    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    add_e164s(acme, [f"+44207946{line:04d}" for line in range(0, 6000, 100)], tags=["sales"])  # 60, London
    add_e164s(acme, ["+12120207946", "+13120207946", "+442079460207946"])  # digits contained; the last both
    add_e164s(acme, [f"+1415555{line:04d}" for line in range(0, 45)] + ["+14165550000", "+4414155550"])
    client = Client()
    client.force_login(owner_of(acme))
    client.get("/w/acme/numbers/")  # the first view of a workspace records it in the session

    def seen():
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/w/acme/numbers/?{query}").content.decode()
        shown = re.findall(r'class="number">([^<]+)<', page), re.findall(r"· ([\d,+]+) numbers?", page)
        # A total past the cap says "+" after a sum of capped counts, or, with a tag, of exact ones.
        return shown, re.findall(r"(\d+)–(\d+) of \d+", page), len(queries)

    (ranges, ranges_pager, ranges_queries) = seen()
    monkeypatch.setattr(selectors, "_searched_counts_and_page", lambda *_: None)  # as with too many matches
    (walked, walked_pager, _) = seen()
    assert ranges == walked and ranges_pager == walked_pager
    assert ranges[0], query
    with workspace_scope(acme):
        PhoneNumber.objects.filter(e164__startswith="+4420794600").update(state="released")
    monkeypatch.undo()
    monkeypatch.setattr(selectors, "PER_PAGE", 10)
    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    assert seen()[2] == ranges_queries  # whatever a reading finds, the same queries


@pytest.mark.parametrize("query", ["tag=sales", "tag=sales&page=2", "tag=sales&page=5", "tag=sales&tag=vip"])
def test_a_tag_filter_read_until_every_environment_has_enough_agrees_with_reading_them_all(
    acme, query, monkeypatch
):
    """A tag filter stops reading the tag index once every environment has more than the cap (3 here); a
    page past the environments read whole walks the page-order index. Pages and counts are those of
    reading every match."""
    from phone_numbers import selectors

    monkeypatch.setattr(selectors, "PER_PAGE", 4)
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    add_numbers(acme, 30, tags=["sales", "vip"])
    add_numbers(acme, 3, start=100, tags=["sales"])  # 1 + 1 + 1: not enough in any environment
    add_numbers(acme, 10, start=200)
    client = Client()
    client.force_login(owner_of(acme))

    def seen():
        page = client.get(f"/w/acme/numbers/?{query}").content.decode()
        return (
            re.findall(r'class="number">([^<]+)<', page),
            re.findall(r"· ([\d,+]+) numbers?", page),
            re.findall(r"(\d+)–(\d+) of \d+", page),  # the total: a sum of capped counts, or of exact ones
        )

    read_until_enough = seen()
    monkeypatch.setattr(selectors, "_tagged_counts_and_page", lambda *_: None)
    assert read_until_enough == seen()
    assert read_until_enough[0], query
