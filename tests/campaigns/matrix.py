from campaigns.destinations import destinations_parse
from campaigns.services import campaign_create
from phone_numbers.models import Tag
from tenants.models import Environment
from tests.matrix import WorkspacePage

# Each payload would change something if a permitted role sent it.
PAGES = {
    "campaigns:list": WorkspacePage(),
    "campaigns:new": WorkspacePage(post={"name": "Hijack", "environment": "", "agent": "", "tags": []}),
    "campaigns:detail": WorkspacePage(),
    "campaigns:start": WorkspacePage(post={}),
    "campaigns:pause": WorkspacePage(post={}),
    "campaigns:resume": WorkspacePage(post={}),
    "campaigns:cancel": WorkspacePage(post={}),
}


def values(workspace):
    Tag.objects.create(name="outbound")
    campaign = campaign_create(
        workspace=workspace,
        actor=None,
        name="Matrix campaign",
        environment=Environment.objects.get(kind="live"),
        agent=None,
        tag_names=["outbound"],
        destinations=destinations_parse(b"phone\n+12125550100\n"),
    )
    return {"campaign_id": campaign.id}
