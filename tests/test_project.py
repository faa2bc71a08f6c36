"""Whole-project invariants: migrations committed, the ASGI and WSGI entry points load, the app
labels the design fixes."""

import subprocess
import sys
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command


@pytest.mark.django_db
def test_migrations_are_committed():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits 1 when a migration is missing
        pytest.fail(f"models and migrations differ:\n{out.getvalue()}", pytrace=False)
        raise exc


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
        capture_output=True,
        text=True,
        env={
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
            "PATH": "/usr/bin:/bin",
        },
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
