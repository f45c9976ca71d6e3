"""/api/v1/connections/{id}/inventory: the buy modal's search, with what a purchase there requires, so a
client can pick a number (and the bundle it needs) before `POST /numbers` buys it."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from api.base import Refused, allow
from phone_numbers.selectors import inventory_search
from providers.adapters.base import KIND_LABELS, NumberSearch, ProviderError
from providers.selectors import PurchaseRequirements, connection_for_workspace, purchase_requirements

router = Router(tags=["numbers"])


class InventoryQuery(Schema):
    country: Literal["US", "GB"] = "US"
    kind: Literal["local", "mobile", "toll_free"] = "local"
    area_code: str = Field("", max_length=3, description="US only: three digits, like 415")
    contains: str = Field("", max_length=32, description="Digits the number contains, in any format")
    limit: int = Field(20, ge=1, le=50)


class AvailableOut(Schema):
    e164: str
    locality: str | None
    region: str | None
    voice: bool
    sms: bool
    monthly_price: Decimal | None = Field(description="Null where the provider does not say")
    currency: str | None


class BundleOut(Schema):
    value: str = Field(description="Send it as `bundle` when buying one of these numbers")
    label: str


class RequirementsOut(Schema):
    needed: bool | None = Field(description="Null: the provider could not say now (it checks at purchase)")
    in_words: str
    bundles: list[BundleOut] = Field(description="The account's approved bundles or addresses that meet it")
    blocked: bool = Field(description="Needed and none approved: no number here can be bought")


class InventoryOut(Schema):
    numbers: list[AvailableOut]
    requirements: RequirementsOut


def requirements_out(found: PurchaseRequirements) -> dict:
    return {
        "needed": None if found.needs is None else found.needs.any,
        "in_words": found.error if found.needs is None else found.needs.in_words(),
        "bundles": [{"value": b.value, "label": b.label} for b in found.bundles],
        "blocked": found.blocked,
    }


@router.get(
    "/connections/{int:connection_id}/inventory",
    response=InventoryOut,
    summary="Numbers available to buy at a connection, and what buying them requires",
)
def inventory(request: HttpRequest, connection_id: int, query: Query[InventoryQuery]):
    allow(request, "numbers.manage")
    connection = connection_for_workspace(request.workspace, connection_id)
    if connection is None:
        raise Refused(404, f"There is no connection {connection_id} this workspace can use.", "not_found")
    try:
        NumberSearch.build(
            country=query.country,
            kind=query.kind,
            area_code=query.area_code,
            contains=query.contains,
            limit=1,
        )
    except ProviderError as exc:  # toll-free in the UK is fine, mobile in the US is not, and so on
        raise Refused(422, exc.message, "invalid") from None
    found = inventory_search(
        connection,
        country=query.country,
        kind=query.kind,
        area_code=query.area_code or None,
        contains=query.contains or None,
        limit=query.limit,
    )
    if found.error:
        raise Refused(502, found.error, "provider_error")
    needs = purchase_requirements(connection, query.country, query.kind)
    return {
        "numbers": [
            {
                "e164": n.e164,
                "locality": n.locality,
                "region": n.region,
                "voice": n.capabilities.voice,
                "sms": n.capabilities.sms,
                "monthly_price": n.monthly_price,
                "currency": n.currency,
            }  # fmt: skip
            for n in found.numbers
        ],
        "requirements": requirements_out(needs),
    }


def kinds_of(e164: str) -> tuple[str, tuple[str, ...]]:
    """The country and the kinds a number can be bought as, read off the number itself."""
    import phonenumbers

    from phone_numbers.forms import KINDS_OF_TYPE

    parsed = phonenumbers.parse(e164)
    kinds = KINDS_OF_TYPE.get(phonenumbers.number_type(parsed), {"local"})
    return phonenumbers.region_code_for_number(parsed) or "", tuple(k for k in KIND_LABELS if k in kinds)
