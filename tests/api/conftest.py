import pytest
from django.test import Client

from phone_numbers.models import PhoneNumber
from tenants.api_keys import api_key_create, api_key_revoke
from tenants.models import Environment
from tenants.roles import Role
from tenants.scope import workspace_scope
from tests.helpers import owner_of, sandbox_connection


class ApiClient:
    """The Django test client speaking JSON with a key, through the whole stack (middleware included)."""

    def __init__(self, secret: str | None):
        self.client = Client(raise_request_exception=False)
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def request(self, method: str, path: str, body=None, **headers):
        call = getattr(self.client, method.lower())
        kwargs = {"headers": self.headers | headers}
        if body is not None:
            kwargs |= {"data": body, "content_type": "application/json"}
        return call(path if path.startswith("/") else f"/api/v1/{path}", **kwargs)

    def get(self, path, **headers):
        return self.request("GET", path, **headers)

    def post(self, path, body=None, **headers):
        return self.request("POST", path, {} if body is None else body, **headers)

    def patch(self, path, body, **headers):
        return self.request("PATCH", path, body, **headers)


def make_key(workspace, role=Role.OWNER, name=None):
    key, secret = api_key_create(
        workspace=workspace,
        actor=owner_of(workspace),
        acting_role=Role.OWNER,
        name=name or f"{role} key",
        role=role,
    )
    return key, secret


@pytest.fixture
def keys(acme, globex):
    """A client per key role in acme, one with globex's owner key, one with no key and one revoked."""
    clients = {role: ApiClient(make_key(acme, role)[1]) for role in Role}
    revoked, secret = make_key(acme, Role.OWNER, name="revoked")
    api_key_revoke(key=revoked, actor=owner_of(acme))
    clients |= {
        "other": ApiClient(make_key(globex, Role.OWNER)[1]),
        "none": ApiClient(None),
        "revoked": ApiClient(secret),
    }
    return clients


@pytest.fixture
def desk(acme):
    """acme's sandbox connection and a live number on it."""
    connection = sandbox_connection(acme)
    with workspace_scope(acme):
        live = Environment.objects.get(kind="live")
        number = PhoneNumber.objects.create(
            e164="+14155550142", environment=live, connection=connection, provider_ref="SB-1", state="active"
        )
    return {"ws": acme, "connection": connection, "number": number, "live": live}
