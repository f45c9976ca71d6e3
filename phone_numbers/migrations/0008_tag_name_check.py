"""PostgreSQL checks tag names where they are stored: whatever writes a tag (services, admin, raw SQL)
writes the form phone_numbers/tags.py accepts. The SQLite demo relies on the services alone."""

from django.db import migrations

from phone_numbers.migrations._postgresql import on_postgresql

ADD = (
    "ALTER TABLE phone_numbers_tag ADD CONSTRAINT tag_name_charset "
    "CHECK (name ~ '^[a-z0-9][a-z0-9_-]*$' AND char_length(name) <= 32)"
)
DROP = "ALTER TABLE phone_numbers_tag DROP CONSTRAINT IF EXISTS tag_name_charset"


class Migration(migrations.Migration):
    dependencies = [("phone_numbers", "0007_tag_names_normalized")]
    operations = [migrations.RunPython(on_postgresql(ADD), on_postgresql(DROP))]
