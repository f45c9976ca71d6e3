"""What agents ask of the apps built on them. phone_numbers (numbers route to agents) connects the
receivers in its AppConfig.ready(): this app never imports it (the layers in pyproject.toml)."""

from django.dispatch import Signal

# Receivers take `agent`, `variant` and `environment` (None: any) and return the held numbers routed
# there, as a query ordered by number (its items have `id` and `e164`).
routed_numbers = Signal()

# Receivers take no arguments and return {agent id: held numbers routed to it} in the active workspace.
numbers_per_agent = Signal()


def answer(signal: Signal, **kwargs):
    """The answer of the one app that answers `signal` (several, or none, is a wiring mistake)."""
    (response,) = (response for _receiver, response in signal.send(sender=None, **kwargs))
    return response
