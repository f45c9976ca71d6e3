"""PostgreSQL keeps each number's tag ids in an array beside it, with a GIN index, for the tag filter.

Finding the numbers that carry every chosen tag then costs one index lookup instead of one probe per
matching number (2,000 matches: ~5 ms instead of ~11). The array is not a Django field: the link table
stays the truth, and row triggers on it keep the array in step, whatever writes the links (services,
admin, tag deletes, raw SQL). Appending or removing one id under the row's lock is safe when two
transactions edit one number's tags at once; recomputing the whole array would not be.
SQLite (the embedded demo) has none of this: the tag filter falls back to one EXISTS per tag there.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE phone_numbers_phonenumber ADD COLUMN tag_ids bigint[] NOT NULL DEFAULT '{}';
UPDATE phone_numbers_phonenumber n SET tag_ids = links.ids
  FROM (SELECT phonenumber_id, array_agg(tag_id ORDER BY tag_id) AS ids
        FROM phone_numbers_phonenumber_tags GROUP BY phonenumber_id) links
 WHERE links.phonenumber_id = n.id;
CREATE INDEX number_tag_ids ON phone_numbers_phonenumber USING gin (tag_ids);

CREATE FUNCTION phone_numbers_tag_link_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE phone_numbers_phonenumber SET tag_ids = array_append(tag_ids, NEW.tag_id)
     WHERE id = NEW.phonenumber_id;
  ELSE
    UPDATE phone_numbers_phonenumber SET tag_ids = array_remove(tag_ids, OLD.tag_id)
     WHERE id = OLD.phonenumber_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER tag_link_changed AFTER INSERT OR DELETE ON phone_numbers_phonenumber_tags
  FOR EACH ROW EXECUTE FUNCTION phone_numbers_tag_link_changed();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS tag_link_changed ON phone_numbers_phonenumber_tags;
DROP FUNCTION IF EXISTS phone_numbers_tag_link_changed();
ALTER TABLE phone_numbers_phonenumber DROP COLUMN IF EXISTS tag_ids;
"""


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # several statements, and % in none of them

    return run


class Migration(migrations.Migration):
    dependencies = [("phone_numbers", "0005_tag_number_index")]
    operations = [migrations.RunPython(on_postgresql(FORWARD), on_postgresql(BACKWARD))]
