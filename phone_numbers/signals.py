"""What numbers tell the apps built on them. Those apps (campaigns) connect receivers in their
AppConfig.ready(): this app never imports them (the layers in pyproject.toml, checked by `lint-imports`)."""

from django.dispatch import Signal

# Before a number leaves Dialtone (detached or released). Receivers take `number` and return why it
# can't leave yet (a sentence for the user), or None; the first reason refuses with NumberRefused.
number_leaving = Signal()

# Inside the transaction that changed a number's tags, environment or state (`number`, saved).
number_changed = Signal()

# The same for many numbers of one workspace that stay active (a bulk job's chunk of tag or setup
# changes): `workspace_id`, `number_ids`.
numbers_changed = Signal()


def leaving_refusal(number) -> str | None:
    """The first reason a receiver of `number_leaving` gives, or None when the number may leave."""
    for _receiver, reason in number_leaving.send(sender=type(number), number=number):
        if reason:
            return reason
    return None


# Inside the transaction that flagged a number by hand (`number`): health rests it at once, after the commit.
number_flagged = Signal()
