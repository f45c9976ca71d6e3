from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection
from tenants.models import Environment
from tests.matrix import WorkspacePage

# The fields a number form has besides its payload (the modal cascades re-render with them, as GET).
FORM = ("environment", "connection", "inbound_agent", "inbound_variant", "tags", "tags_text")

PAGES = {
    "numbers:list": WorkspacePage(query=("q", "tag", "tags", "page", "health")),
    "numbers:new": WorkspacePage(
        post={"provider": "sandbox", "e164": "+14155550100", "idempotency_key": "a" * 32},
        fields=(*FORM, "country", "kind", "area_code", "contains", "compliance"),
    ),
    "numbers:link": WorkspacePage(post={"provider": "sandbox", "e164": "+14155550101"}, fields=FORM),
    "numbers:detail": WorkspacePage(),
    "numbers:edit": WorkspacePage(post={"tags": "hijacked", "version": "0"}, fields=FORM),
    "numbers:detach": WorkspacePage(post={}),
    "numbers:health": WorkspacePage(post={"action": "flag", "note": "hijacked"}),
    "numbers:delete": WorkspacePage(post={"idempotency_key": "b" * 32, "confirm_number": "+14155550142"}),
    "numbers:reputation": WorkspacePage(post={"every_days": "7"}),
}


def values(workspace):
    connection = ProviderConnection.objects.create(
        provider="sandbox", label="Matrix sandbox", credentials={"account": f"matrix-{workspace.slug}"}
    )
    number = PhoneNumber.objects.create(
        e164="+14155550142",
        environment=Environment.objects.get(kind="live"),
        connection=connection,
        provider_ref="SB-matrix",
        state=PhoneNumber.State.ACTIVE,
    )
    return {"number_id": number.id, "connection_id": connection.id}
