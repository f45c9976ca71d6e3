"""Forms of the Numbers desk. They parse and validate input; services do the work."""

from __future__ import annotations

import uuid

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from phonenumbers import PhoneNumberType

from agents.selectors import assignable_agents, variants_published_to
from phone_numbers.health import FLAG_NOTE_MAX
from phone_numbers.models import ReputationSchedule
from phone_numbers.services import normalize_e164
from phone_numbers.tags import clean_tag_names
from providers import registry
from providers.adapters.base import COUNTRY_NAMES, KIND_LABELS, OFFERED_KINDS, NumberSearch, ProviderError
from providers.models import ProviderConnection
from providers.selectors import (
    managed_connections,
    managed_usage,
    purchase_requirements,
    workspace_connections,
)
from tenants.display import phone
from tenants.models import Environment

COUNTRIES = [("US", "United States (+1)"), ("GB", "United Kingdom (+44)")]
KINDS = [(kind, label.capitalize()) for kind, label in KIND_LABELS.items()]
DIGITS_EXAMPLES = {"US": "+1415", "GB": "+4420"}
# The kinds a number of each type can be offered as; any other type (VoIP, UAN...) only as local.
KINDS_OF_TYPE = {
    PhoneNumberType.FIXED_LINE: {"local"},
    PhoneNumberType.FIXED_LINE_OR_MOBILE: {"local", "mobile"},  # US numbers look the same either way
    PhoneNumberType.MOBILE: {"mobile"},
    PhoneNumberType.TOLL_FREE: {"toll_free"},
}


def environment_choices():
    order = [Environment.Kind.LIVE, Environment.Kind.PRE_RELEASE, Environment.Kind.SANDBOX]
    return sorted(Environment.objects.all(), key=lambda e: order.index(e.kind))


class IdempotencyKeyField(forms.CharField):
    """The hidden key a buy or a release is recorded under: a UUID the form made, nothing else."""

    widget = forms.HiddenInput

    def to_python(self, value):
        try:
            return uuid.UUID(hex=super().to_python(value)).hex
        except ValueError:
            raise ValidationError("This form is out of date; reopen it.") from None


class EnvironmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_kind_display()


class ConnectionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ProviderConnection):
        return f"{obj.label} (managed by Dialtone)" if obj.is_managed else obj.label


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class NumberFormBase(forms.Form):
    """Environment, agent, variant and tags: shared by New, Link and Edit."""

    environment = EnvironmentChoiceField(queryset=Environment.unscoped.none(), empty_label=None)
    inbound_agent = AgentChoiceField(
        queryset=None,
        required=False,
        empty_label="No agent yet",
        label="Inbound agent",
        help_text="Answers calls to this number. You can assign one later.",
    )
    inbound_variant = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Agent's default",
        label="Variant",
        help_text="Only variants published to the number's environment can be chosen.",
    )
    tags = forms.CharField(required=False, widget=forms.HiddenInput)  # the widget posts several values

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.tag_values = self._posted_tags(data if data is not None else self.initial)
        self.fields["environment"].queryset = Environment.objects.all()
        self.fields["environment"].choices = [(e.pk, e.get_kind_display()) for e in environment_choices()]
        environment = self._chosen_environment()
        if not self.is_bound:
            # The select shows what the form will use: with no choice (or one not in this workspace) that is
            # sandbox, not the first option.
            self.initial["environment"] = environment.pk
        self.fields["inbound_agent"].queryset = assignable_agents(environment)
        agent = self._chosen("inbound_agent", self.fields["inbound_agent"].queryset)
        variants = variants_published_to(environment)
        self.fields["inbound_variant"].queryset = variants.filter(agent=agent) if agent else variants.none()

    @staticmethod
    def _posted_tags(data) -> list[str]:
        # Chips post one `tags` each; without JavaScript the text box posts "a, b, c".
        values = data.getlist("tags") if hasattr(data, "getlist") else list(data.get("tags") or [])
        text = data.get("tags_text") or ""
        return [v for v in values if v.strip()] + [t for t in text.split(",") if t.strip()]

    def value_of(self, name):
        """What the person has chosen so far: posted data, or the values a cascade re-render carried."""
        return self.data.get(name) if self.is_bound else self.initial.get(name)

    def _chosen(self, name, queryset):
        raw = self.value_of(name)
        if raw in (None, ""):
            return None
        pk = getattr(raw, "pk", raw)
        try:
            return queryset.filter(pk=pk).first()
        except (ValueError, TypeError):
            return None

    def _chosen_environment(self) -> Environment:
        chosen = self._chosen("environment", Environment.objects.all())
        return chosen or environment_choices()[-1]  # sandbox: the safe default

    def clean_tags(self):
        return clean_tag_names(self.tag_values)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("inbound_variant") and not cleaned.get("inbound_agent"):
            self.add_error("inbound_variant", "Choose the agent before its variant.")
        return cleaned


