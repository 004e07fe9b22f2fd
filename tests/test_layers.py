"""Dependencies run one way: tracking -> campaigns -> contacts, and no app
imports marketing_site, which wires them together (roles reach the apps as
Django permissions)."""

import ast

import pytest

from tests.conftest import ROOT

FORBIDDEN = {
    "contacts": {"campaigns", "tracking", "marketing_site"},
    "campaigns": {"tracking", "marketing_site"},
    "tracking": {"marketing_site"},
}


def imported_apps(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_an_app_imports_only_the_apps_below_it(app):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path) & FORBIDDEN[app])
        for path in (ROOT / app).rglob("*.py")
        if imported_apps(path) & FORBIDDEN[app]
    }
    assert offenders == {}


def test_the_layer_check_sees_an_import_of_the_project(tmp_path):
    module = tmp_path / "views.py"
    module.write_text("from marketing_site.roles import ROLES\nimport marketing_site.roles\n")
    assert imported_apps(module) == {"marketing_site"}
