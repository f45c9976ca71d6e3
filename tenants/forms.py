from django import forms
from django.contrib.auth.forms import AuthenticationForm

from tenants import lockout
from tenants.models import Environment


class LockoutAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password don't match. Check both and try again.",
        "locked": "Too many failed sign-in attempts for this account. Try again in %(minutes)s minutes.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        # Checked before the password, so a locked account gives nothing away even to the right password.
        if username and lockout.is_locked(username):
            raise forms.ValidationError(
                self.error_messages["locked"], code="locked", params={"minutes": lockout.lockout_minutes()}
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if username:
                lockout.record_failure(username)
            raise
        lockout.clear(username)
        return cleaned


class EnvironmentSipForm(forms.ModelForm):
    class Meta:
        model = Environment
        fields = ["sip_main", "sip_fallback"]
        widgets = {
            "sip_main": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "sip_fallback": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }
