"""The Call pacing form: it speaks minutes and hours; the policy is stored in seconds."""

from django import forms

from pacing.hours import DAY_NAMES, DAY_S, Hours, clock
from pacing.models import PacingPolicy


def _whole(noun: str, low: int, high: int, example: str) -> dict:
    return {
        "invalid": f"Enter a whole number of {noun}, like {example}.",
        "min_value": f"Use at least {low} (or leave it empty for no limit).",
        "max_value": f"Use at most {high:,} {noun}.",
    }


class PacingPolicyForm(forms.Form):
    enabled = forms.BooleanField(label="Limit call frequency", required=False)
    gap_minutes = forms.IntegerField(
        label="Wait between calls (minutes)",
        required=False,
        min_value=1,
        max_value=PacingPolicy.MAX_GAP_S // 60,
        error_messages=_whole("minutes", 1, PacingPolicy.MAX_GAP_S // 60, "2"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1, "class": "input-num"}),
    )
    cap = forms.IntegerField(
        label="No more than (calls)",
        required=False,
        min_value=1,
        max_value=PacingPolicy.MAX_CAP,
        error_messages=_whole("calls", 1, PacingPolicy.MAX_CAP, "100"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1, "class": "input-num"}),
    )
    window_hours = forms.IntegerField(
        label="Every (hours)",
        required=False,
        min_value=1,
        max_value=PacingPolicy.MAX_WINDOW_S // 3600,
        error_messages=_whole("hours", 1, PacingPolicy.MAX_WINDOW_S // 3600, "24"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1, "class": "input-num"}),
    )

    @classmethod
    def initial_for(cls, policy: PacingPolicy) -> dict:
        """Whole minutes and hours; a seconds-scale policy set in the admin shows rounded up."""
        return {
            "enabled": policy.enabled,
            "gap_minutes": -(-policy.gap_seconds // 60) or None,
            "cap": policy.cap or None,
            "window_hours": -(-policy.window_seconds // 3600) or None,
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        cap, hours = cleaned.get("cap"), cleaned.get("window_hours")
        if cap and not hours:
            self.add_error("window_hours", "Say over how many hours the cap counts, e.g. 24.")
        if hours and not cap:
            self.add_error("cap", "Say how many calls each number may place in that window, e.g. 100.")
        if cleaned.get("enabled") and not (cleaned.get("gap_minutes") or cap or hours):
            self.add_error(
                None, "Set a wait between calls, a cap, or both, or turn off “Limit call frequency”."
            )
        return cleaned

    def policy_values(self) -> dict:
        data = self.cleaned_data
        return {
            "enabled": bool(data["enabled"]),
            "gap_seconds": (data.get("gap_minutes") or 0) * 60,
            "cap": data.get("cap") or 0,
            "window_seconds": (data.get("window_hours") or 0) * 3600,
        }


# ---- Calling hours ---------------------------------------------------------------------------------

_TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


def _seconds(value) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


class HoursFields(forms.Form):
    """Days as checkboxes, a start and an end time of day (an end of 00:00 is midnight, the day's end),
    and the Hours they make; shared by the Call pacing modal and the New campaign form."""

    hours_days = forms.TypedMultipleChoiceField(
        label="Days",
        choices=[(str(d), name) for d, name in enumerate(DAY_NAMES)],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    hours_start = forms.TimeField(
        label="From",
        input_formats=_TIME_FORMATS,
        error_messages={
            "required": "Say when calls may start, e.g. 08:00.",
            "invalid": "Enter a time like 08:00.",
        },
        widget=forms.TimeInput(attrs={"type": "time", "step": 60}, format="%H:%M"),
    )
    hours_end = forms.TimeField(
        label="To",
        input_formats=_TIME_FORMATS,
        error_messages={
            "required": "Say when calls must stop, e.g. 21:00.",
            "invalid": "Enter a time like 21:00.",
        },
        widget=forms.TimeInput(attrs={"type": "time", "step": 60}, format="%H:%M"),
    )

    @staticmethod
    def initial_hours(hours: Hours) -> dict:
        return {
            "hours_days": [str(d) for d in hours.day_list()],
            "hours_start": clock(hours.start_s),
            "hours_end": "00:00" if hours.end_s == DAY_S else clock(hours.end_s),
        }

    def clean_hours_days(self):
        days = self.cleaned_data["hours_days"]
        if self.hours_wanted() and not days:
            raise forms.ValidationError("Choose at least one day: hours with no day never open.")
        return days

    def hours_wanted(self) -> bool:
        return True

    def clean(self):
        cleaned = super().clean()
        if self.hours_wanted() and not any(
            f in self.errors for f in ("hours_days", "hours_start", "hours_end")
        ):
            problem = self.hours().problem()
            if problem:
                self.add_error("hours_end", problem)
        return cleaned

    def hours(self) -> Hours:
        data = self.cleaned_data
        end_s = _seconds(data["hours_end"]) or DAY_S  # 00:00 as the end: midnight, the day's end
        return Hours(sum(1 << d for d in data["hours_days"]), _seconds(data["hours_start"]), end_s)


class CallingHoursForm(HoursFields):
    """The Call pacing modal's calling hours (posted with the pacing fields, in the same form)."""

    @staticmethod
    def submitted(data) -> bool:
        """A post without the hours' fields (a client that only sets pacing) leaves the hours as they are."""
        return "hours_start" in data or "hours_end" in data
