from tenants.models import Environment
from tests.matrix import WorkspacePage

PAGES = {
    "workspace": WorkspacePage(),
    "settings": WorkspacePage(),
    "environment-edit": WorkspacePage(post={"sip_main": "sip:hijack@evil.example", "sip_fallback": ""}),
    "activity": WorkspacePage(),
}


def values(workspace):
    return {"environment_id": Environment.objects.get(kind="live").id}
