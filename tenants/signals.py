"""What tenants tell the apps above them. They connect receivers in their AppConfig.ready(): this app never
imports them (the layers in pyproject.toml)."""

from django.dispatch import Signal

# Inside the transaction of every audited change (`event`: the AuditEvent just written; `target`: its object or None). Outbound event
# endpoints (events/) turn the actions they publish into deliveries, committed with the change itself.
audited = Signal()
