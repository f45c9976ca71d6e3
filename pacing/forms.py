"""The Call pacing form: it speaks minutes and hours; the policy is stored in seconds."""

from django import forms

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
