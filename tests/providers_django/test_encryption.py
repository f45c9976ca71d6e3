"""Credentials are encrypted at rest, rotate to a new key, and never appear in clear anywhere."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from providers import crypto
from providers.models import ProviderConnection
from tenants.scope import all_workspaces, workspace_scope

pytestmark = pytest.mark.django_db

SECRET = "tok_live_9f8e7d6c5b4a39281706"


@pytest.fixture
def stored(acme):
    with workspace_scope(acme):
        return ProviderConnection.objects.create(
            provider="twilio",
            label="Main US",
            credentials={"account_sid": "AC" + "1" * 32, "auth_token": SECRET},
        )


def raw_column(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM providers_providerconnection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_credentials_are_ciphertext_in_the_database_with_the_key_id_beside(stored, settings):
    raw = raw_column(stored.pk)
    assert SECRET not in raw and "auth_token" not in raw
    assert raw.startswith(crypto.primary_key_id() + "$")
    with all_workspaces():
        assert ProviderConnection.objects.get(pk=stored.pk).credentials["auth_token"] == SECRET


def test_a_database_dump_holds_no_credential_in_clear(stored):
    out = io.StringIO()
    with all_workspaces():
        call_command("dumpdata", "providers", stdout=out)
    dump = out.getvalue()
    assert SECRET not in dump and "auth_token" not in dump
    assert json.loads(dump)[0]["fields"]["credentials"].startswith(crypto.primary_key_id() + "$")


def test_rotation_reencrypts_every_row_with_the_new_key(stored, acme, settings):
    with workspace_scope(acme):
        other = ProviderConnection.objects.create(
            provider="telnyx", label="EU", credentials={"api_key": "KEYabc"}
        )
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = f"k2:{new_key},{settings.FIELD_ENCRYPTION_KEYS}"
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "2 of 2" in out.getvalue()
    assert raw_column(stored.pk).startswith("k2$") and raw_column(other.pk).startswith("k2$")
    # Only the new key is needed from now on.
    settings.FIELD_ENCRYPTION_KEYS = f"k2:{new_key}"
    with all_workspaces():
        assert ProviderConnection.objects.get(pk=stored.pk).credentials["auth_token"] == SECRET
    call_command("rotate_encryption_keys", stdout=(out := io.StringIO()))
    assert "0 of 2" in out.getvalue()


def test_a_row_whose_key_is_unknown_raises_and_never_yields_ciphertext(stored, settings):
    settings.FIELD_ENCRYPTION_KEYS = f"other:{Fernet.generate_key().decode()}"
    with all_workspaces(), pytest.raises(crypto.EncryptionKeyUnknown):
        ProviderConnection.objects.get(pk=stored.pk)


def test_account_hint_shows_at_most_the_last_four_characters_of_a_secret(stored):
    assert stored.account_hint == f"AC{'1' * 32} · …{SECRET[-4:]}"


def test_log_filter_redacts_credentials():
    from providers.logging import redact

    line = f"POST /Accounts Authorization: Basic QUMxMjM6dG9r auth_token={SECRET} api_key='KEY123_abc'"
    cleaned = redact(line)
    assert SECRET not in cleaned and "QUMxMjM6dG9r" not in cleaned and "KEY123_abc" not in cleaned
