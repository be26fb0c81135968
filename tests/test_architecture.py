"""The shape STYLE.md asks for, checked on the source: services ask for tasks by name and
never import a tasks module (not even inside a function, where a cycle would hide)."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

APPS = ["accounts", "polls", "communities", "dialogue", "notifications", "audit", "dashboard"]


def _imports(path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):  # every level: function-level imports too
        if isinstance(node, ast.ImportFrom):
            module = ("." * node.level) + (node.module or "")
            names += [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_finding_services_never_import_tasks():
    services = [ROOT / app / "services.py" for app in APPS if (ROOT / app / "services.py").exists()]
    assert len(services) >= 5
    offenders = {
        str(path.relative_to(ROOT)): [n for n in _imports(path) if n.split(".")[-1] == "tasks"
                                      or ".tasks." in n or n.startswith(".tasks")]
        for path in services
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_task_a_service_names_exists():
    """enqueue_on_commit("app.task", ...) names a registered Celery task."""
    from civic.celery import app

    named = []
    for path in ROOT.glob("*/services.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "enqueue_on_commit"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                named.append(node.args[0].value)
    assert len(named) >= 5
    assert [name for name in named if name not in app.tasks] == []
