"""Production settings, exercised in subprocesses exactly as a deployment would start them."""

import json
import textwrap

from tests.deploy.conftest import PRODUCTION_HOST, PYTHON, production_env, run


def test_check_deploy_is_clean():
    proc = run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env()
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_refuses_to_start_without_a_secret_key():
    for value in (None, "", "   "):
        proc = run([PYTHON, "manage.py", "check"], production_env(DJANGO_SECRET_KEY=value))
        assert proc.returncode != 0
        assert "ImproperlyConfigured" in proc.stderr
        assert "DJANGO_SECRET_KEY is required" in proc.stderr, proc.stderr


def test_refuses_to_start_without_allowed_hosts():
    proc = run([PYTHON, "manage.py", "check"], production_env(DJANGO_ALLOWED_HOSTS=None))
    assert proc.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS is required" in proc.stderr, proc.stderr


PROBE = textwrap.dedent(
    f"""
    import json
    import django
    django.setup()
    from django.conf import settings
    from django.test import Client

    host = {PRODUCTION_HOST!r}
    client = Client()
    https = client.get("/floor/", HTTP_HOST=host, HTTP_X_FORWARDED_PROTO="https")
    plain = client.get("/floor/", HTTP_HOST=host)
    health = client.get("/healthz", HTTP_HOST=host)
    evil = client.get("/floor/", HTTP_HOST="evil.invalid", HTTP_X_FORWARDED_PROTO="https")
    print(json.dumps({{
        "https": [https.status_code, dict(https.headers.items())],
        "plain": [plain.status_code, plain.get("Location")],
        "health": [health.status_code, health.content.decode()],
        "evil": evil.status_code,
        "settings": {{name: getattr(settings, name) for name in (
            "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
            "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT",
            "X_FRAME_OPTIONS", "ALLOWED_HOSTS")}},
        "staticfiles": settings.STORAGES["staticfiles"]["BACKEND"],
    }}))
    """
)


def test_security_headers_and_cookies():
    proc = run([PYTHON, "-c", PROBE], production_env())
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    status, headers = result["https"]
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csp = headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'self'",
        "base-uri 'self'",
    ):
        assert directive in csp, csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    # Plain HTTP is redirected to HTTPS, except the health check the container probes.
    assert result["plain"] == [301, f"https://{PRODUCTION_HOST}/floor/"]
    assert result["health"] == [200, '{"status": "ok"}']
    assert result["evil"] == 400  # Host header not in ALLOWED_HOSTS
    s = result["settings"]
    assert s["DEBUG"] is False
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"] and s["SESSION_COOKIE_HTTPONLY"]
    assert s["SECURE_HSTS_SECONDS"] >= 31536000 and s["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["ALLOWED_HOSTS"] == [PRODUCTION_HOST, ".example.org"]
    assert result["staticfiles"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
