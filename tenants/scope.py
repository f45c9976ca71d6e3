"""The request's workspace scope: set once per request by the middleware, always cleared after.

Tenant models refuse to query while no scope is set. Code that legitimately works across
workspaces (Django admin, management commands, tasks resolving ids) says so with `all_workspaces()`.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenants.models import Workspace


class _AllWorkspaces:
    def __repr__(self) -> str:
        return "<all workspaces>"


ALL_WORKSPACES = _AllWorkspaces()

_scope: ContextVar[Workspace | _AllWorkspaces | None] = ContextVar("dialtone_workspace_scope", default=None)


class ScopeMissing(RuntimeError):
    """A tenant model was queried with no workspace scope: a forgotten filter fails loudly."""

    def __init__(self, model_name: str):
        super().__init__(
            f"{model_name} was queried without a workspace scope. Use workspace_scope(ws) or, "
            "for deliberate cross-workspace access (admin, commands), all_workspaces()."
        )


class ScopeViolation(RuntimeError):
    """A row of one workspace was written while another workspace's scope was active."""


def current_scope() -> Workspace | _AllWorkspaces | None:
    return _scope.get()


def current_workspace() -> Workspace | None:
    scope = _scope.get()
    return None if scope is None or scope is ALL_WORKSPACES else scope


def activate(workspace: Workspace) -> None:
    _scope.set(workspace)


def request_started():
    """Every request starts with no scope, whatever the thread did before; returns the restore token."""
    return _scope.set(None)


def request_finished(token) -> None:
    """Drop the request's scope: back to what surrounded the request (nothing, outside tests)."""
    _scope.reset(token)


@contextmanager
def workspace_scope(workspace: Workspace):
    token = _scope.set(workspace)
    try:
        yield workspace
    finally:
        _scope.reset(token)


@contextmanager
def all_workspaces():
    """Explicit opt-out of tenant scoping, for admin, management commands and id-taking tasks."""
    token = _scope.set(ALL_WORKSPACES)
    try:
        yield
    finally:
        _scope.reset(token)
