from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Outbound events: HTTPS endpoints a workspace registers, signed deliveries with retries and a log.
    Below the apps whose changes it publishes: it hears audited changes through tenants' signal."""

    name = "events"

    def ready(self):
        from events import receivers
        from tenants import signals

        signals.audited.connect(receivers.audited, dispatch_uid="events.audited")
