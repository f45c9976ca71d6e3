"""One sign-in policy for every form that checks a password: a growing delay per (username, address) and
per address, recorded before the password is checked, never a lock that a stranger can put on an account."""

import re
import threading

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.test import Client
from django.urls import reverse

from tenants.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER, VICTIM, OFFICE = "203.0.113.66", "198.51.100.7", "192.0.2.10"
WAIT = re.compile(r"Too many attempts\. Try again in (\d+) seconds?\.")


@pytest.fixture(autouse=True)
def policy(settings):
    settings.LOGIN_THROTTLE_FREE_ATTEMPTS = 3
    settings.LOGIN_THROTTLE_ADDRESS_FREE_ATTEMPTS = 10
    settings.LOGIN_THROTTLE_DELAY_SECONDS = 10
    settings.LOGIN_THROTTLE_MAX_DELAY_SECONDS = 40
    return settings


def login(username, password, address, client=None, url=None, **headers):
    client = client or Client()
    data = {"username": username, "password": password}
    return client.post(url or reverse("login"), data, REMOTE_ADDR=address, **headers)


def waited(response) -> int | None:
    """The wait the page asks for, in seconds; None when the attempt was not throttled."""
    match = WAIT.search(response.content.decode())
    return int(match[1]) if match else None


def let_time_pass(seconds: float) -> None:
    """Move every recorded attempt back in time: the policy reads its clock from Redis, which tests can't
    advance, so the attempts are made older instead."""
    store = redis.Redis.from_url(django_settings.REDIS_URL)
    for key in store.scan_iter("dialtone:signin:*"):
        store.hincrbyfloat(key, "last", -seconds)


def test_a_correct_password_from_another_address_is_not_blocked_by_an_attackers_failures(acme):
    for _ in range(8):
        login("vic_viewer", "guess", ATTACKER)
    # The attacker's own address waits, even with the right password...
    assert waited(login("vic_viewer", PASSWORD, ATTACKER))
    # ...while the account's owner, elsewhere, signs in.
    assert login("vic_viewer", PASSWORD, VICTIM).status_code == 302


def test_an_address_is_throttled_across_usernames(acme):
    for n in range(10):
        response = login(f"someone{n}", "guess", ATTACKER)
        assert "don&#x27;t match" in response.content.decode()
    assert waited(login("olga_operator", PASSWORD, ATTACKER))
    assert login("olga_operator", PASSWORD, OFFICE).status_code == 302


def test_the_delay_doubles_after_the_free_attempts_up_to_the_cap(acme):
    for _ in range(3):
        assert "don&#x27;t match" in login("vic_viewer", "guess", ATTACKER).content.decode()
    waits = []
    for delay in (10, 20, 40, 40):
        wait = waited(login("vic_viewer", PASSWORD, ATTACKER))
        assert wait is not None and wait <= delay
        waits.append(wait)
        let_time_pass(delay)
        # The wait is over: this guess is checked (and fails), and the next one waits twice as long.
        assert "don&#x27;t match" in login("vic_viewer", "guess", ATTACKER).content.decode()
    final = waited(login("vic_viewer", PASSWORD, ATTACKER))
    assert 20 < final <= 40  # capped
    assert waits[0] <= 10 < waits[1] <= 20 < waits[2] <= 40


def test_the_message_is_the_same_whether_or_not_the_account_exists(acme):
    for username in ("vic_viewer", "nobody_here"):
        for _ in range(3):
            login(username, "guess", ATTACKER)
    there = WAIT.search(login("vic_viewer", "guess", ATTACKER).content.decode())
    not_there = WAIT.search(login("nobody_here", "guess", ATTACKER).content.decode())
    assert there and not_there
    assert re.sub(r"\d+", "N", there[0]) == re.sub(r"\d+", "N", not_there[0])


def test_admin_login_is_throttled_like_the_dashboard_login(acme, make_user):
    make_user("root", is_staff=True, is_superuser=True)
    admin_login = reverse("admin:login")
    for _ in range(3):
        response = login("root", "guess", ATTACKER, url=admin_login)
        assert response.status_code == 200 and waited(response) is None
    client = Client()
    response = login("root", PASSWORD, ATTACKER, client=client, url=admin_login)
    assert response.status_code == 200 and waited(response)
    assert "_auth_user_id" not in client.session
    # The dashboard form counts the same attempts.
    assert waited(login("root", PASSWORD, ATTACKER))
    assert login("root", PASSWORD, VICTIM, url=admin_login).status_code == 302


def test_the_proxys_address_is_used_only_behind_a_proxy(acme, settings):
    # Not behind a proxy: X-Forwarded-For is whatever the client wrote, so it changes nothing.
    for n in range(10):
        login(f"someone{n}", "guess", ATTACKER, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    assert waited(login("olga_operator", PASSWORD, ATTACKER, HTTP_X_FORWARDED_FOR="10.0.0.99"))

    # Behind a proxy every request comes from the proxy; the client is the address the proxy saw (the
    # last hop it appended), not what the client put before it.
    settings.BEHIND_PROXY = True
    proxy = "172.18.0.2"
    for n in range(10):
        login(f"other{n}", "guess", proxy, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, {ATTACKER}")
    assert waited(login("olga_operator", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=ATTACKER))
    assert login("olga_operator", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=VICTIM).status_code == 302


def test_the_start_of_a_throttle_is_audited_where_an_admin_sees_it(acme, make_user):
    for _ in range(6):
        login("vic_viewer", "guess", ATTACKER)
    events = list(AuditEvent.unscoped.filter(action="signin.throttled"))
    assert len(events) == 1  # the start, not every refused attempt
    [event] = events
    assert event.workspace is None
    assert event.details == {"username": "vic_viewer", "address": ATTACKER, "by": "username and address"}
    for n in range(7):
        login(f"someone{n}", "guess", ATTACKER)
    by_address = AuditEvent.unscoped.filter(action="signin.throttled", details__by="address").get()
    assert by_address.details["address"] == ATTACKER
    # No workspace lists it; Django admin does.
    admin = Client()
    admin.force_login(make_user("root", is_staff=True, is_superuser=True))
    listed = admin.get(reverse("admin:tenants_auditevent_changelist")).content.decode()
    assert listed.count('<td class="field-action">signin.throttled</td>') == 2
    shown = admin.get(reverse("admin:tenants_auditevent_change", args=[event.pk])).content.decode()
    assert ATTACKER in shown and "vic_viewer" in shown


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("usernames", "allowed"), [("one", 3), ("many", 10)])
def test_concurrent_guesses_never_check_more_passwords_than_allowed(acme, usernames, allowed):
    """40 guesses at once from one address, at one username (3 free) or at 40 (10 free for the address)."""
    checked = []
    user_login_failed.connect(checked_password := lambda **kw: checked.append(1), weak=False)
    threads, start, pages = 40, threading.Barrier(40), []

    def guess(n):
        try:
            start.wait()
            username = "vic_viewer" if usernames == "one" else f"user{n}"
            pages.append(login(username, f"guess-{n}", ATTACKER).content.decode())
        finally:
            connection.close()

    try:
        workers = [threading.Thread(target=guess, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        user_login_failed.disconnect(checked_password)
    assert len(pages) == threads
    assert len(checked) == allowed
    assert sum("don&#x27;t match" in page for page in pages) == allowed
    assert sum(bool(WAIT.search(page)) for page in pages) == threads - allowed
