"""Isolation-matrix registry: each area declares its workspace pages in `tests/<area>/matrix.py`.

A module there defines `PAGES = {"url-name": WorkspacePage(post={...})}` and optionally
`def values(workspace) -> dict` returning objects of that workspace for the URL's parameters
(e.g. {"agent_id": agent.id}); it runs inside the workspace's scope.
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
