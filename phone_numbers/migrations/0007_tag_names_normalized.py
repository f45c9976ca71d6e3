"""Every tag name in the form phone_numbers/tags.py accepts: lower-case a-z, digits, hyphens, underscores.

Names typed before are brought there ("Sales US" -> sales-us, "Café" -> cafe, anything else a hyphen).
Tags of one workspace that then share a name become one, the oldest: every number and campaign that
carried any of them carries it. Links are moved by delete and insert, which the tag_ids triggers follow
(migration 0006). The rules are copied here, not imported: a migration must not change with the app.
"""

import re
import unicodedata
from collections import defaultdict

from django.db import migrations

MAX_LENGTH = 32


def normalized(name, pk):
    folded = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    clean = re.sub(r"[^a-z0-9_]+", "-", plain).strip("-_")[:MAX_LENGTH].rstrip("-_")
    return clean or f"untitled-{pk}"


def normalize_tags(apps, schema_editor):
    Tag = apps.get_model("phone_numbers", "Tag")
    Campaign = apps.get_model("campaigns", "Campaign")
    link_models = [apps.get_model("phone_numbers", "PhoneNumber").tags.through, Campaign.tags.through]
    groups = defaultdict(list)
    for tag in Tag._base_manager.order_by("pk"):
        groups[tag.workspace_id, normalized(tag.name, tag.pk)].append(tag)
    for (_, name), (keep, *merged) in groups.items():
        for tag in merged:
            for Link in link_models:
                owner = next(f.attname for f in Link._meta.concrete_fields if f.attname not in ("id", "tag_id"))
                owners = Link.objects.filter(tag_id=tag.pk).values_list(owner, flat=True)
                Link.objects.bulk_create(
                    [Link(**{owner: pk, "tag_id": keep.pk}) for pk in owners], ignore_conflicts=True
                )
                Link.objects.filter(tag_id=tag.pk).delete()
            tag.delete()
        if keep.name != name:
            keep.name = name
            keep.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [("phone_numbers", "0006_tag_ids"), ("campaigns", "0001_initial")]
    operations = [migrations.RunPython(normalize_tags, migrations.RunPython.noop)]
