"""Whole-project invariants: migrations committed, the ASGI and WSGI entry points load, the app
labels the design fixes."""

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command


@pytest.mark.django_db
def test_migrations_are_committed():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:  # --check exits 1 when a migration is missing
        pytest.fail(f"models and migrations differ:\n{out.getvalue()}", pytrace=False)


def test_app_labels():
    assert apps.get_app_config("mp_search").name == "search"
    assert apps.get_app_config("search").name == "oscar.apps.search"
    assert apps.get_app_config("fees").name == "cms.fees"


def test_daphne_before_staticfiles():
    from django.conf import settings

    installed = list(settings.INSTALLED_APPS)
    assert installed.index("daphne") < installed.index("django.contrib.staticfiles")


@pytest.mark.parametrize("module", ["marketplace.asgi", "marketplace.wsgi"])
def test_entry_points_import(module):
    # In a subprocess: the ASGI module calls django.setup() at import time.
    code = f"import {module} as m; print(type(m.application).__name__)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env={
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
            "PATH": "/usr/bin:/bin",
        },
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/shop/catalogue/", 200),  # Oscar, mounted under /shop/
        ("/cms/login/", 200),  # Wagtail admin
        ("/django-admin/login/", 200),
    ],
)
def test_mounted_applications_answer(client, path, expected):
    response = client.get(path)
    assert response.status_code == expected, path
    # Back offices get the relaxed script policy, and only they do.
    if path.startswith(("/cms/", "/django-admin/", "/shop/dashboard/")):
        assert "'unsafe-inline'" in response["Content-Security-Policy"].split("script-src")[1]


@pytest.mark.django_db
def test_public_pages_get_the_strict_script_policy(client):
    policy = client.get("/floor/")["Content-Security-Policy"]
    script_src = policy.split("script-src")[1].split(";")[0]
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src


def test_lint_is_clean():
    """ruff over the whole tree (configuration in pyproject.toml)."""
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "--output-format", "concise", "."],
        check=False,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
