from django import forms
from django.contrib import admin
from django.utils import timezone

from providers import registry
from providers.adapters.base import ProviderError, ProviderUnavailable
from providers.models import ProviderConnection
from providers.services import connection_verify_credentials, verify_failure
from tenants.admin import TenantAdmin


class ConnectionAdminForm(forms.ModelForm):
    """Credentials are write-only here too: typed values replace, blank keeps what is stored. Every
    provider's fields are listed, each named after its provider; only the chosen provider's are read."""

    class Meta:
        model = ProviderConnection
        fields = ("workspace", "provider", "label", "state", "calls_per_second")

    def clean(self):
        cleaned = super().clean()
        provider = cleaned.get("provider")
        if provider and not self.errors:
            spec = registry.get(provider)
            typed = {f.key: cleaned.get(f"{provider}__{f.key}") or "" for f in spec.credential_fields}
            values, problems = spec.clean_credentials(typed)
            for key, problem in problems.items():
                self.add_error(f"{provider}__{key}", problem)
            if problems:
                return cleaned
            credentials = dict(self.instance.credentials or {}) if self.instance.pk else {}
            credentials |= {key: value for key, value in values.items() if value}
            changed = credentials != (self.instance.credentials if self.instance.pk else None)
            # "Verified" is only ever said after asking the provider, which records when.
            claimed = cleaned.get("state") == ProviderConnection.State.VERIFIED and (
                self.instance.state != ProviderConnection.State.VERIFIED or not self.instance.last_verified_at
            )
            self.verified = changed or claimed
            if self.verified:
                # Verified like the workspace page does: a wrong key never gets saved.
                try:
                    connection_verify_credentials(provider, credentials)
                except (ProviderError, ProviderUnavailable) as exc:
                    raise forms.ValidationError(verify_failure(provider, exc)) from exc
            self.new_credentials = credentials
        return cleaned

    def save(self, commit=True):
        connection = super().save(commit=False)
        connection.credentials = self.new_credentials
        if self.verified:
            connection.last_verified_at, connection.last_error = timezone.now(), ""
            if connection.state == ProviderConnection.State.UNVERIFIED:
                connection.state = ProviderConnection.State.VERIFIED
        if commit:
            connection.save()
        return connection


def _credential_fields() -> dict[str, forms.Field]:
    return {
        f"{provider.key}__{credential.key}": forms.CharField(
            label=f"{provider.label}: {credential.label}",
            required=False,
            widget=forms.PasswordInput(render_value=False) if credential.secret else forms.TextInput,
        )
        for provider in registry.providers()
        for credential in provider.credential_fields
    }


# Declared on the class, not added per instance, so that the admin lays them out.
ConnectionAdminForm.declared_fields.update(_credential_fields())
ConnectionAdminForm.base_fields.update(ConnectionAdminForm.declared_fields)


@admin.register(ProviderConnection)
class ProviderConnectionAdmin(TenantAdmin):
    form = ConnectionAdminForm
    list_display = ("label", "provider", "workspace", "managed", "state", "last_verified_at")
    list_filter = ("provider", "state", ("workspace", admin.EmptyFieldListFilter), "workspace")
    search_fields = ("label",)
    readonly_fields = ("account_hint", "last_verified_at", "last_error", "created_at")

    @admin.display(boolean=True)
    def managed(self, obj):
        return obj.is_managed
