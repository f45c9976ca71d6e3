"""Forms of bulk changes and the CSV import: they parse and check input; bulk.py and csv_io.py do the work."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.db.models import Q

from agents.models import Agent, Variant
from phone_numbers.bulk_buy import MAX_QUANTITY, BuyRequest, area_codes_parse
from phone_numbers.forms import (
    ConnectionChoiceField,
    EnvironmentChoiceField,
    NumberFormBase,
    ProviderPickMixin,
    PurchaseKindMixin,
    environment_choices,
)
from phone_numbers.models import BulkJob
from phone_numbers.tags import clean_tag_names
from providers.adapters.base import NumberSearch, ProviderError
from providers.models import ProviderConnection
from providers.selectors import managed_connections, workspace_connections
from tenants.models import Environment
from tenants.scope import current_workspace

FILTER_KEYS = ("q", "tag", "health", "history")  # the Numbers page's filter, carried to "all matching"
KINDS = [(k, label) for k, label in BulkJob.Kind.choices if k not in (BulkJob.Kind.IMPORT, BulkJob.Kind.BUY)]


def _id(raw) -> int | None:
    text = str(raw or "")
    return int(text) if text.isascii() and text.isdecimal() and len(text) < 19 else None


class BulkForm(forms.Form):
    """What to do with the selection. The selection itself (ticked `number`s, or `all` with the page's
    filter) is read by bulk.bulk_selection; release is its own URL (admins) and asks for the count typed."""

    action = forms.ChoiceField(choices=KINDS, label="Change")
    agent = forms.CharField(required=False)
    variant = forms.CharField(required=False)
    confirm = forms.CharField(required=False, max_length=20)

    def __init__(self, data, *, release: bool):
        data = data.copy()
        if release:
            data["action"] = BulkJob.Kind.RELEASE
        super().__init__(data)
        self.release = release
        self.count = 0
        if not release:
            self.fields["action"].choices = [c for c in KINDS if c[0] != BulkJob.Kind.RELEASE]
        self.everything = data.get("all") == "1"
        raw_filter = data.get("filter")
        if raw_filter is None:  # from the Numbers page: its own query, as it is
            raw_filter = urlencode([(k, v) for k in FILTER_KEYS for v in data.getlist(k)])
        self.filter_query = raw_filter[:2000]
        self.tag_values = NumberFormBase._posted_tags(data)
        self.ids = [i for i in data.getlist("number") if _id(i) is not None][:1000]
        self.agents = list(Agent.objects.order_by("name"))
        self.variants = list(Variant.objects.select_related("agent").order_by("agent__name", "name"))

    @property
    def chosen(self) -> str:
        return self.data.get("action", "")

    def is_valid(self, *, count: int = 0) -> bool:
        self.count = count
        return super().is_valid()

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        if action in (BulkJob.Kind.TAG, BulkJob.Kind.UNTAG):
            try:
                cleaned["tags"] = clean_tag_names(self.tag_values)
            except forms.ValidationError as exc:
                self.add_error(None, exc)
                return cleaned
            if not cleaned["tags"]:
                self.add_error(None, "Enter at least one tag.")
        if action == BulkJob.Kind.ROUTE:
            agent_id, variant_id = _id(cleaned.get("agent")), _id(cleaned.get("variant"))
            if agent_id is None or not any(a.pk == agent_id for a in self.agents):
                self.add_error("agent", "Choose an agent.")
            elif cleaned.get("variant") and not any(
                v.pk == variant_id and v.agent_id == agent_id for v in self.variants
            ):
                self.add_error("variant", "Choose one of this agent's variants, or the agent's default.")
            cleaned["agent_id"], cleaned["variant_id"] = agent_id, variant_id
        if action == BulkJob.Kind.RELEASE and (cleaned.get("confirm") or "").strip() != str(self.count):
            self.add_error(
                "confirm",
                f"Type {self.count} to release {self.count} number{'s' if self.count != 1 else ''}.",
            )
        return cleaned

    def params(self) -> dict:
        action = self.cleaned_data["action"]
        if action in (BulkJob.Kind.TAG, BulkJob.Kind.UNTAG):
            return {"tags": self.cleaned_data["tags"]}
        if action == BulkJob.Kind.ROUTE:
            return {"agent": self.cleaned_data["agent_id"], "variant": self.cleaned_data["variant_id"]}
        return {}


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="The columns of an export: number, environment, agent, variant, tags, connection. Only number is required.",
    )
    connection = ConnectionChoiceField(
        queryset=ProviderConnection.unscoped.none(), required=False, empty_label="As each row says",
        label="Account connection", help_text="Where numbers to link are, for rows without a connection.",
    )  # fmt: skip
    environment = EnvironmentChoiceField(
        queryset=Environment.unscoped.none(), empty_label=None, label="Environment",
        help_text="For numbers to link, in rows without an environment.",
    )  # fmt: skip

    def __init__(self, *args, upload_refused: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.upload_refused = upload_refused
        self.fields["file"].required = not upload_refused
        workspace = current_workspace()
        ids = [c.pk for c in workspace_connections()]
        if workspace.plan.managed_number_limit:
            ids += [c.pk for c in managed_connections()]
        self.fields["connection"].queryset = ProviderConnection.unscoped.filter(
            Q(workspace=workspace) | Q(workspace__isnull=True), pk__in=ids
        ).order_by("workspace", "label")
        self.fields["environment"].queryset = Environment.objects.all()
        self.fields["environment"].choices = [(e.pk, e.get_kind_display()) for e in environment_choices()]
        if not self.is_bound:
            self.initial["environment"] = environment_choices()[-1].pk

    def clean(self):
        if self.upload_refused:
            raise forms.ValidationError(self.upload_refused)
        return super().clean()


class BulkBuyForm(PurchaseKindMixin, ProviderPickMixin, NumberFormBase):
    """Buy in bulk: how many numbers, where (area codes), and their setup; the quote comes first."""

    area_codes = forms.CharField(
        label="Area codes", max_length=200,
        help_text="One or more, separated by commas or spaces. The numbers are spread over them.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "415, 212"}),
        error_messages={"required": "Enter at least one area code, e.g. 415."},
    )  # fmt: skip
    quantity = forms.IntegerField(
        label="How many numbers", min_value=1, max_value=MAX_QUANTITY, initial=10,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 1, "max": MAX_QUANTITY}),
        error_messages={
            "required": "Enter how many numbers to buy.", "invalid": "Enter how many numbers to buy, e.g. 10.",
            "min_value": "Buy at least 1 number.", "max_value": f"Buy at most {MAX_QUANTITY} numbers at a time.",
        },
    )  # fmt: skip

    field_order = [
        "environment", "provider", "connection", "country", "kind", "area_codes", "quantity", "compliance",
        "inbound_agent", "inbound_variant", "tags",
    ]  # fmt: skip

    def __init__(self, data=None, *, workspace, **kwargs):
        super().__init__(data, **kwargs)
        self.setup_connections(workspace)
        self.setup_purchase()

    def clean_area_codes(self) -> tuple[str, ...]:
        return area_codes_parse(self.cleaned_data["area_codes"], country=self.country_and_kind()[0])

    def clean(self):
        cleaned = super().clean()
        country, kind = self.country_and_kind()
        try:
            NumberSearch.build(country=country, kind=kind, area_code=None, contains=None, limit=1)
        except ProviderError as exc:  # say, mobile numbers in the US
            self.add_error(None, exc.message)
        else:
            self._check_requirements(cleaned)
        return cleaned

    def buy_request(self) -> BuyRequest:
        data = self.cleaned_data
        country, kind = self.country_and_kind()
        return BuyRequest(
            connection=data["connection"], environment=data["environment"], country=country, kind=kind,
            area_codes=data["area_codes"], quantity=data["quantity"], agent=data["inbound_agent"],
            variant=data["inbound_variant"], tag_names=tuple(data["tags"]), bundle=self.chosen_bundle(),
        )  # fmt: skip
