from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`manage.py seed_demo`: demo data through every app's services, so it sits on top of them all."""

    name = "demo"
