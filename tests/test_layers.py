"""Apps depend downward only: tenants < providers < agents < phone_numbers < pacing < campaigns < voice,
demo (the layers contract in pyproject.toml, checked by `lint-imports` in `make test` and `make lint`)."""

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
    assert layers[-6:] == ["campaigns", "pacing", "phone_numbers", "agents", "providers", "tenants"]
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
