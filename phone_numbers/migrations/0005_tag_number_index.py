"""Tag filters start from the tag: (tag_id, phonenumber_id) lets them read the link table index-only."""

from django.db import migrations

INDEX = "number_tags_by_tag"


class Migration(migrations.Migration):
    dependencies = [("phone_numbers", "0004_agent_links_set_null")]
    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON phone_numbers_phonenumber_tags (tag_id, phonenumber_id)",
            f"DROP INDEX IF EXISTS {INDEX}",
        )
    ]
