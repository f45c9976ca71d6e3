from django import forms
from django.core.validators import RegexValidator

from providers.models import CREDENTIAL_FIELDS, Provider, ProviderConnection

CONNECTABLE = [
    (Provider.TWILIO.value, "Twilio"),
    (Provider.TELNYX.value, "Telnyx"),
    (Provider.SANDBOX.value, "Sandbox (for trying Dialtone)"),
]


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

    provider = forms.ChoiceField(choices=CONNECTABLE)
    label = forms.CharField(max_length=80, help_text="How this account shows up in Dialtone, e.g. “Main US”.")

    def __init__(
        self, *args, connection: ProviderConnection | None = None, provider: str | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.connection = connection
        if connection:
            self.provider_key = connection.provider
        else:
            self.provider_key = provider if provider in dict(CONNECTABLE) else Provider.TWILIO.value
        if connection:
            del self.fields["provider"]
            self.initial.setdefault("label", connection.label)
        else:
            self.initial.setdefault("provider", self.provider_key)
        for key, label, secret in CREDENTIAL_FIELDS[self.provider_key]:
            stored = str(connection.credentials.get(key, "")) if connection else ""
            if secret:
                field = forms.CharField(
                    label=label,
                    max_length=200,
                    required=connection is None,
                    strip=True,
                    validators=[plain_ascii(label)],
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                    help_text=f"Stored encrypted. Leave blank to keep the current one (…{stored[-4:]})."
                    if stored
                    else "Stored encrypted; never shown again.",
                )
            else:
                field = forms.CharField(
                    label=label,
                    max_length=200,
                    validators=[plain_ascii(label)],
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

    def clean_account_sid(self):
        sid = self.cleaned_data["account_sid"].strip()
        if not (sid.startswith("AC") and len(sid) == 34 and sid[2:].isalnum()):
            raise forms.ValidationError("A Twilio Account SID starts with AC and has 34 characters.")
        return sid

    def credentials(self) -> dict[str, str]:
        """The credentials to save: typed values, with blank secrets falling back to the stored ones."""
        result = {}
        for key, _label, secret in CREDENTIAL_FIELDS[self.provider_key]:
            value = self.cleaned_data.get(key, "")
            if secret and not value and self.connection:
                value = self.connection.credentials.get(key, "")
            result[key] = value
        return result

    @property
    def provider_name(self) -> str:
        return Provider(self.provider_key).label

    @property
    def needs_credentials(self) -> bool:
        return bool(CREDENTIAL_FIELDS[self.provider_key])
