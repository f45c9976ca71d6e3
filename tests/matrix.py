"""Isolation-matrix registry: each area declares its workspace pages in `tests/<area>/matrix.py`.

A module there defines `PAGES = {"url-name": WorkspacePage(post={...})}` and optionally
`def values(workspace) -> dict` returning objects of that workspace for the URL's parameters
(e.g. {"agent_id": agent.id}); it runs inside the workspace's scope.

`query` and `fields` name the parameters a page reads besides the `post` payload's: tests/test_odd_input.py
sends odd values in each of them (GET and POST), and checks that every field a page renders is named here.
"""

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class WorkspacePage:
    """A page under /w/<slug>/. `post` is a payload that a permitted role's POST would act on."""

    post: dict = field(default_factory=dict)
    query: tuple[str, ...] = ()  # GET parameters the page reads (filters, page, htmx cascades)
    fields: tuple[str, ...] = ()  # form fields besides the `post` payload's

    def parameters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.query, *self.post, *self.fields)))


# The pages outside /w/<slug>/ (tests/test_isolation_matrix.py: PUBLIC, WEBHOOKS, SIGNED_IN, and the admin's
# login), with theirs.
SITE_PAGES = {
    "login": WorkspacePage(post={"username": "demo", "password": "x"}, query=("next",)),
    "admin:login": WorkspacePage(post={"username": "demo", "password": "x"}, query=("next",)),
    "logout": WorkspacePage(),
    "healthz": WorkspacePage(),
    "home": WorkspacePage(),
    "workspaces": WorkspacePage(),
    "invitation": WorkspacePage(
        post={"action": "sign-in", "signin-username": "dana", "signin-password": "x"},
        fields=("signup-username", "signup-password1", "signup-password2", "other_email"),
    ),
    "hooks:voice": WorkspacePage(
        post={"To": "+14155550142", "From": "+14155550199", "CallSid": "CA" + "0" * 32}, query=("call",)
    ),
    "hooks:status": WorkspacePage(
        post={
            "CallSid": "CA" + "0" * 32,
            "CallStatus": "completed",
            "From": "+14155550142",
            "To": "+14155550199",
        },
        query=("call",),
        fields=(
            "CallDuration",
            "Timestamp",
            "SipResponseCode",
            "ErrorCode",
            "ErrorMessage",
            "HangupCause",
            "HangupSource",
        ),
    ),  # fmt: skip
    "hooks:stop": WorkspacePage(post={"number": "+14155550199", "callee": "+12125550100", "note": "x"}),
}


def collect_workspace_pages() -> tuple[dict[str, WorkspacePage], list[Callable]]:
    pages: dict[str, WorkspacePage] = {}
    value_makers: list[Callable] = []
    tests_dir = Path(__file__).parent
    for area in sorted(pkgutil.iter_modules([str(tests_dir)]), key=lambda m: m.name):
        if not area.ispkg or not (tests_dir / area.name / "matrix.py").exists():
            continue
        module = importlib.import_module(f"tests.{area.name}.matrix")
        duplicated = set(pages) & set(module.PAGES)
        assert not duplicated, f"{duplicated} classified twice"
        pages.update(module.PAGES)
        if hasattr(module, "values"):
            value_makers.append(module.values)
    return pages, value_makers
