"""docker-compose.yml runs the whole production stack (DESIGN §7), configured only from the
environment, and every variable it or the settings read is documented in deploy/env.example.
(No Docker engine on the CI machines: the file is checked by parsing it.)"""

import re

from tests.deploy.conftest import ROOT

SERVICES = {"postgres", "redis", "elasticsearch", "web", "websocket", "worker", "beat"}
APP_SERVICES = {"web", "websocket", "worker", "beat"}
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
ENV_EXAMPLE = (ROOT / "deploy" / "env.example").read_text(encoding="utf-8")


def documented_variables() -> set[str]:
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, flags=re.MULTILINE))


def _command(service) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def _healthcheck(service) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


def test_the_seven_services_exist(compose):
    assert set(compose["services"]) == SERVICES


def test_backing_services_use_the_chosen_versions_and_have_healthchecks(compose):
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert "pg_isready" in _healthcheck(services["postgres"])
    assert services["redis"]["image"].startswith("redis:7")
    assert "redis-cli ping" in _healthcheck(services["redis"])
    es = services["elasticsearch"]
    assert "/elasticsearch/elasticsearch:${ELASTICSEARCH_VERSION:-8." in es["image"]
    assert es["environment"]["discovery.type"] == "single-node"
    assert es["environment"]["xpack.security.enabled"] == "false"
    assert "-Xmx" in es["environment"]["ES_JAVA_OPTS"]
    assert "_cluster/health" in _healthcheck(es)
    assert "ports" not in es, "Elasticsearch without security must not be published"


def test_application_services_run_the_expected_processes(compose):
    services = compose["services"]
    assert _command(services["web"]).startswith("gunicorn --config deploy/gunicorn.conf.py")
    assert "daphne" in _command(services["websocket"])
    assert "marketplace.asgi:application" in _command(services["websocket"])
    assert "--port 8001" in _command(services["websocket"])
    assert re.search(r"^celery --app marketplace worker\b", _command(services["worker"]))
    assert re.search(r"^celery --app marketplace beat\b", _command(services["beat"]))
    # Only web migrates (entrypoint), and the others wait until web is healthy (= migrated).
    assert services["web"]["environment"]["DJANGO_MIGRATE_ON_START"] == "1"
    for name in APP_SERVICES - {"web"}:
        assert "DJANGO_MIGRATE_ON_START" not in services[name]["environment"]
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"
    for backing in ("postgres", "redis", "elasticsearch"):
        assert services["web"]["depends_on"][backing]["condition"] == "service_healthy"


def test_application_services_are_configured_from_the_environment(compose):
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert "healthcheck" in service, name
        env = service["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "marketplace.settings.production"
        for key in (
            "DATABASE_URL",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "ELASTICSEARCH_URL",
            "DJANGO_SECRET_KEY",
            "DJANGO_ALLOWED_HOSTS",
        ):
            assert key in env, f"{name} lacks {key}"
        assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert any(e.get("path") == ".env" for e in service["env_file"])
    assert "healthcheck.py" in _healthcheck(compose["services"]["web"])
    assert "inspect ping" in _healthcheck(compose["services"]["worker"])


def test_no_secret_is_written_into_the_compose_file(compose):
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("SECRET", "PASSWORD", "KEY")):
                assert str(value).startswith("${"), f"{name}.{key} must come from .env"


def test_named_volumes_for_database_and_media(compose):
    assert {"pgdata", "media"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    assert "media:/app/var/media" in compose["services"]["web"]["volumes"]


def test_every_compose_variable_is_documented_in_env_example():
    code = "\n".join(ln for ln in COMPOSE_TEXT.splitlines() if not ln.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", code))
    assert used, "expected ${VARIABLES} in docker-compose.yml"
    missing = used - documented_variables()
    assert not missing, f"document in deploy/env.example: {sorted(missing)}"


def test_every_variable_the_deployment_reads_is_documented_in_env_example():
    sources = {
        "marketplace/settings/base.py": r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""",
        "marketplace/settings/production.py": r"""(?:env(?:\.\w+)?|_required)\(\s*["']([A-Z][A-Z0-9_]*)["']""",
        "deploy/gunicorn.conf.py": r"""(?:_int|_bool|environ\.get)\(\s*["']([A-Z][A-Z0-9_]*)["']""",
        "deploy/healthcheck.py": r"""environ\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""",
        "deploy/entrypoint.sh": r"""\$\{([A-Z][A-Z0-9_]*)""",
    }
    read = set()
    for path, pattern in sources.items():
        found = set(re.findall(pattern, (ROOT / path).read_text(encoding="utf-8")))
        assert found, f"no environment variables found in {path}: pattern out of date?"
        read |= found
    missing = read - documented_variables()
    assert not missing, f"document in deploy/env.example: {sorted(missing)}"


def test_env_example_requires_the_secrets_without_giving_usable_ones():
    required = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE, flags=re.MULTILINE))
    assert {"DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "POSTGRES_PASSWORD"} <= set(required)
    assert "replace-me" in required["DJANGO_SECRET_KEY"]
    assert "replace-me" in required["POSTGRES_PASSWORD"]