class ProviderPickMixin(forms.Form):
    """Provider, then one of its connections (the workspace's own, or managed ones the plan allows)."""

    provider = forms.ChoiceField(choices=(), label="Provider")
    connection = ConnectionChoiceField(
        queryset=ProviderConnection.unscoped.none(), empty_label=None, label="Account connection"
    )

    def number_fields(self) -> dict:
        """What the buy and link services take from a valid New or Link form."""
        data = self.cleaned_data
        return {
            "connection": data["connection"],
            "environment": data["environment"],
            "e164": data["e164"],
            "agent": data["inbound_agent"],
            "variant": data["inbound_variant"],
            "tag_names": data["tags"],
        }

    def setup_connections(self, workspace):
        # Accounts with real numbers first; sorted() keeps each group in the query's order.
        own = sorted(workspace_connections(), key=lambda c: registry.get(c.provider).for_trying)
        managed = list(managed_connections()) if workspace.plan.managed_number_limit else []
        everything = own + managed
        providers = list(dict.fromkeys(c.provider for c in everything))
        self.fields["provider"].choices = [(p, registry.get(p).label) for p in providers]
        provider = self.value_of("provider") or (providers[0] if providers else "")
        if provider not in providers and providers:
            provider = providers[0]
        self.provider_key = provider
        self.initial.setdefault("provider", provider)
        ids = [c.pk for c in everything if c.provider == provider]
        self.fields["connection"].queryset = ProviderConnection.unscoped.filter(pk__in=ids).order_by(
            "workspace", "label"
        )
        self.connections = [c for c in everything if c.provider == provider]
        chosen = self._chosen("connection", self.fields["connection"].queryset)
        self.chosen_connection = chosen or (self.connections[0] if self.connections else None)
        managed = self.chosen_connection is not None and self.chosen_connection.is_managed
        self.managed_usage = managed_usage(workspace) if managed else None


def pick_mismatch(e164: str, *, country: str, kind: str, area_code: str | None, contains: str | None) -> str:
    """Why a picked number is not one the search could have offered ("" when it could be). The pick and
    the search fields come from the page together, so a list left from an earlier search buys nothing."""
    number = phonenumbers.parse(e164)
    if phonenumbers.region_code_for_number(number) != country:
        return f"{phone(e164)} is not a number in {COUNTRY_NAMES[country]}: pick one from the list."
    if area_code and not phonenumbers.national_significant_number(number).startswith(area_code):
        return f"{phone(e164)} is not in area code {area_code}: pick one from the list."
    if contains and contains not in e164:
        return f"{phone(e164)} does not contain the digits {contains}: pick one from the list."
    if kind not in KINDS_OF_TYPE.get(phonenumbers.number_type(number), {"local"}):
        return f"{phone(e164)} is not a {KIND_LABELS[kind]} number: pick one from the list."
    return ""


class CountryOnlyRadios(forms.RadioSelect):
    """Every kind of number, the ones the chosen country does not sell disabled; data-countries lets
    app.js follow a change of country at once."""

    offered: tuple[str, ...] = ()

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        option["attrs"]["data-countries"] = " ".join(
            c for c, kinds in OFFERED_KINDS.items() if value in kinds
        )
        option["attrs"]["disabled"] = value not in self.offered
        return option


