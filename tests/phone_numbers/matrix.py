from phone_numbers.models import BulkJob, BulkJobItem, PhoneNumber
from providers.models import ProviderConnection
from tenants.models import Environment
from tests.matrix import WorkspacePage

# The fields a number form has besides its payload (the modal cascades re-render with them, as GET).
FORM = ("environment", "connection", "inbound_agent", "inbound_variant", "tags", "tags_text")

PAGES = {
    "numbers:list": WorkspacePage(
        query=("q", "tag", "tags", "page", "health", "number", "all", "action", "filter")
    ),
    # Bulk changes: the selection (ticked numbers, or all matching the page's filter) and the change.
    "numbers:bulk": WorkspacePage(
        post={"action": "tag", "all": "1", "tags": "hijacked"},
        query=("number", "filter", "q", "tag", "health", "history"),
        fields=("tags_text", "agent", "variant", "confirm"),
    ),
    "numbers:bulk_release": WorkspacePage(
        post={"all": "1", "confirm": "1"}, query=("number", "filter", "action"), fields=("tags", "tags_text")
    ),
    # Buy in bulk: a POST by a permitted role makes a quote (nothing is bought until it is confirmed).
    "numbers:bulk_buy": WorkspacePage(
        post={"provider": "sandbox", "country": "US", "kind": "local", "area_codes": "415", "quantity": "2"},
        fields=(*FORM, "compliance"),
    ),
    "numbers:job": WorkspacePage(post={"quote": "0" * 32}, query=("show", "page", "poll")),
    "numbers:export": WorkspacePage(query=("q", "tag", "health", "history")),
    "numbers:import": WorkspacePage(post={"environment": "1"}, fields=("file", "connection")),
    "numbers:new": WorkspacePage(
        post={"provider": "sandbox", "e164": "+14155550100", "idempotency_key": "a" * 32},
        fields=(*FORM, "country", "kind", "area_code", "contains", "compliance"),
    ),
    "numbers:link": WorkspacePage(post={"provider": "sandbox", "e164": "+14155550101"}, fields=FORM),
    "numbers:detail": WorkspacePage(),
    "numbers:edit": WorkspacePage(post={"tags": "hijacked", "version": "0"}, fields=FORM),
    "numbers:detach": WorkspacePage(post={}),
    "numbers:health": WorkspacePage(post={"action": "flag", "note": "hijacked"}),
    "numbers:delete": WorkspacePage(
        post={
            "idempotency_key": "b" * 32,
            "version": "0",
            "action": "release",
            "confirm_number": "+14155550142",
        }
    ),
    "numbers:restore": WorkspacePage(post={"version": "1"}),
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
    # An import waiting for its confirmation: a POST by a permitted role would start it.
    job = BulkJob.objects.create(kind="import", state="preview", total=1, params={"rows": 1, "invalid": 0})
    BulkJobItem.objects.create(
        job=job, e164="+14155550143", row=2, payload={"action": "link", "changes": "Link"}
    )
    return {"number_id": number.id, "connection_id": connection.id, "job_id": job.id}
