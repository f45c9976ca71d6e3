"""Provider knowledge lives in one package per provider (providers/<key>/), listed in providers/registry.py:
the SDKs are imported there only, and no other module tells providers apart by comparing their names."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_KEYS = {"twilio", "telnyx", "sandbox"}
# Each SDK, and the provider packages that may import it.
SDKS = {"twilio": {"twilio"}, "telnyx": {"telnyx"}, "nacl": PROVIDER_KEYS}
# Tests play the providers (they sign webhooks with the SDKs) and migrations are history.
SKIPPED = {".venv", "node_modules", "var", "tests", "migrations", ".git"}


def app_modules():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if not SKIPPED & set(relative.parts[:-1]):
            yield relative, ast.parse(path.read_text(), filename=str(relative))


def package_of(relative: Path) -> str | None:
    parts = relative.parts
    return parts[1] if len(parts) > 2 and parts[0] == "providers" and parts[1] in PROVIDER_KEYS else None


def imported_roots(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def test_the_registry_lists_every_provider_package():
    from providers import registry

    assert set(registry.keys()) == PROVIDER_KEYS
    for key in PROVIDER_KEYS:
        assert registry.get(key).key == key
        assert (ROOT / "providers" / key / "__init__.py").exists()


def test_provider_sdks_are_imported_only_inside_their_provider_package():
    found = []
    for relative, tree in app_modules():
        for line, root in imported_roots(tree):
            if root in SDKS and package_of(relative) not in SDKS[root]:
                found.append(f"{relative}:{line} imports {root}")
    assert found == []


def _provider_literals(node: ast.AST) -> list[str]:
    """Provider names written as literals in a node: a string, or strings in a tuple, list or set."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [n.value for n in items if isinstance(n, ast.Constant) and n.value in PROVIDER_KEYS]


ORM_FILTERS = {"filter", "exclude", "get", "Q"}


def _provider_lookups(call: ast.Call) -> list[ast.keyword]:
    """filter(provider=...), exclude(connection__provider__in=...), Q(...): the ORM's way to compare."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name not in ORM_FILTERS:
        return []
    return [k for k in call.keywords if "provider" in (k.arg or "").split("__")]


def test_no_module_outside_the_provider_packages_compares_a_provider_name():
    found = []
    for relative, tree in app_modules():
        if package_of(relative) or relative == Path("providers/registry.py"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                names = [n for side in [node.left, *node.comparators] for n in _provider_literals(side)]
            elif isinstance(node, ast.Call):
                names = [n for k in _provider_lookups(node) for n in _provider_literals(k.value)]
            else:
                continue
            found += [f"{relative}:{getattr(node, 'lineno', '?')} compares {name!r}" for name in names]
    assert found == []


def test_the_checks_see_what_they_look_for():
    tree = ast.parse(
        "import twilio.rest\nfrom nacl.signing import VerifyKey\n"
        "x = p == 'twilio'\ny = q in ('sandbox', 'a')\nz = f(connection__provider='telnyx')\n"
    )
    assert {root for _line, root in imported_roots(tree)} == {"twilio", "nacl"}
    compares = [n for n in ast.walk(tree) if isinstance(n, ast.Compare)]
    assert [_provider_literals(c.comparators[0]) for c in compares] == [["twilio"], ["sandbox"]]
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call))
    assert _provider_lookups(call) == []  # f() is no ORM filter
    lookup = ast.parse("qs.exclude(connection__provider__in=['telnyx'])").body[0].value
    assert [_provider_literals(k.value) for k in _provider_lookups(lookup)] == [["telnyx"]]
