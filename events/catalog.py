"""The events a workspace can subscribe an endpoint to, and the audited actions each comes from.

Events are published from what services already record (tenants/audit.py), so a change and its event are
written in one transaction: an event is never sent for a change that rolled back, nor lost for one that
committed. call.completed is the exception: a call's outcome is not audited (thousands a minute), and
campaigns/outcomes.py publishes it where the outcome becomes known.
"""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "number.bought": "A number was bought at a provider",
    "number.released": "A number was released at its provider",
    "number.health_changed": "A number's health changed (healthy, watch, at risk, resting, retired)",
    "campaign.finished": "A campaign called every destination",
    "call.completed": "A campaign call ended (answered, busy, no answer, failed)",
}
TEST_EVENT = "endpoint.test"  # the "Send test" button's; no endpoint subscribes to it

# audited action -> event type
FROM_AUDIT: dict[str, str] = {
    "number.bought": "number.bought",
    "number.released": "number.released",
    "number.health": "number.health_changed",
    "campaign.finished": "campaign.finished",
}
