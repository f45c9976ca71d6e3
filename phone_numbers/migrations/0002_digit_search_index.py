"""A trigram index so "numbers containing these digits" stays fast at 100,000 numbers (PostgreSQL only;
the SQLite demo scans, which is fine at demo size)."""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS number_e164_trgm ON phone_numbers_phonenumber USING gin (e164 gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS number_e164_trgm"]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("phone_numbers", "0001_initial")]
    operations = [migrations.RunPython(run(CREATE), run(DROP))]
