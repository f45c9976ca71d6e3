"""What providers ask of the apps built on them. phone_numbers connects the receivers in its
AppConfig.ready(): this app never imports it (the layers in pyproject.toml, checked by `lint-imports`)."""

from django.dispatch import Signal

# Receivers take `connection` and return the E.164 numbers still on it: it can't be disconnected under them.
connection_numbers = Signal()

# Receivers take `workspace` and return how many numbers it holds on the managed connections.
managed_numbers_held = Signal()


def answers(signal: Signal, **kwargs) -> list:
    return [response for _receiver, response in signal.send(sender=None, **kwargs)]
