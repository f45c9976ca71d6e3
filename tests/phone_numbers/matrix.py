from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection
from tenants.models import Environment
from tests.matrix import WorkspacePage

PAGES = {
    "numbers:list": WorkspacePage(),
    "numbers:new": WorkspacePage(
        post={"provider": "sandbox", "e164": "+14155550100", "idempotency_key": "a" * 32}
    ),
    "numbers:link": WorkspacePage(post={"provider": "sandbox", "e164": "+14155550101"}),
    "numbers:detail": WorkspacePage(),
    "numbers:edit": WorkspacePage(post={"tags": "hijacked", "version": "0"}),
    "numbers:detach": WorkspacePage(post={}),
    "numbers:delete": WorkspacePage(post={"idempotency_key": "b" * 32, "confirm_number": "+14155550142"}),
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
