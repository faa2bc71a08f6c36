"""Helpers for the deployment checks: they read the repository's deployment files and run
Django in subprocesses with production settings (never in this test process, whose settings
are marketplace.settings.test)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

# Realistic production values, pointing at the local services of DESIGN §8.
PRODUCTION_HOST = "market.example.org"


def production_env(**overrides: str | None) -> dict[str, str]:
    """A clean environment for marketplace.settings.production: nothing inherited that could
    change the outcome (a developer's DJANGO_* or DATABASE_URL), only what a deployment sets."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV"}
    }
    env.update(
        {
            "PYTHONDONTWRITEBYTECODE": "1",
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": f"{PRODUCTION_HOST},.example.org",
            "DJANGO_CSRF_TRUSTED_ORIGINS": f"https://{PRODUCTION_HOST}",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
            "WAGTAILADMIN_BASE_URL": f"https://{PRODUCTION_HOST}",
            "PAYMENT_HOST": PRODUCTION_HOST,
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args: list[str], env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="session")
def compose():
    try:
        import yaml
    except ImportError:  # pragma: no cover - a missing dependency is a failure, not a skip
        pytest.fail(
            "PyYAML is needed to check docker-compose.yml: add `pyyaml` to the dev dependency "
            "group (pyproject.toml), re-export requirements/dev.txt and run scripts/bootstrap.",
            pytrace=False,
        )
    with open(ROOT / "docker-compose.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)
