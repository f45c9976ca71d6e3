"""The do-not-call forms: they read numbers and say what is wrong with each; services write."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from campaigns.donotcall.entries import Parsed, numbers_csv, numbers_pasted


class AddForm(forms.Form):
    numbers = forms.CharField(
        label="Numbers",
        max_length=200_000,
        widget=forms.Textarea(
            attrs={"rows": 6, "autocomplete": "off", "placeholder": "+14155550142\n(415) 555-0143"}
        ),
        help_text="One number, or many: one a line or separated by commas. International format (+1…), or "
        "the national format of a country your numbers are in.",
        error_messages={"required": "Enter at least one phone number."},
    )
    note = forms.CharField(
        label="Note", max_length=200, required=False, help_text="Why, for whoever reads the list later."
    )

    def __init__(self, *args, regions: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.regions = regions
        self.errors_by_line = ()

    def clean_numbers(self) -> Parsed:
        parsed = numbers_pasted(self.cleaned_data["numbers"], self.regions)
        if parsed.errors:
            self.errors_by_line = parsed.errors
            count = len(parsed.errors)
            raise ValidationError(
                f"{count} {'entries are' if count > 1 else 'entry is'} not a phone number (listed below). "
                "Fix them and add again; nothing was added."
            )
        return parsed


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        required=False,
        help_text="One phone number per row, in a column named “phone” or the first column.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    note = forms.CharField(label="Note", max_length=200, required=False)
    preview = forms.CharField(required=False, widget=forms.HiddenInput)  # the previewed list's key

    def __init__(self, *args, regions: tuple[str, ...] = (), upload_refused: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.regions, self.upload_refused = regions, upload_refused
        self.errors_by_row = ()

    def clean_file(self) -> Parsed | None:
        if self.upload_refused:
            raise ValidationError(self.upload_refused)
        upload = self.cleaned_data.get("file")
        if upload is None:
            if not self.data.get("preview"):
                raise ValidationError("Choose the CSV file to import.")
            return None
        parsed = numbers_csv(b"".join(upload.chunks()), self.regions)
        if parsed.errors:
            self.errors_by_row = parsed.errors
            count = len(parsed.errors)
            raise ValidationError(
                f"{count} row{'s are' if count > 1 else ' is'} not a phone number (listed below). "
                "Fix the file and import it again; nothing was added."
            )
        return parsed
