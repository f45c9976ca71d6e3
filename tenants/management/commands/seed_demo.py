from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from tenants.models import Plan, Workspace
from tenants.roles import Role
from tenants.scope import all_workspaces
from tenants.services import member_add, workspace_create

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "dialtone-demo"  # noqa: S105 - printed on purpose: it is the demo login


class Command(BaseCommand):
    help = "Create (or refresh) the demo workspaces and the demo login. Safe to run repeatedly."

    def handle(self, *args, **options):
        with all_workspaces(), transaction.atomic():
            user = self._demo_user()
            starter, _ = Plan.objects.get_or_create(name="Starter", defaults={"managed_number_limit": 5})
            Plan.objects.get_or_create(name="Scale", defaults={"managed_number_limit": 100})
            acme = self._workspace(name="Acme Health", slug="acme-health", plan=starter, owner=user)
            globex = self._workspace(name="Globex Support", slug="globex-support", plan=starter, owner=user)
            member_add(workspace=globex, user=user, role=Role.OPERATOR)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: workspaces {acme.slug}, {globex.slug}; login {DEMO_USERNAME} / {DEMO_PASSWORD}"
            )
        )

    def _demo_user(self):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={
                "first_name": "Dana",
                "last_name": "Demo",
                "email": "demo@example.com",
                "is_staff": True,
                "is_superuser": True,
            },
        )
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user

    def _workspace(self, *, name, slug, plan, owner) -> Workspace:
        existing = Workspace.objects.filter(slug=slug).first()
        if existing:
            return existing
        return workspace_create(name=name, slug=slug, plan=plan, owner=owner)
