import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from agents.models import Agent
from agents.services import agent_create, variant_create, variant_publish
from campaigns.control import campaign_create
from campaigns.destinations import destinations_parse
from campaigns.donotcall.services import dnc_add
from phone_numbers.models import PhoneNumber
from phone_numbers.services import number_buy
from providers.sandbox import PROVIDER as SANDBOX
from providers.sandbox.adapter import APPROVED
from providers.selectors import managed_connections, workspace_connections
from providers.services import connection_create
from tenants.models import Environment, Membership, Plan, Workspace
from tenants.roles import Role
from tenants.scope import all_workspaces, workspace_scope
from tenants.services import member_add, workspace_create

UK_BUNDLE = APPROVED[("GB", "local")][0]  # the sandbox's approved bundle for UK local numbers
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "dialtone-demo"  # noqa: S105 - printed on purpose: it is the demo login

# (environment, number, agent, variant, tags)
DEMO_NUMBERS = [
    ("live", "+14155550101", "Front desk", "v3", ["sales-us", "california"]),
    ("live", "+14155550102", "Front desk", "v3", ["sales-us", "california"]),
    ("live", "+15125550103", "Front desk", None, ["sales-us", "texas"]),
    ("live", "+12125550104", "Billing", None, ["support", "after-hours"]),
    ("live", "+442079460105", None, None, ["uk"]),
    ("pre_release", "+13125550106", "Front desk", "v4-beta", ["qa"]),
    ("sandbox", "+16465550107", "Front desk", None, ["test"]),
    ("sandbox", "+17375550108", None, None, []),
]
# Bought through the platform's managed account, so the plan's managed numbers show in use.
DEMO_MANAGED_NUMBERS = [
    ("live", "+16175550109", "Billing", None, ["support"]),
    ("pre_release", "+13055550110", None, None, ["qa"]),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo workspaces, numbers and the demo login. Safe to run repeatedly."

    def handle(self, *args, **options):
        with all_workspaces(), transaction.atomic():
            user = self._demo_user()
            starter, _ = Plan.objects.get_or_create(name="Starter", defaults={"managed_number_limit": 5})
            Plan.objects.get_or_create(name="Scale", defaults={"managed_number_limit": 100})
            acme = self._workspace(name="Acme Health", slug="acme-health", plan=starter, owner=user)
            # The demo user is an operator here, so the demo shows what a lower role sees; Grace owns it.
            globex = self._workspace(
                name="Globex Support", slug="globex-support", plan=starter, owner=self._globex_owner()
            )
            if not Membership.unscoped.filter(workspace=globex, user=user).exists():
                member_add(workspace=globex, user=user, role=Role.OPERATOR)
            managed = managed_connections().filter(provider=SANDBOX.key).first() or connection_create(
                workspace=None, actor=user, provider=SANDBOX.key, label="Dialtone managed", credentials={}
            )
        with workspace_scope(acme):
            self._numbers(acme, user, managed)
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

    def _globex_owner(self):
        """Signs in nowhere (no usable password): she is there so the workspace has an owner to name."""
        user, created = get_user_model().objects.get_or_create(
            username="grace",
            defaults={"first_name": "Grace", "last_name": "Globex", "email": "grace@globex.example"},
        )
        if created:
            user.set_unusable_password()
            user.save()
        return user

    def _workspace(self, *, name, slug, plan, owner) -> Workspace:
        existing = Workspace.objects.filter(slug=slug).first()
        if existing:
            return existing
        return workspace_create(name=name, slug=slug, plan=plan, owner=owner)

    def _numbers(self, workspace, user, managed):
        if PhoneNumber.objects.exists():
            return  # seeded before: leave the demo as people left it
        connection = workspace_connections().filter(label="Sandbox").first() or connection_create(
            workspace=workspace, actor=user, provider=SANDBOX.key, label="Sandbox", credentials={}
        )
        environments = {e.kind: e for e in Environment.objects.all()}
        agents = {
            "Front desk": agent_create(
                workspace=workspace,
                actor=user,
                name="Front desk",
                sip_destination="sip:front-desk@agents.acme-health.example",
                description="Books and moves appointments.",
            ),
            "Billing": agent_create(
                workspace=workspace,
                actor=user,
                name="Billing",
                sip_destination="sip:billing@agents.acme-health.example",
            ),
        }
        variants = {}
        for name, kinds in (("v3", ["live", "pre_release", "sandbox"]), ("v4-beta", ["pre_release"])):
            variants[name] = variant_create(agent=agents["Front desk"], actor=user, name=name)
            for kind in kinds:
                variant_publish(variant=variants[name], environment=environments[kind], actor=user)
        variant_create(agent=agents["Billing"], actor=user, name="spanish")  # unpublished: shows the callout
        bought = [(connection, *n) for n in DEMO_NUMBERS] + [(managed, *n) for n in DEMO_MANAGED_NUMBERS]
        for connection, kind, e164, agent, variant, tags in bought:
            number_buy(
                workspace=workspace,
                actor=user,
                idempotency_key=uuid.uuid4().hex,
                connection=connection,
                environment=environments[kind],
                e164=e164,
                agent=agents.get(agent) if agent else None,
                variant=variants.get(variant) if variant else None,
                tag_names=tags,
                bundle=UK_BUNDLE if e164.startswith("+44") else None,  # UK numbers need one
            )
        # A draft campaign calling out from the live "sales-us" numbers, ready to start.
        destinations = "phone\n" + "\n".join(f"+1415555{i:04d}" for i in range(1200, 1240))
        campaign_create(
            workspace=workspace,
            actor=user,
            name="Appointment reminders",
            environment=environments["live"],
            agent=agents["Front desk"],
            tag_names=["sales-us"],
            destinations=destinations_parse(destinations.encode()),
        )
        # Two people who asked not to be called, one of them on the campaign's list: it will be suppressed.
        dnc_add(
            workspace=workspace, actor=user, numbers=["+14155551203", "+12125550187"], source="manual",
            note="Asked not to be called",
        )  # fmt: skip
        assert Agent.objects.count() == 2
