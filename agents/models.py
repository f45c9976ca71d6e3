from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from tenants.models import Environment, TenantModel, sip_validator


class Agent(TenantModel):
    """A voice AI agent: calls to the numbers routed to it are sent to its SIP destination."""

    NAME_MAX = 60
    DESCRIPTION_MAX = 300

    name = models.CharField(max_length=NAME_MAX)
    sip_destination = models.CharField(
        "SIP destination",
        max_length=255,
        validators=[sip_validator],
        help_text="Where calls for this agent are sent, e.g. sip:front-desk@voice.example.com",
    )
    description = models.CharField(max_length=DESCRIPTION_MAX, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = [Lower("name")]
        constraints = [models.UniqueConstraint("workspace", Lower("name"), name="agent_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class Variant(TenantModel):
    """One configuration of an agent (a site, a language), published to environments independently.

    Invariant: its workspace is its agent's workspace (set from the agent on save).
    """

    NAME_MAX = 40

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=NAME_MAX)
    published_to = models.ManyToManyField(
        Environment, through="Publication", related_name="published_variants", blank=True
    )
    # True from creation until the first publish: PolyAI's "New variant added - publish so you can assign it".
    changed_since_publish = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = [Lower("name")]
        constraints = [models.UniqueConstraint("agent", Lower("name"), name="variant_name_unique_ci")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.workspace_id is not None and self.workspace_id != self.agent.workspace_id:
            raise ValidationError("A variant belongs to its agent's workspace.")

    def save(self, *args, **kwargs):
        if self.workspace_id is None:
            self.workspace_id = self.agent.workspace_id
        self.clean()
        super().save(*args, **kwargs)


class Publication(TenantModel):
    """A variant published to one environment: numbers there may be assigned to it."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="publications")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "environment"], name="publish_once_per_environment")
        ]

    def __str__(self) -> str:
        return f"{self.variant} in {self.environment}"

    def clean(self):
        if self.environment_id and self.environment.workspace_id != self.variant.agent.workspace_id:
            raise ValidationError("A variant is published only to environments of its own workspace.")

    def save(self, *args, **kwargs):
        if self.workspace_id is None:
            self.workspace_id = self.variant.workspace_id
        self.clean()
        super().save(*args, **kwargs)
