"""The Call pacing form: it speaks minutes and hours; the policy is stored in seconds."""

from django import forms

from pacing.hours import DAY_NAMES, DAY_S, Hours, clock
from pacing.limits import (
    MAX_CAP,
    MAX_GAP_S,
    MAX_JITTER_S,
    MAX_RAMP_DAYS,
    MAX_WINDOW_S,
    MAX_WINDOWS,
    NOTHING_SET,
    TAG_NOTHING_SET,
    Limits,
)
from pacing.models import PacingLimits


def _whole(noun: str, low: int, high: int, example: str) -> dict:
    return {
        "invalid": f"Enter a whole number of {noun}, like {example}.",
        "min_value": f"Use at least {low} (or leave it empty for no limit).",
        "max_value": f"Use at most {high:,} {noun}.",
    }


_NUMBER = {"inputmode": "numeric", "step": 1, "class": "input-num"}
UNITS = (("minutes", "minutes"), ("hours", "hours"))
_UNIT_S = {"minutes": 60, "hours": 3600}
ROWS = range(1, MAX_WINDOWS + 1)
WINDOW_TOO_LONG = "A window is at most 168 hours (a week, 10,080 minutes)."
RAMP_EXAMPLE = "Enter each day's calls as whole numbers separated by commas, like 10, 20, 40."


def parse_ramp(text: str) -> list[int]:
    """ "10, 20, 40" (commas or spaces) as [10, 20, 40]; refuses anything else in words."""
    parts = [part for part in text.replace(",", " ").split() if part]
    if len(parts) > MAX_RAMP_DAYS:
        raise forms.ValidationError(f"A warm-up is at most {MAX_RAMP_DAYS} days ({len(parts)} given).")
    steps = []
    for part in parts:
        if not (part.isascii() and part.isdigit()):
            raise forms.ValidationError(f"“{part[:20]}” is not a whole number of calls. {RAMP_EXAMPLE}")
        if not 1 <= int(part) <= MAX_CAP:
            raise forms.ValidationError(
                f"Each warm-up day allows 1 to {MAX_CAP:,} calls ({part[:20]} given)."
            )
        steps.append(int(part))
    return steps


