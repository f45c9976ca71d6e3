from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from providers import crypto
from providers.fields import EncryptedJSONField


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        primary = crypto.primary_key_id()
        total = rotated = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedJSONField)]
            for field in fields:
                # Raw ciphertext: rotation never needs the plaintext in Python objects.
                table, column, pk = model._meta.db_table, field.column, model._meta.pk.column
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT {pk}, {column} FROM {table} WHERE {column} <> '' FOR UPDATE"  # noqa: S608
                    )
                    for row_pk, stored in cursor.fetchall():
                        total += 1
                        if crypto.key_id_of(stored) == primary:
                            continue
                        cursor.execute(
                            f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                            [crypto.rotate(stored), row_pk],
                        )
                        rotated += 1
        self.stdout.write(
            self.style.SUCCESS(f"{rotated} of {total} encrypted values re-encrypted with key {primary!r}.")
        )
