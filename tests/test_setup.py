"""The two set-up commands' promises: bad settings and missing services are
named at once."""

import os
import subprocess
import sys

from tests.conftest import ROOT


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_names_a_service_that_is_down():
    result = run(
        ["scripts/check_services.py"],
        DATABASE_URL="postgres://postgres@127.0.0.1:1/marketing",
        CELERY_BROKER_URL="redis://127.0.0.1:1/0",
    )
    assert result.returncode == 1
    assert "PostgreSQL is not reachable at 127.0.0.1:1" in result.stderr
    assert "Redis is not reachable at redis://127.0.0.1:1/0" in result.stderr


def test_it_passes_when_the_services_answer():
    assert run(["scripts/check_services.py"]).returncode == 0


def test_a_bad_setting_stops_the_site_with_its_name(tmp_path):
    result = run(["manage.py", "check"], DEBUG="maybe", VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr
    result = run(["manage.py", "check"], SITE_URL="shop.example.com", VAR_DIR=str(tmp_path))
    assert "SITE_URL must start with http:// or https://" in result.stderr
