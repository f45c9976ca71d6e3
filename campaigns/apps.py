from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self):
        from campaigns import receivers
        from phone_numbers import signals

        signals.number_leaving.connect(
            receivers.refuse_while_running, dispatch_uid="campaigns.refuse_while_running"
        )
        signals.number_changed.connect(receivers.pools_follow, dispatch_uid="campaigns.pools_follow")
        signals.numbers_changed.connect(
            receivers.pools_follow_many, dispatch_uid="campaigns.pools_follow_many"
        )
