"""The README's configuration table names every environment variable the app reads, and nothing else."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_APP_CODE = {"tests", "bench", "var", "staticfiles", "migrations", "node_modules"}
# How the code reads a variable: os.environ.get / os.getenv / the settings' helpers, each with its name first.
READERS = {"os.environ.get", "os.getenv", "env_bool", "env_list"}


def app_modules() -> list[Path]:
    tops = [
        p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in NOT_APP_CODE
    ]
    return sorted(ROOT.glob("*.py")) + [
        path
        for top in tops
        for path in top.rglob("*.py")
        if not NOT_APP_CODE & set(path.relative_to(ROOT).parts)
    ]


def variables_read(source: str) -> set[str]:
    """Every name read from the environment: `os.environ[...]` and the READERS' calls (not setdefault,
    which writes)."""
    tree = ast.parse(source)
    helpers = {  # the READERS' own bodies read the name their caller passed
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in READERS
        for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in helpers:
            continue
        if isinstance(node, ast.Call) and ast.unparse(node.func) in READERS and node.args:
            name = node.args[0]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            name = node.slice
        else:
            continue
        assert isinstance(name, ast.Constant), f"a variable read by a computed name: {ast.unparse(node)}"
        found.add(name.value)
    return found


def variables_in_code() -> set[str]:
    return set().union(*(variables_read(path.read_text()) for path in app_modules())) - {
        "DJANGO_SETTINGS_MODULE"  # which settings module: Django's, not a Dialtone setting
    }


def variables_in_scripts() -> set[str]:
    return {
        name
        for path in (ROOT / "scripts").glob("*.sh")
        for name in re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", path.read_text())
    }


def variables_in_readme() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])}


def test_the_collector_finds_each_way_of_reading_a_variable():
    source = (
        'import os\nA = os.environ.get("A", "1")\nB = os.environ["B"]\nC = env_bool("C")\n'
        'D = env_list("D", "x")\nE = os.getenv("E")\nos.environ.setdefault("NOT_READ", "x")\n'
        "def env_bool(name):\n    return os.environ.get(name)\n"
    )
    assert variables_read(source) == {"A", "B", "C", "D", "E"}


def test_the_readme_lists_every_setting_the_code_reads():
    assert "config/settings.py" in {str(p.relative_to(ROOT)) for p in app_modules()}
    missing = sorted(variables_in_code() - variables_in_readme())
    assert not missing, f"read by the code, not in the README's configuration table: {missing}"


def test_the_readme_lists_no_setting_nothing_reads():
    stale = sorted(variables_in_readme() - variables_in_code() - variables_in_scripts())
    assert not stale, f"in the README's configuration table, read by nothing: {stale}"
