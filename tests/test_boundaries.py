"""The package boundaries of ARCHITECTURE.md hold: ml/ never imports Django."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO_ROOT


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_in_ml_imports_django_or_routing():
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] in {"django", "routing"}
        )
        for path in (REPO_ROOT / "ml").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_every_ml_module_loads_no_django():
    modules = sorted(
        ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
        for path in (REPO_ROOT / "ml").rglob("*.py")
        if path.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
