"""The fakes answer as slowly as real providers when told to, and requests overlap as they would there."""

import threading
import time

import pytest

from providers.adapters import adapter_for
from tests.helpers import wait_until

FROM = "+14155550100"


@pytest.mark.parametrize("jitter", [0.0, 0.05])
def test_latency_delays_matching_requests_which_overlap(twilio_server, jitter):
    twilio_server.add_owned(FROM)
    twilio_server.set_latency(0.3, jitter=jitter, method="POST", path="*/Calls.json")
    adapter = adapter_for("twilio", twilio_server.credentials, base_url=twilio_server.base_url)
    took = []

    def dial(to):
        started = time.monotonic()
        adapter.dial(from_e164=FROM, to_e164=to, webhook_url="https://example.com/hook", reference="r")
        took.append(time.monotonic() - started)

    threads = [threading.Thread(target=dial, args=(f"+1212555{n:04d}",)) for n in (100, 101, 102)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert len(twilio_server.calls) == 3
    assert min(took) >= 0.3 - jitter  # a lower bound: the answer waited at least the latency
    assert twilio_server.max_in_flight == 3  # answered side by side, as a real provider does
    # Each handler counts itself out just after writing its answer, which the client may read first.
    wait_until(lambda: twilio_server.in_flight == 0, timeout=5, every=0.01)
    requests = twilio_server.requests_to("POST", "*/Calls.json")
    assert all(r.at > 0 for r in requests)  # when each arrived: the provider's own log


def test_latency_applies_only_to_matching_requests(twilio_server):
    twilio_server.set_latency(0.3, method="POST", path="*/Calls.json")
    adapter = adapter_for("twilio", twilio_server.credentials, base_url=twilio_server.base_url)
    adapter.verify()
    [fetch] = twilio_server.requests
    assert not twilio_server.latency.matches(fetch)
    twilio_server.set_latency(0)
    assert twilio_server.latency is None
    with pytest.raises(ValueError):
        twilio_server.set_latency(0.1, jitter=0.2)


def test_telnyx_takes_a_latency_too(telnyx_server):
    telnyx_server.set_latency(0.2, jitter=0.1)
    adapter = adapter_for("telnyx", telnyx_server.credentials, base_url=telnyx_server.base_url)
    started = time.monotonic()
    adapter.verify()
    assert time.monotonic() - started >= 0.1