class PurchaseKindMixin(forms.Form):
    """Country, type and the regulatory bundle they may need at the chosen connection: shared by New number
    and Buy in bulk. Call setup_purchase() once the connection is chosen (setup_connections)."""

    country = forms.ChoiceField(choices=COUNTRIES, initial="US", widget=forms.RadioSelect)
    kind = forms.ChoiceField(
        choices=KINDS, initial="local", required=False, label="Type", widget=CountryOnlyRadios
    )
    # An approved bundle or address of the account, where the country and type need one.
    compliance = forms.ChoiceField(
        required=False,
        label="Regulatory bundle",
        help_text="Attached to the number at purchase.",
        error_messages={"invalid_choice": "Choose one of this account's approved bundles."},
    )

    def setup_purchase(self):
        self.requirements = self._requirements()
        bundles = self.requirements.bundles if self.requirements else ()
        self.fields["compliance"].choices = [("", "Choose a bundle")] + [(b.value, b.label) for b in bundles]
        self.fields["kind"].widget.offered = OFFERED_KINDS[self.country_and_kind()[0]]

    def country_and_kind(self) -> tuple[str, str]:
        """The chosen country and type, from whatever was typed so far (valid or not yet)."""
        country = self.value_of("country")
        country = country if country in dict(COUNTRIES) else "US"
        kind = self.value_of("kind")
        return country, kind if kind in dict(KINDS) else "local"

    def _requirements(self):
        """What the chosen country and type need at the chosen connection; None before there is one."""
        country, kind = self.country_and_kind()
        if self.chosen_connection is None or kind not in OFFERED_KINDS[country]:
            return None
        return purchase_requirements(self.chosen_connection, country, kind)

    def _check_requirements(self, cleaned):
        found = self.requirements
        if found is None or found.needs is None or not found.needs.any:
            return  # nothing needed, or the provider can't say now: it decides at purchase
        if found.blocked:
            self.add_error(
                None,
                f"{found.needs.in_words()} This account has none approved: add one at "
                f"{self.chosen_connection.get_provider_display()}, or pick another country or type.",
            )
        elif not cleaned.get("compliance") and "compliance" not in self.errors:
            self.add_error(
                "compliance", f"Choose the bundle to attach: these numbers need {found.needs.what}."
            )

    def chosen_bundle(self):
        value = self.cleaned_data.get("compliance")
        return self.requirements.bundle(value) if value and self.requirements else None


class BuyForm(PurchaseKindMixin, ProviderPickMixin, NumberFormBase):
    area_code = forms.CharField(
        required=False,
        max_length=3,
        label="Area code",
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "placeholder": "415",
                "data-countries": "US",
            }
        ),
    )
    contains = forms.CharField(
        required=False,
        max_length=32,  # digits in any format: "+44 7400 1234 42" is 16 characters
        label="Search digits",
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "off"}
            | {f"data-placeholder-{country.lower()}": example for country, example in DIGITS_EXAMPLES.items()}
        ),
    )
    e164 = forms.CharField(label="Number", error_messages={"required": "Pick a number from the list."})
    idempotency_key = IdempotencyKeyField()

    field_order = [
        "environment",
        "provider",
        "connection",
        "country",
        "kind",
        "area_code",
        "contains",
        "e164",
        "compliance",
        "inbound_agent",
        "inbound_variant",
        "tags",
    ]

    def __init__(self, data=None, *, workspace, **kwargs):
        super().__init__(data, **kwargs)
        self.setup_connections(workspace)
        self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
        self.setup_purchase()
        # The search fields follow the country (app.js does the same in the page, without a round trip).
        country = self.search_params()["country"]
        self.fields["area_code"].disabled = country != "US"  # a disabled field's posted value is ignored
        self.fields["contains"].widget.attrs["placeholder"] = DIGITS_EXAMPLES[country]

    def clean_area_code(self):
        code = self.cleaned_data["area_code"].strip()
        if code and not (code.isdigit() and len(code) == 3):
            raise ValidationError("A US area code has 3 digits, e.g. 415.")
        return code

    def clean_contains(self):
        return "".join(ch for ch in self.cleaned_data["contains"] if ch.isdigit())

    def clean_e164(self):
        return normalize_e164(self.cleaned_data["e164"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("e164"):
            search = self.search_params()
            try:
                NumberSearch.build(**search, limit=1)
            except ProviderError as exc:  # say, mobile numbers in the US
                self.add_error(None, exc.message)
            else:
                if mismatch := pick_mismatch(cleaned["e164"], **search):
                    self.add_error("e164", mismatch)
                self._check_requirements(cleaned)
        return cleaned

    def search_params(self) -> dict:
        """What to ask the inventory, from whatever was typed so far (valid or not yet)."""
        country, kind = self.country_and_kind()
        area = (self.value_of("area_code") or "").strip()
        contains = "".join(ch for ch in (self.value_of("contains") or "") if ch.isdigit())
        return {
            "country": country,
            "kind": kind,
            "area_code": area if country == "US" and area.isdigit() and len(area) == 3 else None,
            "contains": contains or None,
        }


class LinkForm(ProviderPickMixin, NumberFormBase):
    e164 = forms.CharField(
        label="Number",
        max_length=32,
        help_text="In international format, e.g. +14155550142, or pick one below.",
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "off", "placeholder": "+14155550142"}
        ),
    )

    field_order = [
        "environment",
        "provider",
        "connection",
        "e164",
        "inbound_agent",
        "inbound_variant",
        "tags",
    ]

    def __init__(self, data=None, *, workspace, **kwargs):
        super().__init__(data, **kwargs)
        self.setup_connections(workspace)

    def clean_e164(self):
        return normalize_e164(self.cleaned_data["e164"])


