"""Indexes for the digit search (PostgreSQL; the SQLite demo scans, which is fine at demo size), and one
for the tag pickers.

- number_digits: the trigram index leads with the workspace, so one workspace's numbers containing
  some digits come from the index alone. The index of 0002 named the candidates of every workspace, and
  another workspace's many matches cost this one a recheck each. btree_gin lets a GIN index hold the
  workspace id beside the trigrams; the index serves searches across workspaces too, so it replaces 0002's.
- number_page_order also carries the id, so a search with many matches walks it for a page's ids without
  reading the table (an index-only scan). The model's Meta describes the index without it: Django's
  `include` would warn on SQLite.
- number_held: the ids of held numbers, so "is this tag on a held number?" is answered index-only.
"""

from django.db import migrations, models

from phone_numbers.migrations._postgresql import on_postgresql

HELD = "state IN ('pending', 'active', 'releasing')"
FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX number_digits ON phone_numbers_phonenumber USING gin (workspace_id, e164 gin_trgm_ops)",
    "DROP INDEX IF EXISTS number_e164_trgm",
    "DROP INDEX number_page_order",
    f"CREATE INDEX number_page_order ON phone_numbers_phonenumber (workspace_id, env_rank, e164) INCLUDE (id) WHERE {HELD}",
]
BACKWARD = [
    "DROP INDEX number_page_order",
    f"CREATE INDEX number_page_order ON phone_numbers_phonenumber (workspace_id, env_rank, e164) WHERE {HELD}",
    "CREATE INDEX IF NOT EXISTS number_e164_trgm ON phone_numbers_phonenumber USING gin (e164 gin_trgm_ops)",
    "DROP INDEX IF EXISTS number_digits",
]


class Migration(migrations.Migration):
    dependencies = [("phone_numbers", "0008_tag_name_check")]
    operations = [
        migrations.RunPython(on_postgresql(*FORWARD), on_postgresql(*BACKWARD)),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(
                condition=models.Q(("state__in", ["pending", "active", "releasing"])),
                fields=["id"],
                name="number_held",
            ),
        ),
    ]
