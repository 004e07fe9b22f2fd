"""Dependencies run one way: tracking -> campaigns -> contacts, and no app
imports marketing_site, which wires them together (roles reach the apps as
Django permissions). The rule holds for URL names too: an app below never
names the recipient routes of an app above (tracking registers how its URLs
are built, campaigns.recipient_urls). Staff pages may link to the report
pages ("reports:" names): that is navigation, not a dependency of the code."""

import ast
import re

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


# URL names an app must not reverse, by the namespaces of the apps above it.
FORBIDDEN_URL_NAMESPACES = {
    "contacts": {"tracking", "campaigns"},
    "campaigns": {"tracking"},
}
_URL_NAME = re.compile(r"^([a-z_]+):[\w-]+$")
_URL_TAG = re.compile(r"""\{%\s*url\s+["']([\w-]+):""")


def reversed_namespaces(path) -> set[str]:
    """Namespaces of the URL names a module or template holds: any string
    constant such as "tracking:open" in Python, {% url 'ns:name' %} in a template."""
    text = path.read_text()
    if path.suffix != ".py":
        return set(_URL_TAG.findall(text))
    return {
        match[1]
        for node in ast.walk(ast.parse(text, str(path)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        for match in [_URL_NAME.match(node.value)]
        if match
    }


@pytest.mark.parametrize("app", sorted(FORBIDDEN_URL_NAMESPACES))
def test_an_app_never_names_the_url_routes_of_the_apps_above_it(app):
    files = [*(ROOT / app).rglob("*.py"), *(ROOT / "templates" / app).rglob("*")]
    offenders = {
        str(path.relative_to(ROOT)): sorted(found)
        for path in files
        if path.is_file() and (found := reversed_namespaces(path) & FORBIDDEN_URL_NAMESPACES[app])
    }
    assert offenders == {}


def test_the_url_check_sees_a_reverse_a_name_in_a_table_and_a_template_tag(tmp_path):
    module = tmp_path / "rendering.py"
    module.write_text('NAMES = {"open": "tracking:open"}\nreverse("tracking:click")\n')
    template = tmp_path / "mail.html"
    template.write_text("<a href=\"{% url 'tracking:web_view' token %}\">{% url 'reports:x' 1 %}")
    assert reversed_namespaces(module) == {"tracking"}
    assert reversed_namespaces(template) == {"tracking", "reports"}
