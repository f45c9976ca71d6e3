from django.apps import AppConfig


class HealthConfig(AppConfig):
    """Number health: figures from each number's own calls, its state, rest and return (health/sweep.py).
    Above campaigns (it reads their attempts and pauses them), so numbers tell it through signals."""

    name = "health"

    def ready(self):
        from health import receivers
        from phone_numbers import signals

        signals.number_flagged.connect(receivers.rest_flagged, dispatch_uid="health.rest_flagged")
