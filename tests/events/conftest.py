import pytest

from tests.events.receiver import Receiver


@pytest.fixture(autouse=True)
def _local_receivers(settings):
    settings.EVENTS_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.EVENTS_TIMEOUTS_S = (1.0, 1.0)


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r
