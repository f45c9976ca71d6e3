from events.services import published_from_audit


def audited(sender, event, target=None, **kwargs) -> None:
    published_from_audit(event, target)
