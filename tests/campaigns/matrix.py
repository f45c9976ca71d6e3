from campaigns.control import campaign_create
from campaigns.destinations import destinations_parse
from campaigns.donotcall.services import dnc_add
from campaigns.models import DoNotCall
from phone_numbers.models import PhoneNumber, Tag
from providers.models import ProviderConnection
from tenants.models import Environment
from tests.matrix import WorkspacePage

# Each payload would change something if a permitted role sent it.
PAGES = {
    "campaigns:list": WorkspacePage(),
    "campaigns:new": WorkspacePage(
        post={"name": "Hijack", "environment": "", "agent": "", "tags": []},
        fields=(
            "destinations",
            "own_hours",
            "hours_days",
            "hours_start",
            "hours_end",
            "cap_campaign",
            "cap_day",
            "retry_no_answer_times",
            "retry_no_answer_after",
            "retry_busy_times",
            "retry_busy_after",
            "local_presence",
        ),  # fmt: skip
    ),
    "campaigns:detail": WorkspacePage(query=("state", "page", "seen")),
    "campaigns:upload": WorkspacePage(),
    "campaigns:calls_csv": WorkspacePage(query=("state",)),
    "campaigns:coverage": WorkspacePage(),
    "campaigns:number_calls": WorkspacePage(),
    "campaigns:start": WorkspacePage(post={}),
    "campaigns:pause": WorkspacePage(post={}),
    "campaigns:resume": WorkspacePage(post={}),
    "campaigns:cancel": WorkspacePage(post={}),
    "dnc:list": WorkspacePage(query=("q", "page")),
    "dnc:add": WorkspacePage(post={"numbers": "+12125550177", "note": "Hijack"}),
    "dnc:import": WorkspacePage(post={"preview": "x", "note": ""}, fields=("file",)),
    "dnc:export": WorkspacePage(),
    "dnc:remove": WorkspacePage(post={}),
    "dnc:token": WorkspacePage(post={}),
}


def values(workspace):
    live = Environment.objects.get(kind="live")
    connection = ProviderConnection.objects.create(
        provider="sandbox", label="Matrix outbound", credentials={"account": f"matrix-out-{workspace.slug}"}
    )
    caller_id = PhoneNumber.objects.create(
        e164="+14155550199", environment=live, connection=connection, provider_ref="SB-matrix-out",
        state=PhoneNumber.State.ACTIVE,
    )  # fmt: skip
    caller_id.tags.add(Tag.objects.create(name="outbound"))
    campaign = campaign_create(
        workspace=workspace,
        actor=None,
        name="Matrix campaign",
        environment=live,
        agent=None,
        tag_names=["outbound"],
        destinations=destinations_parse(b"phone\n+12125550100\n"),
    )
    dnc_add(workspace=workspace, actor=None, numbers=["+12125550188"], source="manual")
    entry_id = DoNotCall.objects.get(e164="+12125550188").id
    return {"campaign_id": campaign.id, "entry_id": entry_id}
