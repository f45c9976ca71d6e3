"""Apps depend downward only: tenants < providers < events < agents < phone_numbers < pacing < campaigns <
voice, demo (the layers contract in pyproject.toml, checked by `lint-imports` in `make test` and `make lint`)."""

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACT = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-logo", "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def checkout(tmp_path) -> Path:
    """The apps and the contract, copied: what lint-imports reads, nothing else."""
    for package in CONTRACT["root_packages"]:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_contract_layers_every_app_and_the_repository_keeps_it():
    layers = [app for layer in CONTRACT["contracts"][0]["layers"] for app in layer.split(" | ")]
    assert sorted(layers) == sorted(CONTRACT["root_packages"])
    assert layers[-7:] == ["campaigns", "pacing", "phone_numbers", "agents", "events", "providers", "tenants"]
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "chain"),
    [
        # A lazy import inside a function counts as much as one at the top.
        ("phone_numbers/upward.py", "def f():\n    from campaigns.models import Campaign\n", "phone_numbers"),
        ("tenants/upward.py", "from demo.management.commands import seed_demo\n", "tenants"),
        ("voice/sideways.py", "import demo.apps\n", "voice"),
    ],
    ids=["lazy-import-from-numbers-to-campaigns", "tenants-to-demo", "voice-to-its-sibling-demo"],
)
def test_an_upward_import_breaks_the_contract(checkout, module, line, chain):
    (checkout / module).write_text(line)
    result = lint_imports(checkout)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert f"{chain}.{Path(module).stem} ->" in result.stdout


def _layer_of(app: str) -> int:
    """Higher apps get smaller numbers: their index in the contract, top first."""
    layers = CONTRACT["contracts"][0]["layers"]
    return next(i for i, layer in enumerate(layers) if app in layer.split(" | "))


def test_no_app_looks_up_a_higher_apps_model_by_name():
    """import-linter sees imports only: `apps.get_model("campaigns", ...)` from a lower app would hide one.
    Lower apps ask through signals instead (providers/signals.py, agents/signals.py)."""
    found = []
    for app in CONTRACT["root_packages"]:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # historical models: the migration graph decides what they may see
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "attr", getattr(node.func, "id", None)) == "get_model"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    label = str(node.args[0].value).split(".")[0]
                    if label in CONTRACT["root_packages"] and _layer_of(label) < _layer_of(app):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} looks up {label}")
    assert found == []
