from django.apps import AppConfig


class VoiceConfig(AppConfig):
    """Provider voice webhooks (inbound calls, answered campaign calls): on top of the apps they read."""

    name = "voice"
