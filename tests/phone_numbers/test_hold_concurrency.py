"""Two runs of the hold task at once (beat's and a retry, or two maintenance workers) release a number once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from phone_numbers.hold import number_hold, release_due
from phone_numbers.models import NumberOperation, PhoneNumber
from phone_numbers.services import number_link
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db(transaction=True)

NUMBERS = [f"+1415555{100 + i:04d}" for i in range(5)]


def test_two_runs_at_once_release_each_due_number_once(acme, twilio_server, settings):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": twilio_server.base_url}
    with workspace_scope(acme):
        account = ProviderConnection.objects.create(
            provider="twilio", label="Twilio", credentials=twilio_server.credentials
        )
        for e164 in NUMBERS:
            twilio_server.add_owned(e164)
            number = number_link(
                workspace=acme, actor=owner_of(acme), connection=account,
                environment=Environment.objects.get(kind="live"), e164=e164,
            )  # fmt: skip
            number_hold(number=number, actor=owner_of(acme))
        PhoneNumber.objects.update(release_at=timezone.now() - timedelta(minutes=1))

    start, released = threading.Barrier(2), []

    def run():
        try:
            start.wait(5)
            released.extend(release_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(twilio_server.requests_to("DELETE", "*/IncomingPhoneNumbers/*.json")) == len(NUMBERS)
    with all_workspaces():
        assert set(PhoneNumber.objects.values_list("state", flat=True)) == {"released"}
        operations = NumberOperation.objects.filter(kind="release")
        assert operations.count() == len(NUMBERS) and {o.state for o in operations} == {"succeeded"}
