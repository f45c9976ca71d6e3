from django.db import models

from tenants import scope


class WorkspaceScopedManager(models.Manager):
    """Default manager of every tenant model: filters to the active workspace, raises without one."""

    def get_queryset(self):
        active = scope.current_scope()
        if active is None:
            raise scope.ScopeMissing(self.model.__name__)
        queryset = super().get_queryset()
        if active is scope.ALL_WORKSPACES:
            return queryset
        return queryset.filter(workspace=active)
