"""A campaign's attempt rules: per-destination caps (campaigns/caps.py) and the retry schedule for no-answer
and busy (campaigns/retries.py), as one value the form, the service and the campaign page share."""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.models import CAP_CAMPAIGN_DEFAULT, CAP_DAY_DEFAULT

CAP_MAX = 20  # attempts to one destination, per campaign or per day
RETRIES_MAX = 10
WAIT_MIN_S, WAIT_MAX_S = 60, 7 * 24 * 3600


@dataclass(frozen=True)
class AttemptRules:
    cap_campaign: int = CAP_CAMPAIGN_DEFAULT
    cap_day: int = CAP_DAY_DEFAULT
    retry_no_answer_times: int = 2
    retry_no_answer_after_s: int = 30 * 60
    retry_busy_times: int = 3
    retry_busy_after_s: int = 5 * 60

    FIELDS = (
        "cap_campaign", "cap_day", "retry_no_answer_times", "retry_no_answer_after_s", "retry_busy_times",
        "retry_busy_after_s",
    )  # fmt: skip

    @classmethod
    def of(cls, campaign) -> AttemptRules:
        return cls(**{name: getattr(campaign, name) for name in cls.FIELDS})

    def as_fields(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def problem(self) -> str | None:
        """Why these rules can't be kept, in a sentence; None when they can."""
        for name, what in (("cap_campaign", "this campaign"), ("cap_day", "a day")):
            value = getattr(self, name)
            if not 1 <= value <= CAP_MAX:
                return f"Attempts to one number in {what} must be 1 to {CAP_MAX}, not {value}."
        for kind, times, after in (
            ("no answer", self.retry_no_answer_times, self.retry_no_answer_after_s),
            ("busy", self.retry_busy_times, self.retry_busy_after_s),
        ):
            if not 0 <= times <= RETRIES_MAX:
                return f"Retries after {kind} must be 0 to {RETRIES_MAX}, not {times}."
            if times and not WAIT_MIN_S <= after <= WAIT_MAX_S:
                return f"The wait before a retry after {kind} must be 1 minute to 7 days."
            if times + 1 > self.cap_campaign:
                return (
                    f"{times} retries after {kind} make {times + 1} attempts, more than the {self.cap_campaign} "
                    "this campaign allows per number: raise that cap or retry fewer times."
                )
        return None

    def describe(self) -> str:
        """For the campaign page: "at most 4 attempts per number in this campaign, 3 a day; ..."."""
        return (
            f"at most {self.cap_campaign} per number in this campaign, {self.cap_day} a day (its local day, "
            f"all campaigns); no answer: {_retries(self.retry_no_answer_times, self.retry_no_answer_after_s)}; "
            f"busy: {_retries(self.retry_busy_times, self.retry_busy_after_s)}"
        )


def _retries(times: int, after_s: int) -> str:
    if not times:
        return "not retried"
    return f"retried after {_duration(after_s)}, up to {times} time{'s' if times != 1 else ''}"


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"
