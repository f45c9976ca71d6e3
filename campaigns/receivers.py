"""Campaign rules about numbers, wired to phone_numbers' signals in CampaignsConfig.ready(): numbers sit
below campaigns, so they tell instead of importing us."""

from campaigns.models import Campaign
from campaigns.pools import pools_refresh_for_number, pools_refresh_for_numbers


def refuse_while_running(sender, number, **kwargs) -> str | None:
    """A running campaign holds its caller IDs: the number can't be detached or released under it."""
    running = Campaign.objects.running_with_number(number)
    if running:
        return f"{number} is a caller ID of the running campaign “{running[0]}”. Pause or finish it first."
    return None


def pools_follow(sender, number, **kwargs) -> None:
    """Open campaigns' pools follow the number's tags, environment and state (after the commit)."""
    pools_refresh_for_number(number)


def pools_follow_many(sender, workspace_id, number_ids, **kwargs) -> None:
    """The same for a bulk job's chunk of numbers (after the commit)."""
    pools_refresh_for_numbers(workspace_id, number_ids)
