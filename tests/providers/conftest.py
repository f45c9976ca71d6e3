"""Fresh fake provider servers per test, and adapters pointed at them with short timeouts."""

import uuid

import pytest

from providers.adapters import adapter_for

# A stalled answer comes after STALL seconds; the adapters give up after CLIENT_TIMEOUT.
CLIENT_TIMEOUT = 0.5
STALL = 1.5


# twilio_server and telnyx_server come from tests/conftest.py.

# Writes the provider carries out even when its answer is sparse: a refusal (ProviderError) would tell the
# caller nothing happened, and lose a bought number or a placed call.
WRITES = ("buy", "dial")


@pytest.fixture(params=["normal", "sparse", "error"])
def mode(request):
    """How the fake servers answer (tests/fakes/common.py): as usual, the least the spec allows, or the
    spec's own errors."""
    return request.param


def check_in_mode(mode, operation, server, run):
    """Run an operation against a server in `mode`: normal succeeds; sparse succeeds or fails with the
    contract's errors (never a crash, never a refusal of a write it did); error mode fails with them
    through every documented error of the operation's routes."""
    from providers.adapters.base import ProviderError, ProviderUnavailable

    server.mode = mode
    served = [route for route in server.routes if not route.public]
    turns = max(len(server.documented_errors(route)) for route in served) if mode == "error" else 1
    outcomes = []
    for _ in range(turns):
        try:
            outcomes.append(run())
        except (ProviderError, ProviderUnavailable) as exc:
            assert mode != "normal", exc
            assert exc.message and "None" not in exc.message
            assert not (mode == "sparse" and operation in WRITES and isinstance(exc, ProviderError)), exc
            outcomes.append(exc)
    assert all(complete(o) for o in outcomes), outcomes
    if mode == "error":
        # Releasing what the provider says is not there (404) is done; every other answer is an error.
        assert all(isinstance(o, Exception) or operation == "release" for o in outcomes), outcomes
    assert server.crashes == []
    return outcomes


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


def complete(outcome):
    """A result carries what its caller records: a bought number's id, a call's id, an account's id."""
    from providers.adapters.base import AccountInfo, DialResult, OwnedList, OwnedNumber, Purchase

    if isinstance(outcome, Purchase):
        return bool(outcome.e164 and outcome.order_id and (outcome.ref or not outcome.is_active))
    if isinstance(outcome, DialResult):
        return bool(outcome.call_id)
    if isinstance(outcome, AccountInfo):
        return bool(outcome.account_id)
    if isinstance(outcome, OwnedList):
        return all(complete(number) for number in outcome)
    if isinstance(outcome, OwnedNumber):
        return bool(outcome.ref and outcome.e164)
    return True
