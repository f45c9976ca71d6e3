from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.forms.utils import ErrorDict

from tenants import signin
from tenants.models import AuditEvent, Environment
from tenants.roles import Role

PASSWORD_HELP = (
    "At least 8 characters, not all digits, not a common password, and not like your username or email."
)
ROLES_HELP = (
    "Owners and admins manage providers, members and releases (only owners make owners); "
    "operators buy, link, edit numbers and run campaigns; viewers read."
)


class ThrottledSignIn:
    """The sign-in policy (tenants/signin.py) for an AuthenticationForm: the attempt is recorded before
    the password is checked, and a throttled one checks nothing, so it says the same for every account."""

    def clean(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not (username and password):
            return super().clean()
        attempt = signin.attempt(request=self.request, subject=username)
        if attempt.wait:
            raise forms.ValidationError(signin.wait_message(attempt.wait), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            attempt.failed()
            raise
        attempt.succeeded()
        return cleaned


class SignInForm(ThrottledSignIn, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password don't match. Check both and try again.",
    }


class AdminSignInForm(ThrottledSignIn, AdminAuthenticationForm):
    pass


class ActivityFilterForm(forms.Form):
    """The Activity page's filter; a value no event could carry (a NUL byte, 10 kB) is told, not queried."""

    action = forms.CharField(
        required=False,
        max_length=AuditEvent._meta.get_field("action").max_length,
        error_messages={
            "max_length": "Choose an action from the list.",
            "null_characters_not_allowed": "Choose an action from the list.",
        },
    )


class EnvironmentSipForm(forms.ModelForm):
    class Meta:
        model = Environment
        fields = ["sip_main", "sip_fallback"]
        widgets = {
            "sip_main": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "sip_fallback": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }


class ReleaseHoldForm(forms.Form):
    """How many days a deleted number is held before it is released at the provider."""

    MESSAGE = "Enter a whole number of days from 0 to 30 (0 releases deleted numbers at once)."
    days = forms.IntegerField(
        label="Hold deleted numbers for (days)",
        min_value=0,
        max_value=30,  # Workspace.RELEASE_HOLD_MAX_DAYS
        help_text="On hold, a deleted number still answers inbound calls, no longer calls out, and can be "
        "restored with one click. 0 releases it at once.",
        error_messages={
            "required": MESSAGE, "invalid": MESSAGE, "min_value": MESSAGE, "max_value": MESSAGE,
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 30}),
    )  # fmt: skip


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(initial=Role.VIEWER, help_text=ROLES_HELP)

    def __init__(self, *args, roles: list[Role], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r.value, r.label) for r in roles]


class InviteForm(MemberRoleForm):
    email = forms.EmailField(
        max_length=254,  # the column's length, and the most an address may have (RFC 5321)
        error_messages={
            "required": "Enter the email address to send the invitation to.",
            "invalid": "Enter an email address such as dana@example.com.",
            "max_length": "An email address has at most %(limit_value)d characters (this has %(show_value)d).",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "dana@example.com"}),
    )
    field_order = ["email", "role"]


class InvitationSignUpForm(UserCreationForm):
    """A new account for an invitation's address. Attempts go through the sign-in policy, counted against
    the invitation the way sign-ins count against a username, so a link can't probe usernames without
    limit."""

    email = forms.EmailField(disabled=True, help_text="The address this invitation was sent to.")
    field_order = ["username", "email", "password1", "password2"]

    def __init__(self, *args, invitation, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].initial = self.instance.email = invitation.email  # the similarity check uses it
        self.fields["password1"].help_text = PASSWORD_HELP
        self.invitation, self.request = invitation, request

    def full_clean(self):
        if not self.is_bound:
            return super().full_clean()
        attempt = signin.attempt(request=self.request, subject=str(self.invitation.pk), kind="invitation")
        # Throttled: nothing else is checked, so not even which usernames are taken shows.
        if attempt.wait:
            self._errors, self.cleaned_data = ErrorDict(), {}
            self.add_error(None, forms.ValidationError(signin.wait_message(attempt.wait)))
            return
        super().full_clean()
        if self._errors:
            attempt.failed()
        else:
            attempt.succeeded()


class ApiKeyForm(MemberRoleForm):
    name = forms.CharField(
        max_length=60,
        error_messages={
            "required": "Name the key after what uses it, e.g. “CI deploys”.",
            "max_length": "A key's name has at most %(limit_value)d characters (this has %(show_value)d).",
        },
        help_text="What uses it, so you know which to revoke.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "CI deploys"}),
    )
    field_order = ["name", "role"]
