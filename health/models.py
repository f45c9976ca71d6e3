"""What the health sweep keeps between runs: each number's latest figures (the pool's median is read from
them) and how far the sweep has read settled calls."""

from django.db import models

from phone_numbers.models import PhoneNumber
from tenants.models import TenantModel


class NumberFigures(TenantModel):
    """A number's rolling figures from its own settled calls (its last N, and the N before them, since its
    last rest), recomputed when it has new ones. Rates are read from the counts."""

    number = models.OneToOneField(PhoneNumber, on_delete=models.CASCADE, primary_key=True, related_name="+")
    environment_id = models.BigIntegerField()
    calls = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    short = models.PositiveIntegerField(default=0, help_text="Answered calls under 10 s.")
    failed = models.PositiveIntegerField(default=0)
    past_calls = models.PositiveIntegerField(default=0)
    past_answered = models.PositiveIntegerField(default=0)
    attempts_day = models.PositiveIntegerField(default=0, help_text="Attempts in the 24 hours before.")
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["environment_id", "calls"], name="figures_by_environment")]

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.calls if self.calls else None


class SweepMark(models.Model):
    """One row: calls settled before `settled_through` have been read (the next sweep reads a little
    before it too: a settle committed late is read twice rather than never)."""

    settled_through = models.DateTimeField()

    def __str__(self) -> str:
        return f"settled through {self.settled_through:%Y-%m-%d %H:%M:%S}"
