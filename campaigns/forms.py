"""The New campaign form: it reads the upload and explains bad rows; services do the work."""

from django import forms
from django.core.exceptions import ValidationError

from agents.models import Agent
from campaigns.destinations import BACKGROUND_BYTES, Destinations, destinations_parse, destinations_text
from campaigns.models import Campaign
from campaigns.rules import CAP_MAX, RETRIES_MAX, WAIT_MAX_S, AttemptRules
from pacing.forms import HoursFields
from pacing.hours import DEFAULT_HOURS, Hours
from phone_numbers.models import Tag
from phone_numbers.selectors import tags_in_use
from tenants.models import Environment


def _count(label: str, low: int, high: int, help_text: str = "") -> forms.IntegerField:
    bounds = f"Enter a whole number from {low} to {high}."
    return forms.IntegerField(  # left out or blank: the default (initial_rules)
        label=label, min_value=low, max_value=high, help_text=help_text, required=False,
        error_messages={"invalid": bounds, "min_value": bounds, "max_value": bounds},
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": low, "max": high, "class": "input-narrow"}),
    )  # fmt: skip


def initial_rules(rules: AttemptRules) -> dict:
    return {
        "cap_campaign": rules.cap_campaign, "cap_day": rules.cap_day,
        "retry_no_answer_times": rules.retry_no_answer_times,
        "retry_no_answer_after": rules.retry_no_answer_after_s // 60,
        "retry_busy_times": rules.retry_busy_times, "retry_busy_after": rules.retry_busy_after_s // 60,
    }  # fmt: skip


RULE_FIELDS = (
    "cap_campaign", "cap_day", "retry_no_answer_times", "retry_no_answer_after", "retry_busy_times",
    "retry_busy_after",
)  # fmt: skip


class CampaignForm(HoursFields):
    name = forms.CharField(
        max_length=Campaign.NAME_MAX,
        error_messages={"required": "Give the campaign a name."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Spring renewals"}),
    )
    environment = forms.ModelChoiceField(queryset=Environment.unscoped.none(), empty_label=None)
    agent = forms.ModelChoiceField(
        queryset=Agent.unscoped.none(),
        label="Outbound agent",
        error_messages={"required": "Choose the agent that talks to the people called."},
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.unscoped.none(),
        label="Caller IDs: numbers tagged",
        widget=forms.CheckboxSelectMultiple,
        help_text="Active numbers of the environment carrying any of these tags call out, each paced.",
        error_messages={"required": "Choose at least one tag: numbers carrying it are the caller IDs."},
    )
    destinations = forms.FileField(
        label="Destinations (CSV)",
        help_text="One phone number per row in international format (+14155550142), in a column named "
        "“phone” or the first column.",
        error_messages={"required": "Upload the list of numbers to call, as a CSV file."},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    local_presence = forms.BooleanField(
        label="Local presence", required=False,
        help_text="Call each person from a number near them: one with their area code, else one in their "
        "state or region, else in their time zone, else any. Retries keep the number a person saw first.",
    )  # fmt: skip

    own_hours = forms.BooleanField(
        label="Own calling hours, stricter only", required=False,
        help_text="Only narrower than the environment's hours (Call pacing), never wider.",
    )  # fmt: skip

    # Attempts per destination: caps (campaigns/caps.py) and the retry schedule (campaigns/retries.py).
    cap_campaign = _count("Attempts per number in this campaign", 1, CAP_MAX, "a call and its retries")
    cap_day = _count(
        "Attempts per number per day",
        1,
        CAP_MAX,
        "in the callee's local day, across the workspace's campaigns",
    )
    retry_no_answer_times = _count("No answer: retries", 0, RETRIES_MAX)
    retry_no_answer_after = _count("No answer: retry after (minutes)", 1, WAIT_MAX_S // 60)
    retry_busy_times = _count("Busy: retries", 0, RETRIES_MAX)
    retry_busy_after = _count("Busy: retry after (minutes)", 1, WAIT_MAX_S // 60)

    field_order = ["name", "environment", "agent", "tags", "local_presence", "destinations", "own_hours"]

    def __init__(self, *args, upload_refused: str = "", **kwargs):
        kwargs.setdefault("initial", {**self.initial_hours(DEFAULT_HOURS), **initial_rules(AttemptRules())})
        super().__init__(*args, **kwargs)
        self.fields["hours_start"].required = self.fields["hours_end"].required = False
        # The upload was stopped as it streamed in (campaigns/uploads.py): say why, not "upload a file".
        self.upload_refused = upload_refused
        self.fields["destinations"].required = not upload_refused
        environments = sorted(Environment.objects.all(), key=lambda e: e.position)
        self.fields["environment"].queryset = Environment.objects.all()
        self.fields["environment"].choices = [(e.pk, e.get_kind_display()) for e in environments]
        self.fields["agent"].queryset = Agent.objects.all()
        self.fields["tags"].queryset = tags_in_use()
        self.row_errors = ()

    def hours_wanted(self) -> bool:
        return bool(self.cleaned_data.get("own_hours"))

    def clean_hours_start(self):
        return self._time_if_wanted("hours_start", "Say when calls may start, e.g. 09:00.")

    def clean_hours_end(self):
        return self._time_if_wanted("hours_end", "Say when calls must stop, e.g. 20:00.")

    def _time_if_wanted(self, name: str, missing: str):
        value = self.cleaned_data.get(name)
        if self.hours_wanted() and value is None:
            raise ValidationError(missing)
        return value

    def campaign_hours(self) -> Hours | None:
        """The campaign's own hours, or None for its environment's."""
        return self.hours() if self.hours_wanted() else None

    def rules(self) -> AttemptRules:
        defaults = initial_rules(AttemptRules())
        data = {name: self.cleaned_data.get(name) for name in RULE_FIELDS}
        data = {name: defaults[name] if value is None else value for name, value in data.items()}
        return AttemptRules(
            cap_campaign=data["cap_campaign"], cap_day=data["cap_day"],
            retry_no_answer_times=data["retry_no_answer_times"],
            retry_no_answer_after_s=data["retry_no_answer_after"] * 60,
            retry_busy_times=data["retry_busy_times"], retry_busy_after_s=data["retry_busy_after"] * 60,
        )  # fmt: skip

    def clean(self):
        data = super().clean()
        if not any(name in self.errors for name in RULE_FIELDS) and (problem := self.rules().problem()):
            self.add_error("cap_campaign", problem)  # retries the campaign cap could never allow
        return data

    def clean_destinations(self) -> Destinations | bytes:
        """The list read, or a long one's bytes for a worker to read (campaigns.load_destinations)."""
        if self.upload_refused:
            raise ValidationError(self.upload_refused)
        data = b"".join(self.cleaned_data["destinations"].chunks())  # at most MAX_BYTES, by then
        if len(data) > BACKGROUND_BYTES:
            destinations_text(data)  # what can be told at once is told here
            return data
        destinations = destinations_parse(data)
        if destinations.errors:
            self.row_errors = destinations.errors
            count = len(destinations.errors)
            raise ValidationError(
                f"{count} row{'s are' if count > 1 else ' is'} not a phone number (listed below). "
                "Fix the file and upload it again; nothing was saved."
            )
        return destinations