class EditForm(NumberFormBase):
    version = forms.IntegerField(widget=forms.HiddenInput)


class DeleteForm(forms.Form):
    """Delete: hold the number (the workspace's release_hold_days), or release it now with the number typed.
    A workspace holding deleted numbers 0 days releases at once, so its deletes are typed too."""

    HOLD, RELEASE = "hold", "release"
    action = forms.ChoiceField(
        choices=[(HOLD, "Delete"), (RELEASE, "Release now")], required=False,
        error_messages={"invalid_choice": "Choose to delete the number or to release it now."},
    )  # fmt: skip
    idempotency_key = IdempotencyKeyField()
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={"required": "This form is out of date; reopen it.", "invalid": "This form is out of date; reopen it."},
    )  # fmt: skip
    confirm_number = forms.CharField(required=False, label="Type the number to confirm")

    def __init__(self, data=None, *, number, **kwargs):
        super().__init__(data, **kwargs)
        self.number = number
        self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
        self.initial.setdefault("version", number.version)

    @property
    def hold_days(self) -> int:
        return self.number.workspace.release_hold_days

    @property
    def releases_now(self) -> bool:
        chosen = self.cleaned_data.get("action") if hasattr(self, "cleaned_data") else None
        return self.hold_days == 0 or self.number.on_hold or chosen == self.RELEASE

    @property
    def is_live(self) -> bool:
        return self.number.environment.kind == Environment.Kind.LIVE

    def clean(self):
        cleaned = super().clean()
        typed = cleaned.get("confirm_number") or ""
        if self.releases_now and "".join(ch for ch in typed if ch.isdigit()) != self.number.e164.lstrip("+"):
            self.add_error("confirm_number", f"Type {self.number} exactly to release it now.")
        return cleaned


class RestoreForm(forms.Form):
    """The Restore button's: the version of the number the page showed (a change since refuses)."""

    version = forms.IntegerField(min_value=0)


class HealthForm(forms.Form):
    """The health modal's submit: flag with a note, or clear (phone_numbers/health.py says the rest)."""

    action = forms.ChoiceField(choices=[("flag", "Flag"), ("clear", "Clear")], error_messages={
        "required": "Choose to flag the number or to clear it.",
        "invalid_choice": "Choose to flag the number or to clear it.",
    })  # fmt: skip
    note = forms.CharField(required=False, max_length=FLAG_NOTE_MAX, error_messages={
        "max_length": f"Keep the note under {FLAG_NOTE_MAX} characters.",
        "null_characters_not_allowed": "The note can't hold that character.",
    })  # fmt: skip

    def first_error(self) -> str:
        return next(iter(e for errors in self.errors.values() for e in errors), "")


class ReputationScheduleForm(forms.Form):
    every_days = forms.TypedChoiceField(
        label="Check each number's reputation",
        choices=ReputationSchedule.Every.choices,
        coerce=int,
        help_text="Each fresh check is billed by the provider (Telnyx Number Reputation), per number.",
    )
