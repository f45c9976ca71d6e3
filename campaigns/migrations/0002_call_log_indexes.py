"""The per-call log reads a campaign's calls in upload order, all of them or those in some states.

(campaign, state, row) serves the filtered log and the progress counts (it replaces (campaign, state));
(campaign, row) serves the unfiltered log. A page of 50 at any depth of a 20,000-call campaign is then
an index walk, not a sort.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="campaigncall", name="call_by_state"),
        migrations.AddIndex(
            model_name="campaigncall",
            index=models.Index(fields=["campaign", "state", "row"], name="call_log_by_state"),
        ),
        migrations.AddIndex(
            model_name="campaigncall",
            index=models.Index(fields=["campaign", "row"], name="call_log"),
        ),
    ]
