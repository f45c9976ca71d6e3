"""Fresh fake provider servers per test, and adapters pointed at them with short timeouts."""

import uuid

import pytest

from providers.adapters import adapter_for

# A stalled answer comes after STALL seconds; the adapters give up after CLIENT_TIMEOUT.
CLIENT_TIMEOUT = 0.5
STALL = 1.5


# twilio_server and telnyx_server come from tests/conftest.py.


@pytest.fixture
def twilio(twilio_server):
    return adapter_for(
        "twilio", twilio_server.credentials, base_url=twilio_server.base_url, timeout=CLIENT_TIMEOUT
    )


@pytest.fixture
def telnyx(telnyx_server):
    """Reads are not retried here, so one injected fault is one observed failure."""
    from providers.telnyx.adapter import TelnyxAdapter  # here: the Telnyx SDK takes seconds to import

    return TelnyxAdapter(
        telnyx_server.credentials, base_url=telnyx_server.base_url, timeout=CLIENT_TIMEOUT, read_retries=0
    )


@pytest.fixture
def sandbox_connection(db):
    """A sandbox connection: an account of its own, kept in the database, so no test sees another's."""
    from providers.models import ProviderConnection

    return ProviderConnection.unscoped.create(provider="sandbox", label=f"test-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def sandbox(sandbox_connection):
    """The sandbox adapter as Dialtone builds it: on the connection's account in the database."""
    from providers.services import connection_adapter

    return connection_adapter(sandbox_connection)
