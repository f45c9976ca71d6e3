"""How every modal write ends (tenants/http.py): htmx refreshes in place, a page goes back where it came from."""

import json
from types import SimpleNamespace

import pytest
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from tenants.http import back_to, finish

LIST = "/w/acme/numbers/?q=1415&tag=vip&page=2"


def request(method="post", data=None, workspace="acme", **headers):
    made = getattr(RequestFactory(), method)("/w/acme/numbers/7/edit/", data or {}, headers=headers)
    if workspace:
        made.workspace = SimpleNamespace(slug=workspace)
    made.htmx = HtmxDetails(made)
    return made


@pytest.mark.parametrize(
    ("data", "headers", "expected"),
    [
        ({"next": LIST}, {}, LIST),
        ({}, {"HX-Current-URL": f"http://testserver{LIST}"}, LIST),
        ({}, {"Referer": f"http://testserver{LIST}"}, LIST),
        ({"next": "https://evil.example/w/acme/numbers/"}, {}, "/fallback/"),  # another site
        ({"next": "//evil.example/w/acme/"}, {}, "/fallback/"),
        ({"next": "/w/globex/numbers/"}, {}, "/fallback/"),  # another workspace
        ({}, {"Referer": "http://testserver/login/?next=/w/acme/numbers/7/edit/"}, "/fallback/"),
        ({}, {"Referer": "http://testserver/w/acme/numbers/7/edit/"}, "/fallback/"),  # the modal itself
        ({"next": "javascript:alert(1)"}, {"Referer": f"http://testserver{LIST}"}, LIST),
    ],
)
def test_back_to_is_where_the_person_came_from_within_the_workspace(data, headers, expected):
    assert back_to(request(data=data, **headers), "/fallback/") == expected


def test_an_htmx_write_asks_the_page_to_refresh_in_place():
    response = finish(request(data={"next": LIST}, **{"HX-Request": "true"}), "/w/acme/numbers/")
    assert response.status_code == 204 and "written" in json.loads(response["HX-Trigger"])


def test_a_page_write_goes_back_to_the_list_it_came_from():
    response = finish(request(data={"next": LIST}), "/w/acme/numbers/")
    assert response.status_code == 302 and response.url == LIST
    assert finish(request(), "/w/acme/numbers/").url == "/w/acme/numbers/"


def test_a_write_that_goes_elsewhere_moves_the_whole_page():
    to = "/w/acme/campaigns/3/"
    assert finish(request(**{"HX-Request": "true"}), to, go=True)["HX-Redirect"] == to
    assert finish(request(data={"next": LIST}), to, go=True).url == to
    # Out of the workspace (leaving it): no page of it is left to refresh, nor to go back to.
    assert finish(request(data={"next": LIST}, **{"HX-Request": "true"}), "/")["HX-Redirect"] == "/"
    assert finish(request(data={"next": LIST}, workspace=None), "/w/acme/numbers/").url == "/w/acme/numbers/"
