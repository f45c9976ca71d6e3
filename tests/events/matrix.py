from django.utils import timezone

from events.models import Delivery, Event
from events.services import endpoint_create
from tests.matrix import WorkspacePage

ENDPOINT = {"url": "https://example.com/hijack", "description": "x", "event_types": ["number.bought"],
            "enabled": "on"}  # fmt: skip

PAGES = {
    "events:list": WorkspacePage(),
    "events:new": WorkspacePage(post=ENDPOINT),
    "events:detail": WorkspacePage(query=("state", "page")),
    "events:edit": WorkspacePage(post=ENDPOINT),
    "events:test": WorkspacePage(post={}),
    "events:secret": WorkspacePage(post={}),
    "events:delete": WorkspacePage(post={}),
    "events:retry": WorkspacePage(post={}),
}


def values(workspace):
    endpoint, _ = endpoint_create(
        workspace=workspace,
        actor=None,
        url=f"https://example.com/{workspace.slug}",
        event_types=["number.bought"],
    )

    event = Event.objects.create(type="number.bought", body="{}", created_at=timezone.now())
    delivery = Delivery.objects.create(
        endpoint=endpoint, event=event, state=Delivery.State.FAILED, attempts=10
    )
    return {"endpoint_id": endpoint.id, "delivery_id": delivery.id}