class PacingPolicyForm(forms.Form):
    """A wait, four window rows ("No more than [3] calls every [15] [minutes]": empty rows are ignored, so
    adding one is filling it in) and a daily cap. The limits are checked together as the service checks
    them (pacing/limits.py), each problem shown on the row or field it is about."""

    enabled = forms.BooleanField(label="Limit call frequency", required=False)
    gap_minutes = forms.IntegerField(
        label="Wait between calls (minutes)",
        required=False,
        min_value=1,
        max_value=MAX_GAP_S // 60,
        error_messages=_whole("minutes", 1, MAX_GAP_S // 60, "2"),
        widget=forms.NumberInput(attrs=_NUMBER),
    )
    daily_cap = forms.IntegerField(
        label="No more than (calls a day)",
        required=False,
        min_value=1,
        max_value=MAX_CAP,
        error_messages=_whole("calls", 1, MAX_CAP, "75"),
        widget=forms.NumberInput(attrs=_NUMBER),
    )
    jitter_seconds = forms.IntegerField(
        label="Random extra wait, up to (seconds)",
        required=False,
        min_value=1,
        max_value=MAX_JITTER_S,
        error_messages=_whole("seconds", 1, MAX_JITTER_S, "30"),
        widget=forms.NumberInput(attrs=_NUMBER),
    )
    ramp = forms.CharField(
        label="Warm-up for new numbers (calls a day, day by day)",
        required=False,
        max_length=200,
        error_messages={"max_length": RAMP_EXAMPLE},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "e.g. 10, 20, 40"}),
    )
    # Pacing on with nothing set: what is said (a tag's form says how to remove its policy instead).
    nothing_set = NOTHING_SET

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in ROWS:
            self.fields[f"cap_{n}"] = forms.IntegerField(
                label=f"Window {n}: no more than (calls)",
                required=False,
                min_value=1,
                max_value=MAX_CAP,
                error_messages=_whole("calls", 1, MAX_CAP, "3"),
                widget=forms.NumberInput(attrs=_NUMBER),
            )
            self.fields[f"every_{n}"] = forms.IntegerField(
                label=f"Window {n}: every",
                required=False,
                min_value=1,
                max_value=MAX_WINDOW_S // 60,  # in minutes; hours are checked in clean()
                error_messages=_whole("minutes or hours", 1, MAX_WINDOW_S // 60, "15")
                | {"max_value": WINDOW_TOO_LONG},
                widget=forms.NumberInput(attrs=_NUMBER),
            )
            self.fields[f"unit_{n}"] = forms.ChoiceField(
                label=f"Window {n}: unit",
                choices=UNITS,
                required=False,
                error_messages={"invalid_choice": "Choose minutes or hours."},
            )

    def rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField, forms.BoundField]]:
        """(n, cap, every, unit) for the template's rows."""
        return [(n, self[f"cap_{n}"], self[f"every_{n}"], self[f"unit_{n}"]) for n in ROWS]

    @classmethod
    def initial_for(cls, policy: PacingLimits) -> dict:
        """Whole minutes and hours; a seconds-scale policy set in the admin shows rounded up."""
        initial = {
            "enabled": getattr(policy, "enabled", True),
            "gap_minutes": -(-policy.gap_seconds // 60) or None,
            "daily_cap": policy.daily_cap or None,
            "jitter_seconds": policy.jitter_seconds or None,
            "ramp": ", ".join(str(step) for step in policy.ramp),
        }
        for n, (cap, window_s) in enumerate(policy.windows, 1):
            unit = "hours" if window_s % 3600 == 0 else "minutes"
            initial |= {f"cap_{n}": cap, f"every_{n}": -(-window_s // _UNIT_S[unit]), f"unit_{n}": unit}
        return initial

    def clean_ramp(self) -> list[int]:
        return parse_ramp(self.cleaned_data.get("ramp") or "")

    def wants_limits(self) -> bool:
        return bool(self.cleaned_data.get("enabled"))

    def clean(self):
        cleaned = super().clean()
        self._filled = []  # (row, cap, seconds) of the rows set, in row order
        for n in ROWS:
            cap, every = cleaned.get(f"cap_{n}"), cleaned.get(f"every_{n}")
            if any(f"{f}_{n}" in self.errors for f in ("cap", "every", "unit")):
                continue
            seconds = (every or 0) * _UNIT_S[cleaned.get(f"unit_{n}") or "hours"]
            if cap and not every:
                self.add_error(f"every_{n}", "Say over how long the cap counts, e.g. 15 minutes or 24 hours.")
            elif every and not cap:
                self.add_error(f"cap_{n}", "Say how many calls each number may place in that window, e.g. 3.")
            elif seconds > MAX_WINDOW_S:
                self.add_error(f"every_{n}", WINDOW_TOO_LONG)
            elif cap:
                self._filled.append((n, cap, seconds))
        if self.errors:
            return cleaned
        limits = self.limits()
        for key, problem in limits.problems().items():
            self.add_error(self.field_of(key), problem)
        if self.wants_limits() and not limits.any and not self.errors:
            self.add_error(None, self.nothing_set)
        return cleaned

    def field_of(self, key: str) -> str | None:
        """The field a problem from pacing/limits.py (or the service) is shown on; None: the form's."""
        if key.startswith("window_"):
            k = int(key.removeprefix("window_"))
            return f"cap_{self._filled[k - 1][0]}" if k <= len(self._filled) else None
        return {
            "gap": "gap_minutes",
            "daily_cap": "daily_cap",
            "jitter": "jitter_seconds",
            "ramp": "ramp",
        }.get(key)

    def limits(self) -> Limits:
        """The limits typed, windows in row order (a problem's "window_<k>" is the k-th row set)."""
        return Limits.of(
            gap_s=(self.cleaned_data.get("gap_minutes") or 0) * 60,
            windows=[(cap, seconds) for _, cap, seconds in self._filled],
            daily_cap=self.cleaned_data.get("daily_cap") or 0,
            jitter_s=self.cleaned_data.get("jitter_seconds") or 0,
            ramp=self.cleaned_data.get("ramp") or (),
        )

    def policy_values(self) -> dict:
        """policy_update()'s arguments."""
        limits = self.limits()
        return {
            "enabled": bool(self.cleaned_data["enabled"]),
            "gap_seconds": limits.gap_s,
            "windows": list(limits.windows),
            "daily_cap": limits.daily_cap,
            "jitter_seconds": limits.jitter_s,
            "ramp": list(limits.ramp),
        }


class TagPolicyForm(PacingPolicyForm):
    """A tag's own pacing: the same limits and cadence, always on (removing the policy is its own
    button: the tag's numbers then follow the environment's policy)."""

    nothing_set = TAG_NOTHING_SET

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["enabled"]

    def wants_limits(self) -> bool:
        return True


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
