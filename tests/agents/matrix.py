from agents.services import agent_create, variant_create
from tests.matrix import WorkspacePage

# Each payload would change something if a permitted role sent it (tests/agents/test_views.py proves it).
PAGES = {
    "agents:list": WorkspacePage(),
    "agents:new": WorkspacePage(
        post={"name": "Hijacker", "sip_destination": "sip:evil@evil.example"}, fields=("description",)
    ),
    "agents:edit": WorkspacePage(
        post={"name": "Renamed", "sip_destination": "sip:evil@evil.example"}, fields=("description",)
    ),
    "agents:delete": WorkspacePage(post={}),
    "agents:variant-new": WorkspacePage(post={"name": "hijack"}),
    "agents:variant-edit": WorkspacePage(post={"name": "renamed"}),
    "agents:variant-delete": WorkspacePage(post={}),
    "agents:variant-publish": WorkspacePage(post={"environments": ["live"]}),
}


def values(workspace):
    agent = agent_create(
        workspace=workspace, actor=None, name="Front desk", sip_destination="sip:desk@voice.example"
    )
    variant = variant_create(agent=agent, actor=None, name="london")
    return {"agent_id": agent.id, "variant_id": variant.id}
