"""Forms of the Agents page: they parse and explain bad input; services do the work."""

from django import forms

from agents.models import Agent, Variant
from tenants.models import Environment, sip_validator

TOO_LONG = "Keep it to %(limit_value)d characters (this has %(show_value)d)."


def _name_errors(noun: str) -> dict[str, str]:
    return {"required": f"Give the {noun} a name.", "max_length": TOO_LONG}


class AgentForm(forms.Form):
    name = forms.CharField(
        max_length=Agent.NAME_MAX,
        error_messages=_name_errors("agent"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Front desk"}),
    )
    sip_destination = forms.CharField(
        label="SIP destination",
        max_length=255,
        validators=[sip_validator],
        help_text="Where Dialtone sends this agent's calls.",
        error_messages={
            "required": "Enter the SIP URI your agent answers on, e.g. sip:front-desk@voice.example.com."
        },
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "sip:front-desk@voice.example.com",
            }
        ),
    )
    description = forms.CharField(
        required=False,
        max_length=Agent.DESCRIPTION_MAX,
        error_messages={"max_length": TOO_LONG},
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What it answers, for your teammates"}),
    )


class VariantForm(forms.Form):
    name = forms.CharField(
        max_length=Variant.NAME_MAX,
        error_messages=_name_errors("variant"),
        help_text="A site, a language, a test: e.g. “london” or “spanish”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class PublishForm(forms.Form):
    environments = forms.MultipleChoiceField(
        choices=Environment.Kind.choices, required=False, widget=forms.CheckboxSelectMultiple
    )


class ConfirmForm(forms.Form):
    """Carries a refusal (e.g. numbers still route here) back to a confirm modal."""
