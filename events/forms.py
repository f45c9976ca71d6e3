from django import forms

from events.catalog import EVENT_TYPES


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL", max_length=500,
        help_text="An https:// URL of yours. Each event is POSTed as JSON, signed (Dialtone-Signature).",
        error_messages={"required": "Enter the URL events are sent to."},
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/dialtone/events", "autocomplete": "off"}),
    )  # fmt: skip
    description = forms.CharField(label="Description", max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events", choices=list(EVENT_TYPES.items()), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event.", "invalid_choice": "Choose events from the list."},
    )  # fmt: skip
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        try:
            forms.URLField().clean(url)
        except forms.ValidationError:
            raise forms.ValidationError("Enter a full URL, like https://example.com/events.") from None
        return url
