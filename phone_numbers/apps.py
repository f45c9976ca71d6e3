from django.apps import AppConfig


class PhoneNumbersConfig(AppConfig):
    # Not "numbers": a top-level package of that name shadows the stdlib module and breaks `import decimal`.
    name = "phone_numbers"
    label = "phone_numbers"
    verbose_name = "Phone numbers"

    def ready(self):
        # Apps below numbers ask about them through signals; numbers answer (phone_numbers/receivers.py).
        from agents import signals as agents
        from phone_numbers import receivers
        from providers import signals as providers

        wiring = [
            (providers.connection_numbers, receivers.numbers_on_connection),
            (providers.managed_numbers_held, receivers.managed_numbers_held),
            (agents.routed_numbers, receivers.routed_numbers),
            (agents.numbers_per_agent, receivers.numbers_per_agent),
        ]
        for signal, receiver in wiring:
            signal.connect(receiver, dispatch_uid=f"phone_numbers.{receiver.__name__}")
