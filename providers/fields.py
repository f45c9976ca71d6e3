import json

from django.db import models

from providers import crypto


class EncryptedJSONField(models.TextField):
    """A dict stored as `keyid$fernet-token`. Reading a row whose key is unknown raises; it never
    yields ciphertext for a template to render."""

    description = "Encrypted JSON"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return {}
        return json.loads(crypto.decrypt(value))

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        if value in (None, ""):
            return {}
        return json.loads(crypto.decrypt(value))

    def get_prep_value(self, value):
        return crypto.encrypt(json.dumps(value or {}, sort_keys=True))

    def value_to_string(self, obj):
        # dumpdata and serializers get the ciphertext, never the secret.
        return self.get_prep_value(self.value_from_object(obj))
