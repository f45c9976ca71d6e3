from decimal import Decimal

from django import forms
from django.core.validators import RegexValidator

from providers import registry
from providers.models import MAX_CALLS_PER_SECOND, MIN_CALLS_PER_SECOND, ProviderConnection


def connectable() -> list[tuple[str, str]]:
    return [(p.key, p.connect_label or p.label) for p in registry.providers()]


def plain_ascii(label: str) -> RegexValidator:
    # Credentials travel in HTTP headers (Basic auth, bearer tokens), which carry ASCII only.
    return RegexValidator(
        r"\A[\x21-\x7e]*\Z",
        f"{label}: use only the letters, digits and signs of a plain keyboard; check what was pasted.",
    )


class ConnectionForm(forms.Form):
    """Label plus the provider's own credential fields (the connection's on edit, where the provider
    cannot change). Secrets are write-only: never rendered back, and left blank on edit they keep the
    stored value."""

    provider = forms.ChoiceField(choices=connectable)
    label = forms.CharField(max_length=80, help_text="How this account shows up in Dialtone, e.g. “Main US”.")
    calls_per_second = forms.CharField(
        label="Calls per second",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(
        self, *args, connection: ProviderConnection | None = None, provider: str | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.connection = connection
        if connection:
            self.provider_key = connection.provider
        else:
            self.provider_key = provider if registry.find(provider or "") else registry.keys()[0]
        self.provider_spec = registry.get(self.provider_key)
        if connection:
            del self.fields["provider"]
            self.initial.setdefault("label", connection.label)
        else:
            self.initial.setdefault("provider", self.provider_key)
        default = self.provider_spec.default_calls_per_second
        rate = connection.call_rate if connection else default
        self.initial.setdefault("calls_per_second", _plain(rate))
        self.fields["calls_per_second"].help_text = (
            f"Outbound calls the account may start each second; campaigns never ask for more. "
            f"{self.provider_spec.calls_per_second_source} Blank: {_plain(default)}."
        )
        for credential in self.provider_spec.credential_fields:
            key, secret = credential.key, credential.secret
            stored = str(connection.credentials.get(key, "")) if connection else ""
            if secret:
                field = forms.CharField(
                    label=credential.label,
                    max_length=200,
                    required=connection is None,
                    strip=True,
                    validators=[plain_ascii(credential.label)],
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                    help_text=f"Stored encrypted. Leave blank to keep the current one (…{stored[-4:]})."
                    if stored
                    else "Stored encrypted; never shown again.",
                )
            else:
                field = forms.CharField(
                    label=credential.label,
                    max_length=200,
                    help_text=credential.help,
                    validators=[plain_ascii(credential.label)],
                    widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
                )
                self.initial.setdefault(key, stored)
            self.fields[key] = field

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        if not label:
            raise forms.ValidationError("Give the connection a name.")
        clash = ProviderConnection.objects.filter(label__iexact=label)
        if self.connection:
            clash = clash.exclude(pk=self.connection.pk)
        if clash.exists():
            raise forms.ValidationError("Another connection already has this name.")
        return label

    def clean_calls_per_second(self) -> Decimal:
        typed = self.cleaned_data["calls_per_second"].strip().replace(",", ".")
        if not typed:  # left blank: the provider's default
            return self.provider_spec.default_calls_per_second
        try:
            rate = Decimal(typed)
        except ArithmeticError:
            raise forms.ValidationError(
                f"“{typed}” is not a number: type calls per second, e.g. 1 or 2.5."
            ) from None
        if not rate.is_finite() or rate <= 0:
            raise forms.ValidationError(
                f"Calls per second must be more than 0 (at least {_plain(MIN_CALLS_PER_SECOND)}): "
                "a connection that may place no call would hold every campaign forever."
            )
        if rate < MIN_CALLS_PER_SECOND:
            raise forms.ValidationError(f"At least {_plain(MIN_CALLS_PER_SECOND)} call per second.")
        if rate > MAX_CALLS_PER_SECOND:
            raise forms.ValidationError(
                f"At most {_plain(MAX_CALLS_PER_SECOND)} calls per second: no provider account starts more; "
                "check the figure."
            )
        if rate != rate.quantize(Decimal("0.01")):
            raise forms.ValidationError("Use at most two decimals, e.g. 2.5.")
        return rate

    def clean(self):
        cleaned = super().clean()
        typed = {f.key: cleaned[f.key] for f in self.provider_spec.credential_fields if f.key in cleaned}
        values, problems = self.provider_spec.clean_credentials(typed)
        for key, problem in problems.items():
            self.add_error(key, problem)
        cleaned.update((key, values[key]) for key in typed)
        return cleaned

    def credentials(self) -> dict[str, str]:
        """The credentials to save: typed values, with blank secrets falling back to the stored ones."""
        result = {}
        for credential in self.provider_spec.credential_fields:
            value = self.cleaned_data.get(credential.key, "")
            if credential.secret and not value and self.connection:
                value = self.connection.credentials.get(credential.key, "")
            result[credential.key] = value
        return result

    @property
    def provider_name(self) -> str:
        return self.provider_spec.label

    @property
    def needs_credentials(self) -> bool:
        return bool(self.provider_spec.credential_fields)


def _plain(rate: Decimal) -> str:
    """1, 2.5, 30: a rate as people type it."""
    text = f"{rate:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
