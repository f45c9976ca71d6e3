import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from tenants import scope
from tenants.audit import audit
from tenants.managers import WorkspaceScopedManager
from tenants.models import AuditEvent, Environment, TenantModel
from tenants.scope import ScopeMissing, ScopeViolation, all_workspaces, workspace_scope
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db


def tenant_models():
    return [m for m in apps.get_models() if any(f.name == "workspace" for f in m._meta.fields)]


def test_every_model_with_a_workspace_is_a_scoped_tenant_model():
    models = tenant_models()
    assert Environment in models and AuditEvent in models
    for model in models:
        assert issubclass(model, TenantModel), model
        assert isinstance(model._default_manager, WorkspaceScopedManager), model
        assert model._default_manager.name == "objects", model
        assert hasattr(model, "unscoped"), model


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m.__name__)
def test_querying_a_tenant_model_without_scope_raises(model):
    with pytest.raises(ScopeMissing):
        list(model.objects.all())


def test_scope_shows_only_that_workspaces_rows(acme, globex):
    with workspace_scope(acme):
        assert {e.workspace_id for e in Environment.objects.all()} == {acme.id}
        assert Environment.objects.count() == 3
    with all_workspaces():
        assert Environment.objects.count() == 6


def test_saving_another_workspaces_row_inside_a_scope_raises(acme, globex):
    with all_workspaces():
        env = Environment.objects.get(workspace=globex, kind="live")
    with workspace_scope(acme), pytest.raises(ScopeViolation):
        env.save()


def test_every_workspace_is_born_with_three_environments(acme):
    with workspace_scope(acme):
        assert sorted(Environment.objects.values_list("kind", flat=True)) == [
            "live",
            "pre_release",
            "sandbox",
        ]


def test_scope_is_cleared_after_every_request(acme):
    client = Client()
    client.force_login(owner_of(acme))
    response = client.get(reverse("numbers:list", args=[acme.slug]))
    assert response.status_code == 200
    assert scope.current_scope() is None


def test_scope_is_cleared_even_when_the_view_fails(acme):
    client = Client(raise_request_exception=False)
    client.force_login(owner_of(acme))
    response = client.get(reverse("environment-edit", args=[acme.slug, 999999]))
    assert response.status_code == 404
    assert scope.current_scope() is None


def test_audit_events_are_append_only(acme):
    with workspace_scope(acme):
        event = audit(actor=None, action="test.happened", target=acme, note="x")
        assert event.actor_label == "Dialtone"
        event.action = "rewritten"
        with pytest.raises(Exception, match="append-only"):
            event.save()
        with pytest.raises(Exception, match="append-only"):
            event.delete()
        with pytest.raises(Exception, match="append-only"):
            AuditEvent.objects.filter(pk=event.pk).update(action="x")
        with pytest.raises(Exception, match="append-only"):
            AuditEvent.objects.filter(pk=event.pk).delete()
        assert AuditEvent.objects.get(pk=event.pk).action == "test.happened"
